"""The municipality's summary as one neutral document, rendered to Markdown, HTML/PDF and DOCX.

Every format shows the same content in the same order because every format renders this; the
renderers only decide how a heading, a table or a figure looks in their medium.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from bot.export.chart import follow_through_svg
from bot.export.diagram import mermaid, svg
from bot.export.raster import png_of
from bot.export.summary import diagram_of
from handlers.series_report import FOLLOW_THROUGH
from handlers.summary import CausalLinkSummary, ContributionSummary, SeriesSummary, Summary
from prompts.catalog import t

WORDS_PER_ROUND = 5  # "a few of the team's own words", not the whole wall
LOOPS_LISTED = 12  # shortest first; every loop is in the JSON export
UNTOUCHED_LOOPS_ASKED = 3


@dataclass(frozen=True)
class Heading:
    text: str
    level: int  # 1 = the document's title


@dataclass(frozen=True)
class Paragraph:
    text: str
    label: str = ""  # shown bold before the text: "Vraagstuk: …"
    note: bool = False  # secondary (italic): the round's question, the credit


@dataclass(frozen=True)
class Items:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Quotes:
    """The team's own words, shown as quotations."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...] = ()  # right-aligned columns
    # Each row a long text and its details (the commitments): the PDF sets it as a list, one
    # entry a row with its details labelled, which reads better on A4 than six narrow columns.
    records: bool = False


@dataclass(frozen=True)
class Figure:
    """Drawn only by the renderers that show it (Graphviz takes a while on a big map)."""

    name: str  # file stem when written beside the document: causal-map, follow-through
    alt: str
    svg: Callable[[], str]
    mermaid: str = ""

    def png(self) -> bytes | None:
        """For formats without SVG (Word): the same drawing as a picture."""
        return png_of(self.svg())


Block = Heading | Paragraph | Items | Quotes | Table | Figure


@dataclass
class Document:
    title: str
    lang: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)


def session_document(summary: Summary, lang: str) -> Document:
    doc = Document(t(lang, "export.title", title=summary.session.title), lang)
    doc.add(Heading(doc.title, 1))
    doc.add(*_about(summary, lang))
    doc.add(*_session_body(summary, lang, level=2))
    doc.add(*_system(summary, lang, level=2))
    doc.add(*_commitments(summary, lang, level=2))
    doc.add(*_open_questions(summary, lang, level=2))
    doc.add(*_closing(summary, lang))
    return doc


def series_document(series: SeriesSummary, lang: str) -> Document:
    """The series: follow-through over time, the team's map once, then each session."""
    info = series.series
    doc = Document(t(lang, "export.series.title", title=info.title), lang)
    doc.add(Heading(doc.title, 1))
    doc.add(Paragraph(t(lang, "export.series.intro", sessions=info.sessions, date=info.as_of)))
    doc.add(*_follow_through(series, lang))
    latest = series.sessions[-1]
    doc.add(*_system(latest, lang, level=2))
    for summary in series.sessions:
        doc.add(Heading(t(lang, "export.series.session", title=summary.session.title), 2))
        doc.add(*_about(summary, lang))
        doc.add(*_session_body(summary, lang, level=3))
        doc.add(*_commitments(summary, lang, level=3))
    doc.add(*_open_questions(latest, lang, level=2))
    doc.add(Paragraph(t(lang, "export.credit"), note=True))
    return doc


def _about(summary: Summary, lang: str) -> list[Block]:
    blocks: list[Block] = [Paragraph(summary.session.question, label=t(lang, "export.question"))]
    narrative = summary.narrative
    if narrative and narrative.text:
        blocks.append(Paragraph(narrative.text))
        if narrative.drafted_by == "assistant":
            blocks.append(Paragraph(t(lang, "export.narrative_by_assistant"), note=True))
    blocks.append(
        Paragraph(
            t(
                lang,
                "summary.credit",
                people=summary.participants.total,
                contributions=sum(r.contribution_count for r in summary.rounds),
                themes=len(summary.themes),
                links=len(summary.causal_links),
                commitments=len(summary.commitments),
            )
        )
    )
    return blocks


def _session_body(summary: Summary, lang: str, level: int) -> list[Block]:
    p = summary.participants
    blocks: list[Block] = [
        Heading(t(lang, "export.participants"), level),
        Table(
            t(lang, "export.participants_total", total=p.total),
            (t(lang, "export.organisation"), t(lang, "export.people")),
            tuple((org, str(n)) for org, n in p.by_organisation.items()),
            (False, True),
        ),
        Heading(t(lang, "export.rounds"), level),
    ]
    for rnd in summary.rounds:
        blocks.append(Heading(f"{rnd.position}. {rnd.title}", level + 1))
        blocks.append(Paragraph(rnd.question, note=True))
        blocks.append(Paragraph(t(lang, "export.contribution_count", count=rnd.contribution_count)))
        words = a_few_words(rnd.contributions)
        if words:
            blocks.append(Quotes(tuple(words)))
    if summary.themes:
        blocks.append(Heading(t(lang, "export.themes"), level))
        blocks.append(
            Table(
                t(lang, "export.themes_caption"),
                tuple(
                    t(lang, f"export.{k}") for k in ("theme", "votes", "contributions", "example")
                ),
                tuple(
                    (th.title, str(th.votes), str(th.contributions), _first(th.examples))
                    for th in summary.themes
                ),
                (False, True, True, False),
            )
        )
    blocks += _overview(summary, lang, level)
    return blocks


def a_few_words(contributions: tuple[ContributionSummary, ...]) -> list[str]:
    """Up to WORDS_PER_ROUND answers, taken in turn from each category so every voice shows."""
    by_category: dict[str, list[str]] = {}
    for answer in contributions:
        label = answer.category_label
        text = f"{label}: {answer.text}" if label else answer.text
        by_category.setdefault(answer.category, []).append(text)
    picked: list[str] = []
    queues = list(by_category.values())
    depth = 0
    while len(picked) < WORDS_PER_ROUND and any(depth < len(q) for q in queues):
        picked += [q[depth] for q in queues if depth < len(q)][: WORDS_PER_ROUND - len(picked)]
        depth += 1
    return picked


def _overview(summary: Summary, lang: str, level: int) -> list[Block]:
    blocks: list[Block] = []
    if summary.actors:
        blocks.append(Heading(t(lang, "export.actors"), level))
        blocks.append(
            Table(
                t(lang, "export.actors"),
                tuple(
                    t(lang, f"export.{k}")
                    for k in ("actor", "organisation", "interest", "influence", "stance")
                ),
                tuple(
                    (
                        a.name,
                        a.organisation,
                        a.interest,
                        str(a.influence),
                        t(lang, f"overview.stances.{a.stance}"),
                    )
                    for a in summary.actors
                ),
                (False, False, False, True, False),
            )
        )
    forces = summary.forces
    if forces.driving or forces.restraining:
        blocks.append(Heading(t(lang, "export.forces"), level))
        pulls = {"driving": forces.driving, "restraining": forces.restraining}
        rows = tuple(
            (t(lang, f"rounds.overview.categories.{direction}"), f.text, str(f.strength))
            for direction, pulling in pulls.items()
            for f in pulling
        )
        header = tuple(t(lang, f"export.{k}") for k in ("direction", "force", "strength"))
        blocks.append(Table(t(lang, "export.forces"), header, rows, (False, False, True)))
        blocks.append(Paragraph(t(lang, "overview.balance", net=forces.net_balance)))
    return blocks


def _system(summary: Summary, lang: str, level: int) -> list[Block]:
    blocks: list[Block] = []
    diagram = diagram_of(summary, t(lang, "export.causal_map"))
    if diagram is not None:
        alt = t(lang, "export.map_alt", links=len(summary.causal_links))
        blocks.append(Heading(t(lang, "export.causal_map"), level))
        blocks.append(Figure("causal-map", alt, partial(svg, diagram), mermaid(diagram)))
        blocks.append(Heading(t(lang, "export.causal_links"), level + 1))
        blocks.append(Items(tuple(_link_line(link, lang) for link in summary.causal_links)))
    if summary.loops:
        blocks.append(Heading(t(lang, "export.loops"), level + 1))
        lines = []
        for lp in summary.loops[:LOOPS_LISTED]:
            path = " → ".join([*lp.factors, lp.factors[0]])
            kind = t(lang, f"export.{lp.kind}")
            acting = t(lang, "export.acted_on", count=len(lp.commitments))
            lines.append(f"{lp.id} ({kind}): {path} — {acting}")
        if len(summary.loops) > LOOPS_LISTED:
            lines.append(t(lang, "export.more_loops", count=len(summary.loops) - LOOPS_LISTED))
        if summary.loops_truncated:
            lines.append(t(lang, "export.loops_truncated"))
        blocks.append(Items(tuple(lines)))
    spread = summary.iceberg
    if any(v.contributions or v.commitments for v in spread.values()):
        blocks.append(Heading(t(lang, "export.iceberg"), level))
        blocks.append(
            Table(
                t(lang, "export.iceberg"),
                tuple(t(lang, f"export.{k}") for k in ("level", "contributions", "commitments")),
                tuple((v.label, str(v.contributions), str(v.commitments)) for v in spread.values()),
                (False, True, True),
            )
        )
    return blocks


def _link_line(link: CausalLinkSummary, lang: str) -> str:
    sign = "+" if link.polarity == "+" else "−"
    delay = f" ({t(lang, 'export.delay')})" if link.delay else ""
    return f"{link.source} → {sign} {link.target}{delay}"


def _commitments(summary: Summary, lang: str, level: int) -> list[Block]:
    blocks: list[Block] = [Heading(t(lang, "export.commitments"), level)]
    if not summary.commitments:
        return [*blocks, Paragraph(t(lang, "export.no_commitments"))]
    keys = ("commitment", "owner", "due", "mode", "status", "check_in_history")
    rows = []
    for c in summary.commitments:
        owner = c.owner + (f" ({c.organisation})" if c.organisation else "")
        history = ", ".join(
            t(lang, f"commitments.statuses.{ci.status}") + (f" ({ci.at[:10]})" if ci.at else "")
            for ci in c.check_ins
        )
        rows.append((c.text, owner, c.due_date, c.mode_label, c.status_label, history or "—"))
    header = tuple(t(lang, f"export.{k}") for k in keys)
    return [*blocks, Table(t(lang, "export.commitments"), header, tuple(rows), records=True)]


def _open_questions(summary: Summary, lang: str, level: int) -> list[Block]:
    """What the next session could pick up: the map's questions, loops nobody acts on yet,
    commitments that are stuck."""
    lines = list(summary.leverage_questions)
    untouched = [lp for lp in summary.loops if not lp.commitments]
    lines += [
        t(lang, "export.untouched_loop", loop=lp.id, factors=", ".join(lp.factors))
        for lp in untouched[:UNTOUCHED_LOOPS_ASKED]
    ]
    lines += [
        t(lang, "export.stuck_commitment", text=c.text)
        for c in summary.commitments
        if c.status == "stuck"
    ]
    if not lines:
        return []
    return [Heading(t(lang, "export.open_questions"), level), Items(tuple(lines))]


def _follow_through(series: SeriesSummary, lang: str) -> list[Block]:
    labels = {key: t(lang, f"export.follow_through.{key}") for key in FOLLOW_THROUGH}
    rows = series.follow_through
    return [
        Heading(t(lang, "export.follow_through.heading"), 2),
        Figure(
            "follow-through",
            t(lang, "export.follow_through.alt", sessions=len(rows)),
            partial(follow_through_svg, rows, labels, t(lang, "export.follow_through.heading")),
        ),
        Table(
            t(lang, "export.follow_through.heading"),
            (t(lang, "export.follow_through.session"), *labels.values()),
            tuple(
                (f"{r.date} {r.title}", *(str(r.count(k)) for k in FOLLOW_THROUGH)) for r in rows
            ),
            (False, *(True for _ in FOLLOW_THROUGH)),
        ),
    ]


def _closing(summary: Summary, lang: str) -> list[Block]:
    blocks: list[Block] = []
    used = summary.assistance
    if used and used.calls:
        blocks.append(
            Paragraph(
                t(
                    lang,
                    "export.assistance",
                    calls=used.calls,
                    tokens=used.prompt_tokens + used.completion_tokens,
                ),
                note=True,
            )
        )
    blocks.append(Paragraph(t(lang, "export.credit"), note=True))
    return blocks


def _first(examples: tuple[str, ...]) -> str:
    return examples[0] if examples else ""
