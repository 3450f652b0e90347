"""The discuss step of a retro: after the vote, the themes the team chose are talked through
one by one, before anyone commits to anything.

Each theme is a message of its own in the team's channel, so that the talk about it stays
with it: on Slack its thread, on Teams the replies to it (every platform makes a channel post
the start of one). In a live session the themes come one after another, a timebox each: the
next theme's message is queued for when the box ends, and the coordinator's "next theme"
brings it forward. In an async session they all come at once and stay open until the round
closes. The messages are ordinary outbox rows (`discuss:<round>:<n>`); a row still waiting
when the round closes is dropped.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from handlers.context import Context, Refusal
from handlers.conversation import Router
from handlers.lookup import require_open_round, round_title
from handlers.messages import (
    Action,
    Choices,
    Destination,
    Heading,
    Quote,
    Text,
    message,
)
from handlers.model import (
    OutboxStatus,
    Role,
    Round,
    RoundKind,
    Session,
    SessionMode,
    Theme,
    id_of,
)
from handlers.themes import category_labels
from handlers.votes import tally, themes_for
from prompts.catalog import t

TOP_THEMES = 3  # the themes with the most dots that are discussed
TIMEBOX = timedelta(minutes=10)  # per theme, in a live session
EXAMPLES = 3  # answers quoted under a theme, to start the talk from the team's own words


def is_live(session: Session) -> bool:
    return getattr(session, "mode", SessionMode.LIVE) != SessionMode.ASYNC


async def chosen(ctx: Context, session: Session, rnd: Round) -> list[tuple[Theme, int]]:
    """The top themes of the vote before this round, with their dots; a theme nobody put a dot
    on was not chosen."""
    rounds = await ctx.uow.sessions.rounds(id_of(session))
    votes = [r for r in rounds if r.kind == RoundKind.VOTE and r.position < rnd.position]
    if not votes:
        return []
    counts = await tally(ctx, votes[-1])
    ranked = sorted(
        await themes_for(ctx, session, votes[-1]), key=lambda th: (-counts[th.id or 0], th.position)
    )
    return [(th, counts[th.id or 0]) for th in ranked if counts[th.id or 0] > 0][:TOP_THEMES]


def _key(rnd: Round, part: int | str) -> str:
    return f"discuss:{rnd.id}:{part}"


async def open_discussion(ctx: Context, session: Session, rnd: Round, total: int) -> None:
    """The round's heading, then one message per chosen theme: all at once (async) or each
    when the one before has had its time (live)."""
    lang = session.locale
    themes = await chosen(ctx, session, rnd)
    live = is_live(session)
    heading = Heading(
        t(lang, "rounds.opened", position=rnd.position, total=total, title=round_title(lang, rnd))
    )
    if not themes:
        intro = Text(t(lang, "themes.discuss_none"))
    elif live:
        minutes = int(TIMEBOX.total_seconds() // 60)
        intro = Text(t(lang, "themes.discuss_live", count=len(themes), minutes=minutes))
    else:
        intro = Text(t(lang, "themes.discuss_async", count=len(themes)))
    await ctx.post(
        Destination.channel(session.team_id),
        message(heading, intro),
        kind="round-open",
        dedupe_key=f"round-open:{rnd.id}",
    )
    rounds = await ctx.uow.sessions.rounds(id_of(session))
    contributions = await ctx.uow.sessions.contributions([id_of(r) for r in rounds])
    for number, (theme, dots) in enumerate(themes, start=1):
        examples = [c.text for c in contributions if c.theme_id == theme.id][:EXAMPLES]
        labels = category_labels(lang, rounds, theme)
        title = t(lang, "themes.discuss_heading", number=number, count=len(themes),
                  title=theme.title, dots=dots, labels=labels)  # fmt: skip
        blocks: list = [
            Heading(title),
            *(Quote(text) for text in examples),
            Text(t(lang, "themes.discuss_question")),
        ]
        if live:
            blocks.append(_next_button(lang, rnd, last=number == len(themes)))
        await ctx.post(
            Destination.channel(session.team_id),
            message(*blocks),
            kind="discuss",
            dedupe_key=_key(rnd, number),
            due_at=ctx.now + (number - 1) * TIMEBOX if live else ctx.now,
        )
    if themes and live:
        await ctx.post(
            Destination.channel(session.team_id),
            message(Text(t(lang, "themes.discuss_time_up"))),
            kind="discuss",
            dedupe_key=_key(rnd, "end"),
            due_at=ctx.now + len(themes) * TIMEBOX,
        )


def _next_button(lang: str, rnd: Round, *, last: bool) -> Choices:
    label = t(lang, "themes.discuss_done" if last else "themes.discuss_next")
    return Choices((Action("next_theme", label, str(rnd.id), "primary"),))


async def _waiting(ctx: Context, rnd: Round) -> list:
    """The discussion's messages not sent yet, in their order (the closing note last)."""
    rows = []
    for part in [*range(1, TOP_THEMES + 1), "end"]:
        row = await ctx.uow.outbox.by_key(_key(rnd, part))
        if row is not None and row.status == OutboxStatus.PENDING:
            rows.append(row)
    return rows


async def next_theme(ctx: Context, value: str) -> None:
    """The coordinator moves on before the timebox ends: what waits comes forward, each with
    its full time again."""
    _session, rnd = await require_open_round(ctx, (RoundKind.DISCUSS,))
    if value.strip() and value.strip() != str(rnd.id):
        raise Refusal("errors.round_closed")  # a button of an earlier discussion
    waiting = [row for row in await _waiting(ctx, rnd) if row.due_at > ctx.now]
    if not waiting:
        ctx.say("themes.discuss_over")
        return
    start: datetime = ctx.now
    for k, row in enumerate(waiting):
        row.due_at = start + k * TIMEBOX
    last = waiting[0].dedupe_key.endswith(":end")
    ctx.say("themes.discuss_moved_on" if not last else "themes.discuss_over")


async def close_discussion(ctx: Context, rnd: Round) -> None:
    """The round closed (the coordinator went on to the commitments): what was still to come
    is not posted after the team moved on."""
    for row in await _waiting(ctx, rnd):
        if row.due_at > ctx.now:
            await ctx.uow.delete(row)


router = Router()
router.action("next_theme", role=Role.COORDINATOR)(next_theme)
