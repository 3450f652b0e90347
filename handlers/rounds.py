"""Opening and closing rounds: the question goes to everyone by DM, the answers come back
to the channel together, without names when the session is anonymous."""

from __future__ import annotations

from collections.abc import Sequence

from handlers import assist, discussion, nudges
from handlers import themes as theme_flow
from handlers import votes as vote_flow
from handlers.commitments import commitments_message
from handlers.context import Context
from handlers.lookup import category_label, round_title
from handlers.messages import (
    Destination,
    Heading,
    Message,
    Quote,
    Text,
    message,
)
from handlers.model import (
    Contribution,
    Round,
    RoundKind,
    RoundStatus,
    Session,
    SessionMode,
    id_of,
)
from handlers.overview import field_message
from handlers.round_prompts import round_prompt
from handlers.systems import map_message
from prompts.catalog import t


async def open_round(ctx: Context, session: Session, rnd: Round, total: int) -> None:
    rnd.status = RoundStatus.OPEN
    if session.mode == SessionMode.LIVE or rnd.opens_at is None:
        rnd.opens_at = ctx.now  # an async round keeps its planned times
    lang = session.locale
    heading = Heading(
        t(lang, "rounds.opened", position=rnd.position, total=total, title=round_title(lang, rnd))
    )
    if rnd.kind == RoundKind.GROUP:
        await theme_flow.form_themes(ctx, session, rnd)
        if not await ctx.uow.sessions.themes(id_of(rnd)):
            return  # nobody answered the rounds before: no empty board in the channel
        body = await theme_flow.board(ctx, session, rnd)
        await _to_channel(ctx, session, rnd, "round-open", message(heading, *body.blocks))
        await assist.after_grouping(ctx, session, rnd)
        return
    if rnd.kind == RoundKind.DISCUSS:
        await discussion.open_discussion(ctx, session, rnd, total)  # in the channel only
        return
    if rnd.kind == RoundKind.VOTE:
        # The ballot's pages, each a message of its own (the first with the round's heading).
        for part, page in enumerate(await vote_flow.ballot(ctx, session, rnd), start=1):
            await _to_channel(ctx, session, rnd, "round-open", page, part)
    else:
        question = Text(t(lang, f"rounds.{rnd.name}.question"))
        await _to_channel(
            ctx,
            session,
            rnd,
            "round-open",
            message(heading, question, Text(t(lang, "rounds.answer_in_dm"))),
        )
    people = [person for _membership, person in await ctx.uow.directory.members(session.team_id)]
    for person in people:
        key = f"round-prompt:{rnd.id}:{id_of(person)}"
        if ctx.scheduled:
            # Opened by the schedule: a nudge, at a moment that suits each person.
            spec = {"round_id": rnd.id}
            await nudges.plan(ctx.uow, person, "round_open", spec, key, ctx.now, ctx.policy)
        else:
            # Opened by the coordinator, with the team at work now: straight away.
            await ctx.post(
                Destination.dm(id_of(person)),
                round_prompt(person, session, rnd, total),
                kind="round_prompt",
                dedupe_key=key,
            )
    await nudges.plan_closing_soon(ctx.uow, session, rnd, people, ctx.policy)


async def close_round(ctx: Context, session: Session, rnd: Round) -> None:
    rnd.status = RoundStatus.CLOSED
    rnd.closes_at = ctx.now
    if rnd.kind in (RoundKind.CHECKIN, RoundKind.REFLECT):
        contributions = await ctx.uow.sessions.contributions([rnd.id] if rnd.id else [])
        if not contributions:
            return  # nothing to show: no "0 answers from 0 people" in the channel
        await _to_channel(
            ctx, session, rnd, "reveal", await reveal(ctx, session, rnd, contributions)
        )
        await assist.after_round(ctx, session, rnd)
    elif rnd.kind == RoundKind.CAUSAL:
        await _to_channel(ctx, session, rnd, "reveal", await map_message(ctx, session))
    elif rnd.kind == RoundKind.OVERVIEW:
        await _to_channel(ctx, session, rnd, "reveal", await field_message(ctx.uow, session))
    elif rnd.kind == RoundKind.VOTE:
        if not any((await ctx.uow.sessions.vote_counts(id_of(rnd))).values()):
            # No dots: the team chose nothing, and the channel must not say it did.
            if await vote_flow.themes_for(ctx, session, rnd):
                await _to_channel(
                    ctx, session, rnd, "reveal", message(Text(t(session.locale, "rounds.no_dots")))
                )
            return
        await _to_channel(ctx, session, rnd, "reveal", await vote_flow.results(ctx, session, rnd))
    elif rnd.kind == RoundKind.DISCUSS:
        await discussion.close_discussion(ctx, rnd)
    elif rnd.kind == RoundKind.COMMIT:
        if not await ctx.uow.commitments.for_session(id_of(session)):
            return  # no "the team's commitments (0)"
        await _to_channel(ctx, session, rnd, "reveal", await commitments_message(ctx, session))


async def reveal(
    ctx: Context, session: Session, rnd: Round, contributions: Sequence[Contribution]
) -> Message:
    """The team's answers together, grouped by category; names only in open sessions."""
    lang = session.locale
    authors = {c.author_id for c in contributions if c.author_id is not None}
    members = await ctx.uow.directory.members(session.team_id)
    names = {p.id: p.display_name for _, p in members}
    blocks: list = [
        Heading(t(lang, "rounds.reveal_heading", title=round_title(lang, rnd))),
        Text(
            t(
                lang,
                "rounds.reveal_counts",
                count=len(contributions),
                people=len(authors),
                members=len(members),
            )
        ),
    ]
    order = [*rnd.categories, ""]
    for category in order:
        group = [c for c in contributions if c.category == category]
        if not group:
            continue
        if rnd.categories:
            blocks.append(Heading(category_label(lang, rnd, category)))
        for c in group:
            label = "" if session.anonymous else names.get(c.author_id, "")
            blocks.append(Quote(c.text, label))
    return message(*blocks)


async def _to_channel(
    ctx: Context, session: Session, rnd: Round, kind: str, msg: Message, part: int = 1
) -> None:
    """`part`: a message of several (a ballot's pages), each sent once."""
    key = f"{kind}:{rnd.id}" if part == 1 else f"{kind}:{rnd.id}:{part}"
    await ctx.post(Destination.channel(session.team_id), msg, kind=kind, dedupe_key=key)
