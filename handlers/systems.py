"""The team's causal map: factors and links with polarity, entered as text.

`wachtlijst -> +druk op huisarts`, `more trust -> -escalations`, `A -> minder B`,
`A -> +B (delay)`. Polarity is required: it decides whether a loop reinforces or balances.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from handlers.context import Context, Refusal, clean_text, yes_or_no
from handlers.conversation import Router, no_args
from handlers.lookup import require_running_session, require_session
from handlers.loops import Analysis, Bounds, Edge, Loop, analyse
from handlers.messages import (
    Block,
    Bullets,
    DateInput,
    Diagram,
    DiagramLink,
    DiagramLoop,
    Form,
    Heading,
    Message,
    Option,
    Select,
    Text,
    TextInput,
    message,
)
from handlers.model import Factor, Link, Polarity, Session, id_of
from handlers.ports import UnitOfWork
from prompts.catalog import t

MAX_FACTOR = 120
SIMILAR = 0.85  # names this alike are offered for combining
LEVERAGE_QUESTIONS = 3
_ARROW = re.compile(r"\s*(?:->|→|=>)\s*")
_POLARITY_WORDS = {
    "+": Polarity.SAME,
    "s": Polarity.SAME,
    "meer": Polarity.SAME,
    "more": Polarity.SAME,
    "-": Polarity.OPPOSITE,
    "−": Polarity.OPPOSITE,
    "o": Polarity.OPPOSITE,
    "minder": Polarity.OPPOSITE,
    "less": Polarity.OPPOSITE,
    "fewer": Polarity.OPPOSITE,
}
_DELAY = re.compile(r"\s*(?:\((?:delay|vertraging)\)|//)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedLink:
    source: str
    target: str
    polarity: Polarity
    delay: bool


def parse_polarity(word: str) -> Polarity | None:
    """`+`, `-`, `s`, `o`, `meer`, `minder`, `more`, `less` (any case); None otherwise."""
    return _POLARITY_WORDS.get(word.strip().casefold())


def factor_key(name: str) -> str:
    """Names that differ only in case, spacing or surrounding punctuation are one factor."""
    return " ".join(name.casefold().split()).strip(" .,;:!?'\"")


def parse_link(line: str) -> ParsedLink | None:
    """One link from a line of text, or None when it is not a link."""
    parts = _ARROW.split(line.strip(), maxsplit=1)
    if len(parts) != 2:
        return None
    source, rest = parts[0].strip(), parts[1].strip()
    delay = bool(_DELAY.search(rest))
    rest = _DELAY.sub("", rest)
    polarity = None
    if rest[:1] in "+-−":
        polarity, rest = _POLARITY_WORDS[rest[0]], rest[1:]
    else:
        word, _, remainder = rest.partition(" ")
        if word.casefold() in _POLARITY_WORDS and remainder:
            polarity, rest = _POLARITY_WORDS[word.casefold()], remainder
    target = rest.strip()
    if polarity is None or not source or not target:
        return None
    return ParsedLink(source, target, polarity, delay)


async def _factor(ctx: Context, name: str, similar: list[str]) -> Factor:
    """The team's factor of that name, made when new; near-duplicates are noted in `similar`."""
    name = clean_text(name, limit=MAX_FACTOR)
    key = factor_key(name)
    factor = await ctx.uow.causal.factor_by_key(ctx.team_id, key)
    if factor is None:
        existing = await ctx.uow.causal.factors(ctx.team_id)
        close = difflib.get_close_matches(key, [f.key for f in existing], n=1, cutoff=SIMILAR)
        if close:
            near = next(f for f in existing if f.key == close[0])
            similar.append(t(ctx.lang, "systems.similar_factor", new=name, existing=near.name))
        factor = Factor(ctx.team_id, name, key)
        await ctx.uow.store(factor)  # the next line naming it finds it
    return factor


def _parse_lines(raw: str) -> list[ParsedLink]:
    text = clean_text(raw)
    parsed = []
    for line in (part.strip() for part in re.split(r"[\n;]", text)):
        if not line:
            continue
        link = parse_link(line)
        if link is None:
            raise Refusal("errors.not_a_link", line=line[:200])
        if factor_key(link.source) == factor_key(link.target):
            raise Refusal("errors.self_link", line=line[:200])
        parsed.append(link)
    return parsed


async def add_links_from_text(ctx: Context, session: Session, raw: str) -> None:
    """Every line (or `;`-separated part) a link; all are stored, or none. Writing a known link
    with another polarity or delay changes it."""
    await add_links(ctx, session, _parse_lines(raw))


async def add_links(ctx: Context, session: Session, parsed: list[ParsedLink]) -> None:
    """Links already read (typed text, or a suggestion the team confirmed) onto the map."""
    added: list[str] = []
    changed: list[str] = []
    known: list[str] = []
    similar: list[str] = []
    for link in parsed:
        source = await _factor(ctx, link.source, similar)
        target = await _factor(ctx, link.target, similar)
        source_id, target_id = id_of(source), id_of(target)
        existing = await ctx.uow.causal.link_between(ctx.team_id, source_id, target_id)
        if existing is not None:
            if (existing.polarity, existing.delay) == (link.polarity, link.delay):
                known.append(describe(ctx.lang, source.name, target.name, existing))
            else:
                existing.polarity, existing.delay = link.polarity, link.delay
                changed.append(describe(ctx.lang, source.name, target.name, existing))
            continue
        new = Link(
            ctx.team_id, source_id, target_id, link.polarity, link.delay, session.id, ctx.person_id
        )
        await ctx.uow.store(new)  # a line repeating it finds it
        added.append(describe(ctx.lang, source.name, target.name, new))
    ctx.say("systems.links_added", added=added, changed=changed, known=known, similar=similar)


async def link_form(ctx: Context) -> Form:
    """Pick existing factors or name new ones; polarity and delay from a list."""
    lang = ctx.lang
    factors = tuple(Option(f.name, f.name) for f in await ctx.uow.causal.factors(ctx.team_id))
    yes_no = (Option("no", t(lang, "sessions.no")), Option("yes", t(lang, "sessions.yes")))
    fields: list[TextInput | DateInput | Select] = []
    for end in ("source", "target"):
        if factors:
            fields.append(Select(end, t(lang, f"systems.form_{end}"), factors, optional=True))
        fields.append(TextInput(f"{end}_new", t(lang, f"systems.form_{end}_new"),
                                optional=bool(factors), max_length=MAX_FACTOR))  # fmt: skip
    fields.append(Select("polarity", t(lang, "systems.form_polarity"), (
        Option("+", t(lang, "systems.form_same")), Option("-", t(lang, "systems.form_opposite")),
    )))  # fmt: skip
    fields.append(Select("delay", t(lang, "systems.form_delay"), yes_no, optional=True))
    return Form("link", t(lang, "systems.form_title"), tuple(fields), t(lang, "overview.add"))


async def add_link_from_form(ctx: Context, session: Session, values: dict[str, str]) -> None:
    """The link form: a new name wins over a picked factor."""
    ends = []
    for end in ("source", "target"):
        name = values.get(f"{end}_new", "").strip() or values.get(end, "").strip()
        if not name:
            raise Refusal("errors.link_form_ends")
        ends.append(name)
    polarity = parse_polarity(values.get("polarity", ""))
    if polarity is None:
        raise Refusal("errors.link_form_polarity")
    delay = yes_or_no(values.get("delay", "")) is True
    line = f"{ends[0]} -> {polarity.value}{ends[1]}" + (" (delay)" if delay else "")
    await add_links_from_text(ctx, session, line)


async def _existing_factor(ctx: Context, name: str) -> Factor:
    factor = await ctx.uow.causal.factor_by_key(ctx.team_id, factor_key(name))
    if factor is None:
        raise Refusal("errors.unknown_factor", name=name.strip()[:MAX_FACTOR])
    return factor


async def remove_link(ctx: Context, args: str) -> None:
    """`unlink A -> B`: the team takes a link off its map (polarity may be left out)."""
    parts = _ARROW.split(args.strip(), maxsplit=1)
    if len(parts) != 2:
        raise Refusal("errors.unlink_usage")
    source_name, target_name = parts[0], parts[1].lstrip("+-−").strip()
    target_name = _DELAY.sub("", target_name)
    source = await _existing_factor(ctx, source_name)
    target = await _existing_factor(ctx, target_name)
    link = await ctx.uow.causal.link_between(ctx.team_id, id_of(source), id_of(target))
    if link is None:
        raise Refusal("errors.no_such_link", source=source.name, target=target.name)
    await ctx.uow.delete(link)
    ctx.say("systems.link_removed", source=source.name, target=target.name)


async def combine_factors(ctx: Context, args: str) -> None:
    """`combine A -> B`: factor A is the same as B; its links move to B."""
    parts = _ARROW.split(args.strip(), maxsplit=1)
    if len(parts) != 2:
        raise Refusal("errors.combine_usage")
    gone = await _existing_factor(ctx, parts[0])
    keep = await _existing_factor(ctx, parts[1])
    if gone.id == keep.id:
        raise Refusal("errors.combine_usage")
    for link in list(await ctx.uow.causal.links(ctx.team_id)):
        ends = {link.source_id, link.target_id}
        if gone.id not in ends:
            continue
        source = keep.id if link.source_id == gone.id else link.source_id
        target = keep.id if link.target_id == gone.id else link.target_id
        assert source is not None and target is not None
        if source == target or await ctx.uow.causal.link_between(ctx.team_id, source, target):
            await ctx.uow.delete(link)  # it would link B to itself, or B already has it
        else:
            link.source_id, link.target_id = source, target
    await ctx.uow.flush()  # the links move (or go) before the factor they leave goes
    for commitment in await ctx.uow.commitments.for_team(ctx.team_id):
        if commitment.factor_id == gone.id:
            commitment.factor_id = keep.id
    await ctx.uow.delete(gone)
    ctx.say("systems.combined", gone=gone.name, keep=keep.name)


def describe(lang: str, source: str, target: str, link: Link) -> str:
    return t(
        lang,
        "systems.link_line",
        source=source,
        target=target,
        polarity=link.polarity.value,
        delay=link.delay,
    )


@dataclass
class TeamMap:
    factors: list[Factor]
    links: list[Link]
    analysis: Analysis[int]

    def name(self, factor_id: int) -> str:
        return next(f.name for f in self.factors if f.id == factor_id)

    def loop_path(self, loop: Loop[int]) -> str:
        names = [self.name(n) for n in loop.nodes]
        return " → ".join([*names, names[0]])

    def loop_by_label(self, label: str) -> Loop[int] | None:
        return next((lp for lp in self.analysis.loops if lp.label == label.upper()), None)

    def diagram(self, title: str, alt: str) -> Diagram:
        index = {f.id: i for i, f in enumerate(self.factors)}
        return Diagram(
            title,
            alt,
            tuple(f.name for f in self.factors),
            tuple(
                DiagramLink(index[lk.source_id], index[lk.target_id], lk.polarity.value, lk.delay)
                for lk in self.links
            ),
            tuple(
                DiagramLoop(lp.label, tuple(index[n] for n in lp.nodes))
                for lp in self.analysis.loops
            ),
        )


async def team_map(uow: UnitOfWork, team_id: int, bounds: Bounds | None = None) -> TeamMap:
    factors = list(await uow.causal.factors(team_id))
    links = list(await uow.causal.links(team_id))
    return map_of(factors, links, bounds)


def map_of(factors: list[Factor], links: list[Link], bounds: Bounds | None = None) -> TeamMap:
    """A map and its loops from these factors and links (the team's, or a session's kept one)."""
    ids = [f.id for f in factors if f.id is not None]
    edges = [
        Edge(lk.source_id, lk.target_id, lk.polarity == Polarity.OPPOSITE, lk.delay) for lk in links
    ]
    b = bounds or Bounds()
    found = analyse(ids, edges, max_length=b.max_length, max_loops=b.max_loops,
                    time_budget=b.time_budget)  # fmt: skip
    return TeamMap(factors, links, found)


def leverage_questions(lang: str, tm: TeamMap, top: int = LEVERAGE_QUESTIONS) -> list[str]:
    """The factors the structure points at, as open questions; never as advice."""
    total = len(tm.analysis.loops)
    questions = []
    for factor_id in tm.analysis.leverage[:top]:
        count = tm.analysis.loop_count[factor_id]
        key = "systems.leverage_in_loops" if count else "systems.leverage_between"
        questions.append(t(lang, key, factor=tm.name(factor_id), loops=count, total=total))
    return questions


async def map_message(ctx: Context, session: Session) -> Message:
    """The team's causal map: its links, the loops in it and the questions they raise."""
    lang = session.locale
    tm = await team_map(ctx.uow, session.team_id, ctx.bounds)
    blocks: list[Block] = [
        Heading(t(lang, "systems.map_heading")),
        Text(t(lang, "systems.map_counts", factors=len(tm.factors), links=len(tm.links))),
    ]
    names = {f.id: f.name for f in tm.factors}
    blocks += [
        Text(describe(lang, names[lk.source_id], names[lk.target_id], lk)) for lk in tm.links
    ]
    if tm.links:
        blocks.append(
            tm.diagram(
                t(lang, "systems.map_heading"),
                t(
                    lang,
                    "systems.diagram_alt",
                    factors=len(tm.factors),
                    links=len(tm.links),
                    loops=len(tm.analysis.loops),
                ),
            )
        )
    loops = tm.analysis.loops
    if loops:
        blocks.append(Heading(t(lang, "systems.loops_heading", count=len(loops))))
        blocks += [
            Text(
                t(
                    lang,
                    "systems.loop_line",
                    label=lp.label,
                    reinforcing=lp.reinforcing,
                    path=tm.loop_path(lp),
                    delays=lp.delays,
                )
            )
            for lp in loops
        ]
    elif tm.links:
        blocks.append(Text(t(lang, "systems.no_loops")))
    if tm.analysis.truncated:
        blocks.append(
            Text(
                t(
                    lang,
                    f"systems.bound_{tm.analysis.bound}",
                    count=len(loops),
                    length=ctx.bounds.max_length,
                )
            )
        )
    questions = leverage_questions(lang, tm)
    if questions:
        blocks.append(Heading(t(lang, "systems.questions_heading")))
        blocks.append(Bullets(tuple(questions)))
    return message(*blocks)


async def show_map(ctx: Context) -> None:
    ctx.reply(await map_message(ctx, await require_session(ctx)))


def _link_typed_out(args: str) -> bool:
    """`from ; to ; + [; yes]`: the link form's fields, where text links have arrows."""
    return ";" in args and parse_link(args.split(";")[0]) is None


async def _link_form(ctx: Context, _context: str) -> Form:
    await require_running_session(ctx)
    return await link_form(ctx)


router = Router()


@router.command("link", form="link", typed_form=_link_typed_out)
async def _link(ctx: Context, args: str) -> None:
    session = await require_running_session(ctx)
    if not args.strip():
        ctx.open(await link_form(ctx))
        return
    await add_links_from_text(ctx, session, args)


@router.form(
    "link", build=_link_form, typed_fields=("source_new", "target_new", "polarity", "delay")
)
async def _linked(ctx: Context, values: dict[str, str], _context: str) -> None:
    await add_link_from_form(ctx, await require_running_session(ctx), values)


router.command("unlink")(remove_link)
router.command("combine")(combine_factors)
router.command("map")(no_args(show_map))
