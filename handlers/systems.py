"""The team's causal map: factors and links with polarity, entered as text.

`wachtlijst -> +druk op huisarts`, `more trust -> -escalations`, `A -> minder B`,
`A -> +B (delay)`. Polarity is required: it decides whether a loop reinforces or balances.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from handlers.context import Context, Refusal, clean_text
from handlers.lookup import require_session
from handlers.messages import Heading, Message, Text, message
from handlers.model import Factor, Link, Polarity, Session
from prompts.catalog import t

MAX_FACTOR = 120
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


async def _factor(ctx: Context, name: str) -> Factor:
    name = clean_text(name, limit=MAX_FACTOR)
    key = factor_key(name)
    factor = await ctx.uow.causal.factor_by_key(ctx.team_id, key)
    if factor is None:
        factor = Factor(ctx.team_id, name, key)
        ctx.uow.add(factor)
        await ctx.uow.flush()
    return factor


async def add_links_from_text(ctx: Context, session: Session, raw: str) -> None:
    """Every line (or `;`-separated part) a link; all are stored, or none."""
    text = clean_text(raw)
    lines = [part.strip() for part in re.split(r"[\n;]", text) if part.strip()]
    parsed = []
    for line in lines:
        link = parse_link(line)
        if link is None:
            raise Refusal("errors.not_a_link", line=line[:200])
        if factor_key(link.source) == factor_key(link.target):
            raise Refusal("errors.self_link", line=line[:200])
        parsed.append(link)
    added, known = [], []
    for link in parsed:
        source, target = await _factor(ctx, link.source), await _factor(ctx, link.target)
        assert source.id is not None and target.id is not None
        existing = await ctx.uow.causal.link_between(ctx.team_id, source.id, target.id)
        if existing is not None:
            known.append(describe(ctx.lang, source.name, target.name, existing))
            continue
        new = Link(
            ctx.team_id, source.id, target.id, link.polarity, link.delay, session.id, ctx.person_id
        )
        ctx.uow.add(new)
        await ctx.uow.flush()
        added.append(describe(ctx.lang, source.name, target.name, new))
    ctx.say("systems.links_added", added=added, known=known)


def describe(lang: str, source: str, target: str, link: Link) -> str:
    return t(
        lang,
        "systems.link_line",
        source=source,
        target=target,
        polarity=link.polarity.value,
        delay=link.delay,
    )


async def map_message(ctx: Context, session: Session) -> Message:
    """The team's causal map so far, as lines of text."""
    lang = session.locale
    factors = {f.id: f.name for f in await ctx.uow.causal.factors(session.team_id)}
    links = await ctx.uow.causal.links(session.team_id)
    blocks: list = [
        Heading(t(lang, "systems.map_heading")),
        Text(t(lang, "systems.map_counts", factors=len(factors), links=len(links))),
    ]
    blocks += [
        Text(describe(lang, factors[link.source_id], factors[link.target_id], link))
        for link in links
    ]
    return message(*blocks)


async def show_map(ctx: Context) -> None:
    ctx.reply(await map_message(ctx, await require_session(ctx)))
