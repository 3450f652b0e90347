"""Dot voting: each person spreads a small budget of dots over the themes. Counts are shown,
never who voted for what."""

from __future__ import annotations

from collections import Counter

from handlers.context import Context, Refusal
from handlers.conversation import Router
from handlers.lookup import require_open_round
from handlers.messages import Action, Choices, Heading, Message, Text, message
from handlers.model import Round, RoundKind, Session, Theme, Vote, id_of
from prompts.catalog import t

MAX_DOTS_AT_ONCE = 10


async def themes_for(ctx: Context, session: Session, vote_round: Round) -> list[Theme]:
    """The themes of the last group round before this vote."""
    groups = [
        r
        for r in await ctx.uow.sessions.rounds(id_of(session))
        if r.kind == RoundKind.GROUP and r.position < vote_round.position
    ]
    if not groups:
        return []
    return list(await ctx.uow.sessions.themes(id_of(groups[-1])))


async def tally(ctx: Context, vote_round: Round) -> Counter[int]:
    counts: Counter[int] = Counter()
    counts.update(await ctx.uow.sessions.vote_counts(id_of(vote_round)))
    return counts


async def ballot(ctx: Context, session: Session, vote_round: Round) -> Message:
    """The themes with a vote button each and the dots so far (counts only)."""
    lang = session.locale
    themes = await themes_for(ctx, session, vote_round)
    counts = await tally(ctx, vote_round)
    blocks: list = [Text(t(lang, "votes.intro", budget=session.vote_budget))]
    for theme in themes:
        blocks.append(
            Text(
                t(
                    lang,
                    "votes.line",
                    number=theme.position,
                    title=theme.title,
                    dots=counts[theme.id or 0],
                )
            )
        )
    if themes:
        blocks.append(
            Choices(
                tuple(
                    Action(
                        "vote",
                        t(lang, "votes.button", number=theme.position),
                        f"{vote_round.id}:{theme.position}",
                    )
                    for theme in themes
                )
            )
        )
    else:
        blocks.append(Text(t(lang, "themes.none")))
    return message(*blocks)


def _parse(args: str) -> tuple[str, str, int]:
    """`"3"`, `"3 2"` (two dots) or a button value `"<round id>:3"`."""
    parts = args.split()
    if not parts or len(parts) > 2:
        raise Refusal("errors.vote_usage")
    round_ref, _, number = parts[0].rpartition(":")
    try:
        dots = int(parts[1]) if len(parts) == 2 else 1
    except ValueError:
        raise Refusal("errors.vote_usage") from None
    if not 1 <= dots <= MAX_DOTS_AT_ONCE:
        raise Refusal("errors.vote_usage")
    return round_ref, number, dots


async def cast(ctx: Context, args: str, *, remove: bool = False) -> None:
    session, rnd = await require_open_round(ctx, (RoundKind.VOTE,))
    round_ref, number, dots = _parse(args)
    if round_ref and round_ref != str(rnd.id):
        raise Refusal("errors.round_closed")  # a button from an earlier vote
    theme = next(
        (th for th in await themes_for(ctx, session, rnd) if str(th.position) == number), None
    )
    if theme is None or theme.id is None or rnd.id is None:
        raise Refusal("errors.unknown_theme", number=number[:20])
    # Two quick clicks of one person must not both spend the last dot.
    assert ctx.membership is not None
    await ctx.uow.lock(ctx.membership)
    mine = list(await ctx.uow.sessions.votes_of(rnd.id, ctx.person_id))
    used = sum(v.dots for v in mine)
    existing = next((v for v in mine if v.theme_id == theme.id), None)
    if remove:
        if existing is None:
            raise Refusal("errors.no_vote_to_remove", number=theme.position)
        taken = min(dots, existing.dots)
        existing.dots -= taken
        if existing.dots == 0:
            await ctx.uow.delete(existing)
        await ctx.uow.flush()  # the ballot counts the dots in the database
        ctx.replace(await ballot(ctx, session, rnd))
        ctx.say("votes.removed", number=theme.position, left=session.vote_budget - used + taken)
        return
    if used + dots > session.vote_budget:
        raise Refusal(
            "errors.over_budget", budget=session.vote_budget, left=session.vote_budget - used
        )
    if existing is None:
        ctx.uow.add(Vote(rnd.id, ctx.person_id, theme.id, dots))
    else:
        existing.dots += dots
    await ctx.uow.flush()  # the ballot counts the dots in the database
    # The ballot the vote came from shows the new counts (never who voted).
    ctx.replace(await ballot(ctx, session, rnd))
    ctx.say(
        "votes.cast",
        number=theme.position,
        title=theme.title,
        dots=dots,
        left=session.vote_budget - used - dots,
    )


async def results(ctx: Context, session: Session, vote_round: Round) -> Message:
    """The themes, most dots first: what the team chose to work on."""
    lang = session.locale
    counts = await tally(ctx, vote_round)
    ranked = sorted(
        await themes_for(ctx, session, vote_round),
        key=lambda th: (-counts[th.id or 0], th.position),
    )
    blocks: list = [Heading(t(lang, "votes.results_heading"))]
    blocks += [
        Text(t(lang, "votes.result_line", rank=i, title=th.title, dots=counts[th.id or 0]))
        for i, th in enumerate(ranked, start=1)
    ]
    if ranked:
        blocks.append(Text(t(lang, "votes.team_chose", title=ranked[0].title)))
    return message(*blocks)


router = Router()
router.command("vote")(cast)
router.action("vote")(cast)


@router.command("unvote")
async def _unvote(ctx: Context, args: str) -> None:
    await cast(ctx, args, remove=True)
