"""Opening and closing rounds: the question goes to everyone by DM, the answers come back
to the channel together, without names when the session is anonymous."""

from __future__ import annotations

from collections.abc import Sequence

from handlers import themes as theme_flow
from handlers import votes as vote_flow
from handlers.commitments import commitment_form, commitments_message
from handlers.context import Context
from handlers.lookup import category_label, round_title
from handlers.messages import (
    Bullets,
    Destination,
    Fields,
    Form,
    Heading,
    Message,
    Option,
    Quote,
    Select,
    Text,
    TextInput,
    message,
)
from handlers.model import Contribution, Person, Round, RoundKind, RoundStatus, Session
from handlers.overview import field_message, overview_prompt_blocks
from handlers.systems import map_message
from prompts.catalog import t


async def open_round(ctx: Context, session: Session, rnd: Round, total: int) -> None:
    rnd.status = RoundStatus.OPEN
    rnd.opens_at = ctx.now
    lang = session.locale
    heading = Heading(
        t(lang, "rounds.opened", position=rnd.position, total=total, title=round_title(lang, rnd))
    )
    if rnd.kind == RoundKind.GROUP:
        await theme_flow.form_themes(ctx, session, rnd)
        body = await theme_flow.board(ctx, session, rnd)
        await _to_channel(ctx, session, rnd, "round-open", message(heading, *body.blocks))
        return
    if rnd.kind == RoundKind.VOTE:
        body = await vote_flow.ballot(ctx, session, rnd)
        await _to_channel(ctx, session, rnd, "round-open", message(heading, *body.blocks))
    else:
        question = Text(t(lang, f"rounds.{rnd.name}.question"))
        await _to_channel(
            ctx,
            session,
            rnd,
            "round-open",
            message(heading, question, Text(t(lang, "rounds.answer_in_dm"))),
        )
    for _membership, person in await ctx.uow.directory.members(session.team_id):
        assert person.id is not None
        await ctx.post(
            Destination.dm(person.id),
            round_prompt(person, session, rnd, total),
            kind="round_prompt",
            dedupe_key=f"round-prompt:{rnd.id}:{person.id}",
        )


def round_prompt(person: Person, session: Session, rnd: Round, total: int) -> Message:
    """The DM that asks one person the round's question, in their language."""
    lang = person.locale
    blocks: list = [
        Heading(
            t(
                lang,
                "rounds.prompt_heading",
                session=session.title,
                position=rnd.position,
                total=total,
                title=round_title(lang, rnd),
            )
        ),
        Fields(((t(lang, "sessions.question_label"), session.question),)),
    ]
    if rnd.kind == RoundKind.VOTE:
        blocks.append(Text(t(lang, "votes.prompt", budget=session.vote_budget)))
        return message(*blocks)
    blocks.append(Text(t(lang, f"rounds.{rnd.name}.question")))
    if rnd.kind == RoundKind.COMMIT:
        blocks.append(commitment_form(lang, rnd))
        return message(*blocks)
    if rnd.kind == RoundKind.CAUSAL:
        blocks.append(Text(t(lang, "systems.link_syntax")))
    if rnd.kind == RoundKind.OVERVIEW:
        return message(*blocks, *overview_prompt_blocks(lang))
    if rnd.categories:
        labels = [category_label(lang, rnd, c) for c in rnd.categories]
        blocks.append(Text(t(lang, "rounds.categories_hint", example=labels[0])))
        blocks.append(Bullets(tuple(labels)))
    if session.anonymous:
        blocks.append(Text(t(lang, "rounds.anonymous_note")))
    blocks.append(contribute_form(lang, rnd))
    return message(*blocks)


def contribute_form(lang: str, rnd: Round) -> Form:
    """An answer to a round, with its category when the round has them."""
    fields: list[TextInput | Select] = [
        TextInput("text", t(lang, "rounds.answer_label"), multiline=True)
    ]
    if rnd.categories:
        options = tuple(Option(c, category_label(lang, rnd, c)) for c in rnd.categories)
        fields.append(Select("category", t(lang, "rounds.category_label"), options))
    return Form(
        "contribute", round_title(lang, rnd), tuple(fields), t(lang, "rounds.send"), str(rnd.id)
    )


async def close_round(ctx: Context, session: Session, rnd: Round) -> None:
    rnd.status = RoundStatus.CLOSED
    rnd.closes_at = ctx.now
    if rnd.kind in (RoundKind.CHECKIN, RoundKind.REFLECT):
        contributions = await ctx.uow.sessions.contributions([rnd.id] if rnd.id else [])
        await _to_channel(
            ctx, session, rnd, "reveal", await reveal(ctx, session, rnd, contributions)
        )
    elif rnd.kind == RoundKind.CAUSAL:
        await _to_channel(ctx, session, rnd, "reveal", await map_message(ctx, session))
    elif rnd.kind == RoundKind.OVERVIEW:
        await _to_channel(ctx, session, rnd, "reveal", await field_message(ctx.uow, session))
    elif rnd.kind == RoundKind.VOTE:
        await _to_channel(ctx, session, rnd, "reveal", await vote_flow.results(ctx, session, rnd))
    elif rnd.kind == RoundKind.COMMIT:
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


async def _to_channel(ctx: Context, session: Session, rnd: Round, kind: str, msg: Message) -> None:
    await ctx.post(
        Destination.channel(session.team_id), msg, kind=kind, dedupe_key=f"{kind}:{rnd.id}"
    )
