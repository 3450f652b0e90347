"""Grouping contributions into themes: by category first, then by shared words; the team
merges and renames until the themes say what they mean."""

from __future__ import annotations

import re
from collections.abc import Sequence

from handlers.context import Context, Refusal, clean_text
from handlers.conversation import Router
from handlers.lookup import category_label, require_open_round
from handlers.messages import Heading, Message, Quote, Text, message
from handlers.model import Contribution, Round, RoundKind, Session, Theme, id_of
from prompts.catalog import LANGUAGES, t, words

TITLE_LENGTH = 60
_WORD = re.compile(r"[^\W\d_]{4,}", re.UNICODE)


def keywords(text: str, stopwords: set[str]) -> set[str]:
    return {w for w in (m.casefold() for m in _WORD.findall(text)) if w not in stopwords}


def all_stopwords() -> set[str]:
    return {w.casefold() for lang in LANGUAGES for w in words(lang, "grouping.stopwords")}


def group_by_words(items: Sequence[Contribution], stopwords: set[str]) -> list[list[Contribution]]:
    """Contributions that share a meaningful word end up together (connected components)."""
    parent = list(range(len(items)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_seen: dict[str, int] = {}
    for i, item in enumerate(items):
        for word in keywords(item.text, stopwords):
            if word in first_seen:
                parent[root(i)] = root(first_seen[word])
            else:
                first_seen[word] = i
    groups: dict[int, list[Contribution]] = {}
    for i, item in enumerate(items):
        groups.setdefault(root(i), []).append(item)
    return list(groups.values())


def short_title(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TITLE_LENGTH else text[: TITLE_LENGTH - 1].rstrip() + "…"


async def form_themes(ctx: Context, session: Session, group_round: Round) -> None:
    """Make the first themes from the session's reflection rounds."""
    group_round_id = id_of(group_round)
    rounds = [
        r for r in await ctx.uow.sessions.rounds(id_of(session)) if r.kind == RoundKind.REFLECT
    ]
    stopwords = all_stopwords()
    position = 0
    for rnd in rounds:
        contributions = await ctx.uow.sessions.contributions([id_of(rnd)])
        for category in [*rnd.categories, ""]:
            in_category = [c for c in contributions if c.category == category]
            for group in group_by_words(in_category, stopwords):
                position += 1
                theme = Theme(group_round_id, short_title(group[0].text), category, position)
                theme_id = await ctx.uow.store(theme)
                for c in group:
                    c.theme_id = theme_id


def categories_of(theme: Theme) -> list[str]:
    """A theme's categories: one when it was formed, more once themes of several are merged."""
    return [c for c in theme.category.split(",") if c]


def _joined(*categories: list[str]) -> str:
    return ",".join(dict.fromkeys(c for group in categories for c in group))


def category_labels(lang: str, rounds: Sequence[Round], theme: Theme) -> str:
    """ "Stop · Start": the labels of a theme's categories, from the round that has each."""
    labels = []
    for category in categories_of(theme):
        rnd = next((r for r in rounds if category in r.categories), None)
        labels.append(category_label(lang, rnd, category) if rnd else category)
    return " · ".join(labels)


async def board(ctx: Context, session: Session, group_round: Round) -> Message:
    """The themes with their contributions and categories, numbered, in the session's
    language."""
    lang = session.locale
    themes = await ctx.uow.sessions.themes(id_of(group_round))
    rounds = await ctx.uow.sessions.rounds(id_of(session))
    contributions = await ctx.uow.sessions.contributions(await _round_ids(ctx, session))
    blocks: list = [Text(t(lang, "themes.board_intro", count=len(themes)))]
    for theme in themes:
        members = [c for c in contributions if c.theme_id == theme.id]
        labels = category_labels(lang, rounds, theme)
        suffix = f" · {labels}" if labels else ""
        blocks.append(Heading(f"{theme.position}. {theme.title} ({len(members)}){suffix}"))
        for c in members:
            blocks.append(Quote(c.text))
    if not themes:
        blocks.append(Text(t(lang, "themes.none")))
    blocks.append(Text(t(lang, "themes.how_to_edit")))
    return message(*blocks)


def _theme_at(themes: Sequence[Theme], number: str) -> Theme:
    for theme in themes:
        if str(theme.position) == number.strip().lstrip("#"):
            return theme
    raise Refusal("errors.unknown_theme", number=number.strip()[:20])


async def merge(ctx: Context, args: str) -> None:
    """`merge 2 5`: theme 5 joins theme 2; the numbers after it move up."""
    session, rnd = await require_open_round(ctx, (RoundKind.GROUP,))
    parts = args.split()
    if len(parts) != 2:
        raise Refusal("errors.merge_usage")
    themes = list(await ctx.uow.sessions.themes(id_of(rnd)))
    keep, gone = _theme_at(themes, parts[0]), _theme_at(themes, parts[1])
    if keep is gone:
        raise Refusal("errors.merge_usage")
    for c in await ctx.uow.sessions.contributions(await _round_ids(ctx, session)):
        if c.theme_id == gone.id:
            c.theme_id = keep.id
    # "Stop" joined to "Start" stays both: the team sees where the answers came from.
    keep.category = _joined(categories_of(keep), categories_of(gone))
    await ctx.uow.flush()  # the answers move before their theme goes
    await ctx.uow.delete(gone)
    for theme in themes:
        if theme.position > gone.position:
            theme.position -= 1
    ctx.say("themes.merged", title=keep.title)


async def rename(ctx: Context, args: str) -> None:
    """`rename 2 Trust between partners`."""
    _session, rnd = await require_open_round(ctx, (RoundKind.GROUP,))
    number, _, title = args.strip().partition(" ")
    theme = _theme_at(await ctx.uow.sessions.themes(id_of(rnd)), number)
    theme.title = clean_text(title, limit=120)
    ctx.say("themes.renamed", number=theme.position, title=theme.title)


async def _round_ids(ctx: Context, session: Session) -> list[int]:
    return [r.id for r in await ctx.uow.sessions.rounds(session.id or 0) if r.id is not None]


router = Router()
router.command("merge")(merge)
router.command("rename")(rename)


@router.command("themes", listed=False)
async def _board(ctx: Context, _args: str) -> None:
    session, rnd = await require_open_round(ctx, (RoundKind.GROUP,))
    ctx.reply(await board(ctx, session, rnd))
