"""The team's causal map: factors and links with polarity, entered as text.

`wachtlijst -> +druk op huisarts`, `more trust -> -escalations`, `A -> minder B`,
`A -> +B (delay)`. Polarity is required: it decides whether a loop reinforces or balances.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from handlers.archetypes import Hint, archetypes
from handlers.causal_words import POLARITY_WORDS, factor_key, parse_polarity
from handlers.context import Context, Refusal, clean_text, yes_or_no
from handlers.conversation import Router, no_args
from handlers.lookup import require_running_session, require_session
from handlers.loops import Analysis, Bounds, Edge, Loop, analyse, micmac, off_picture
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
from handlers.model import Commitment, Factor, Link, Polarity, Session, id_of
from handlers.ports import UnitOfWork
from prompts.catalog import t

MAX_FACTOR = 120
SIMILAR = 0.85  # names this alike are offered for combining
LEVERAGE_QUESTIONS = 3
_ARROW = re.compile(r"\s*(?:->|→|=>)\s*")
_DELAY = re.compile(r"\s*(?:\((?:delay|vertraging)\)|//)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedLink:
    source: str
    target: str
    polarity: Polarity
    delay: bool


_SIGNS = "+-−"


def parse_link(line: str) -> ParsedLink | None:
    """One link from a line of text, or None when it is not one in the accepted forms:
    `A -> +B`, `A -> -B`, `A -> meer B`, `A -> minder B` (more/less, s/o), with `(vertraging)`,
    `(delay)` or `//` after it. A second sign (`A -> ++B`), a sign left at a name (`A+ -> B`) or
    a second arrow is not a link: guessing would store a factor named "+B"."""
    parts = _ARROW.split(line.strip(), maxsplit=1)
    if len(parts) != 2:
        return None
    source, rest = parts[0].strip(), parts[1].strip()
    delay = bool(_DELAY.search(rest))
    rest = _DELAY.sub("", rest)
    polarity = None
    if rest[:1] in _SIGNS:
        polarity, rest = POLARITY_WORDS[rest[0]], rest[1:]
    else:
        word, _, remainder = rest.partition(" ")
        if word.casefold() in POLARITY_WORDS and remainder:
            polarity, rest = POLARITY_WORDS[word.casefold()], remainder
    target = rest.strip()
    # A name of punctuation alone ("???") is no factor: every such name would be one key, "".
    if polarity is None or not factor_key(source) or not factor_key(target):
        return None
    loose = (
        target[:1] in _SIGNS
        or target[-1:] in _SIGNS
        or source[:1] in _SIGNS
        or source[-1:] in _SIGNS
        or _ARROW.search(target)
    )
    return None if loose else ParsedLink(source, target, polarity, delay)


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
    """Every line a link in an accepted form; a link of a factor to itself is a loop of one
    factor (a stock that drains itself). One link written twice with two signs is asked about,
    never chosen between."""
    text = clean_text(raw)
    parsed: list[ParsedLink] = []
    for line in (part.strip() for part in re.split(r"[\n;]", text)):
        if not line:
            continue
        link = parse_link(line)
        if link is None:
            raise Refusal("systems.link_refused", line=line[:200])
        for earlier in parsed:
            same = (factor_key(earlier.source), factor_key(earlier.target)) == (
                factor_key(link.source), factor_key(link.target),
            )  # fmt: skip
            if same and earlier.polarity != link.polarity:
                raise Refusal("systems.link_conflict", source=link.source, target=link.target)
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
    await ctx.uow.flush()
    ends = [source] if source.id == target.id else [source, target]  # a self-link: one end
    gone = [f.name for f in ends if await _drop_if_unlinked(ctx, f)]
    ctx.say("systems.link_removed", source=source.name, target=target.name, gone=gone)


async def _drop_if_unlinked(ctx: Context, factor: Factor) -> bool:
    """A factor with no link left goes off the map (and out of the count), unless a
    commitment still names it."""
    links = await ctx.uow.causal.links(ctx.team_id)
    if any(factor.id in (lk.source_id, lk.target_id) for lk in links):
        return False
    if any(c.factor_id == factor.id for c in await ctx.uow.commitments.for_team(ctx.team_id)):
        return False
    await ctx.uow.delete(factor)
    return True


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
        # A link between A and B says nothing once they are one factor; A's own loop
        # (A -> A) is B's loop now, a one-factor loop like any other.
        between = source == target and ends != {gone.id}
        if between or await ctx.uow.causal.link_between(ctx.team_id, source, target):
            await ctx.uow.delete(link)  # or B already has that link
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

    @property
    def shown(self) -> list[Factor]:
        """The factors on the picture and in the count: those with a link."""
        linked = {n for lk in self.links for n in (lk.source_id, lk.target_id)}
        return [f for f in self.factors if f.id in linked]

    def loop_path(self, loop: Loop[int]) -> str:
        names = [self.name(n) for n in loop.nodes]
        return " → ".join([*names, names[0]])

    def loop_by_label(self, label: str) -> Loop[int] | None:
        return next((lp for lp in self.analysis.loops if lp.label == label.upper()), None)

    def opposite(self, source: int, target: int) -> bool:
        return any(
            lk.polarity == Polarity.OPPOSITE
            for lk in self.links
            if (lk.source_id, lk.target_id) == (source, target)
        )

    def edges(self) -> list[Edge[int]]:
        return [
            Edge(lk.source_id, lk.target_id, lk.polarity == Polarity.OPPOSITE, lk.delay)
            for lk in self.links
        ]

    def diagram(self, title: str, alt: str) -> Diagram:
        shown = self.shown
        index = {f.id: i for i, f in enumerate(shown)}
        return Diagram(
            title,
            alt,
            tuple(f.name for f in shown),
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


def loop_story(lang: str, tm: TeamMap, loop: Loop[int]) -> str:
    """The loop as a sentence in the team's words: "more waiting list → more pressure on the
    GP → …, so the waiting list grows further"."""
    more = True
    steps = [t(lang, "systems.story_more", factor=tm.name(loop.nodes[0]))]
    for i, node in enumerate(loop.nodes):
        after = loop.nodes[(i + 1) % len(loop.nodes)]
        if tm.opposite(node, after):
            more = not more
        steps.append(t(lang, "systems.story_more" if more else "systems.story_less",
                       factor=tm.name(after)))  # fmt: skip
    key = "systems.story_reinforcing" if loop.reinforcing else "systems.story_balancing"
    return t(lang, key, steps=steps, start=tm.name(loop.nodes[0]))


def acted_on(tm: TeamMap, commitments: list[Commitment]) -> list[str]:
    """The loops the team's commitments act on (named, or through a factor on them)."""
    return [
        lp.label
        for lp in tm.analysis.loops
        if any(c.loop_key == lp.key or c.factor_id in lp.nodes for c in commitments)
    ]


def leverage_questions(
    lang: str,
    tm: TeamMap,
    top: int = LEVERAGE_QUESTIONS,
    commitments: list[Commitment] | None = None,
) -> list[str]:
    """What the structure points at, as open questions for the team; never as advice.

    Factors the team marked as ones it can influence come first; otherwise the hubs (most
    loops, with their reinforcing/balancing split), never a two-link drain. Then a MICMAC-style
    hint (a factor that reaches much of the map and depends on little of it) and the loops the
    team's commitments act on."""
    a = tm.analysis
    total = len(a.loops)
    steerable = {f.id for f in tm.factors if f.steerable and f.id is not None}
    # A factor the team marked is asked about even when it is a drain: the team chose it.
    own = sorted(
        (n for n in steerable if a.loop_count.get(n) or a.betweenness.get(n, 0) > 0),
        key=lambda n: (-a.loop_count[n], -a.betweenness[n], n),
    )
    ranked = own + [n for n in a.leverage if n not in steerable]
    questions = []
    asked: set[int] = set()
    for factor_id in ranked[:top]:
        asked.add(factor_id)
        count = a.loop_count[factor_id]
        if factor_id in steerable:
            key = "systems.lever_steerable"
        else:
            key = "systems.lever_hub" if count else "systems.leverage_between"
        questions.append(
            t(lang, key, factor=tm.name(factor_id), loops=count, total=total,
              reinforcing=a.reinforcing[factor_id], balancing=a.balancing[factor_id])
        )  # fmt: skip
    places = micmac(a)
    driving = sorted(
        (n for n, place in places.items() if place == "driving" and n not in asked),
        key=lambda n: (a.dependence[n] - a.influence[n], n),
    )
    if driving:
        n = driving[0]
        questions.append(t(lang, "systems.lever_micmac", factor=tm.name(n),
                           reach=a.influence[n], total=len(tm.shown)))  # fmt: skip
    if commitments is not None:  # in chat, where the team can act on the answers
        loops = acted_on(tm, commitments)
        if loops:
            questions.append(t(lang, "systems.lever_commitments", loops=loops))
        elif total:
            questions.append(t(lang, "systems.lever_no_commitments"))
        if total and not steerable:
            questions.append(t(lang, "systems.lever_mark"))
    return questions


def _bound_text(lang: str, a: Analysis[int], bounds: Bounds) -> str:
    s = a.search
    if s.bound == "length":
        return t(lang, "systems.bound_length", length=bounds.max_length)
    if s.bound == "count":
        return t(lang, "systems.bound_count", count=len(a.loops), hidden=s.hidden,
                 length=s.complete_to + 1, more=s.more_possible)  # fmt: skip
    return t(lang, "systems.bound_time", complete=s.complete_to,
             seconds=f"{bounds.time_budget:g}")  # fmt: skip


LOOPS_TOLD = 12  # loops told as sentences in chat; the rest are listed by their path


async def map_message(ctx: Context, session: Session, lang: str = "") -> Message:
    """The team's causal map: its links, the loops in it and the questions they raise; in
    the session's language for the channel, in `lang` for one person."""
    lang = lang or session.locale
    tm = await team_map(ctx.uow, session.team_id, ctx.bounds)
    shown = tm.shown
    blocks: list[Block] = [
        Heading(t(lang, "systems.map_heading")),
        Text(t(lang, "systems.map_counts", factors=len(shown), links=len(tm.links))),
    ]
    names = {f.id: f.name for f in tm.factors}
    blocks += [
        Text(describe(lang, names[lk.source_id], names[lk.target_id], lk)) for lk in tm.links
    ]
    if tm.links:
        alt = t(lang, "systems.diagram_alt", factors=len(shown), links=len(tm.links),
                loops=len(tm.analysis.loops))  # fmt: skip
        left_out = off_picture([id_of(f) for f in shown], tm.edges())
        if left_out:  # a large map is drawn as its loop groups only
            alt += " " + t(lang, "systems.diagram_left_out", factors=left_out)
        blocks.append(tm.diagram(t(lang, "systems.map_heading"), alt))
    loops = tm.analysis.loops
    if loops:
        blocks.append(Heading(t(lang, "systems.loops_heading", count=len(loops))))
        groups = len(tm.analysis.groups)
        told = 0
        for number in range(1, groups + 1):
            group = [lp for lp in loops if lp.group == number]
            if not group:
                continue
            if groups > 1:
                members = [names[n] for n in tm.analysis.groups[number - 1]]
                blocks.append(Text(t(lang, "systems.group_line", number=number,
                                     factors=members, loops=len(group))))  # fmt: skip
            # The loops that together cover every feedback link first, then the long tail.
            for lp in sorted(group, key=lambda lp: not lp.core):
                blocks.append(Text(t(lang, "systems.loop_line", label=lp.label,
                                     reinforcing=lp.reinforcing, path=tm.loop_path(lp),
                                     delays=lp.delays)))  # fmt: skip
                if lp.core and told < LOOPS_TOLD:
                    told += 1
                    blocks.append(Text(loop_story(lang, tm, lp)))
    elif tm.links:
        blocks.append(Text(t(lang, "systems.no_loops")))
    if tm.analysis.truncated:
        blocks.append(Text(_bound_text(lang, tm.analysis, ctx.bounds)))
    if tm.analysis.uncovered:
        blocks.append(Text(t(lang, "systems.uncovered", links=tm.analysis.uncovered)))
    commitments = list(await ctx.uow.commitments.for_team(session.team_id))
    questions = leverage_questions(lang, tm, commitments=commitments)
    if questions:
        blocks.append(Heading(t(lang, "systems.questions_heading")))
        blocks.append(Bullets(tuple(questions)))
    hints = archetypes(loops, tm.edges())
    if hints:
        blocks.append(Heading(t(lang, "systems.archetypes_heading")))
        blocks.append(Bullets(tuple(archetype_hint(lang, tm, h) for h in hints)))
    return message(*blocks)


def archetype_hint(lang: str, tm: TeamMap, hint: Hint[int]) -> str:
    return t(
        lang,
        "systems.archetype_hint",
        loops=list(hint.loops),
        name=t(lang, f"systems.archetype.{hint.kind}.name"),
        pattern=t(lang, f"systems.archetype.{hint.kind}.pattern",
                  factor=tm.name(hint.factor) if hint.factor is not None else ""),
    )  # fmt: skip


async def mark_steerable(ctx: Context, args: str) -> None:
    """`stuurbaar A` / `steer A`: the team can influence A, so the map's questions go there;
    `stuurbaar -A` takes the mark off."""
    name = args.strip()
    off = name[:1] in _SIGNS and name[:1] != "+"
    name = name.lstrip("+-−").strip()
    if not name:
        raise Refusal("systems.steer_usage")
    factor = await _existing_factor(ctx, name)
    factor.steerable = not off
    ctx.say("systems.steer_off" if off else "systems.steer_on", factor=factor.name)


async def show_map(ctx: Context) -> None:
    ctx.reply(await map_message(ctx, await require_session(ctx), ctx.lang))  # their language


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
router.command("steer")(mark_steerable)
