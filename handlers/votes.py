"""Dot voting: each person spreads a small budget of dots over the themes. Counts are shown,
never who voted for what.

The ballot is a sequence of pages, each a message of its own with its themes and their
buttons, small enough for one Slack message and one Teams card. A vote replaces the page that
holds its theme, with the new counts: every platform updates the message clicked, whole."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from handlers.context import Context, Refusal
from handlers.conversation import Router
from handlers.lookup import require_open_round, round_title
from handlers.messages import Action, Block, Choices, Heading, Message, Text, message
from handlers.model import Round, RoundKind, Session, Theme, Vote, id_of
from prompts.catalog import t

MAX_DOTS_AT_ONCE = 10
# Themes on one page: ten lines and ten buttons stay far inside a Slack message (50 blocks,
# bot/slack/limits.py) and a Teams card (bot/teams/cards.py CARD_BUDGET) whatever the titles.
THEMES_PER_PAGE = 10


async def themes_for(ctx: Context, session: Session, vote_round: Round) -> list[Theme]:
    """The themes of the last group round before this vote."""
    return (await ctx.uow.sessions.ballot(id_of(session), vote_round.position))[1]


async def tally(ctx: Context, vote_round: Round) -> Counter[int]:
    counts: Counter[int] = Counter()
    counts.update(await ctx.uow.sessions.vote_counts(id_of(vote_round)))
    return counts


async def ballot(ctx: Context, session: Session, vote_round: Round) -> list[Message]:
    """The ballot's pages, with the dots so far."""
    total, themes = await ctx.uow.sessions.ballot(id_of(session), vote_round.position)
    return pages(session, vote_round, total, themes, await tally(ctx, vote_round))


def pages(
    session: Session, vote_round: Round, total: int, themes: Sequence[Theme], counts: Counter[int]
) -> list[Message]:
    """The themes with a vote button each and their dots (counts only), `THEMES_PER_PAGE` a
    page. The first page opens with the round's heading (of `total`) and how voting works."""
    lang = session.locale
    title = round_title(lang, vote_round)
    opening: list[Block] = [
        Heading(t(lang, "rounds.opened", position=vote_round.position, total=total, title=title)),
        Text(t(lang, "votes.intro", budget=session.vote_budget)),
    ]
    parts = [themes[i : i + THEMES_PER_PAGE] for i in range(0, len(themes), THEMES_PER_PAGE)]
    if not parts:
        return [message(*opening, Text(t(lang, "themes.none")))]
    out = []
    for number, on_page in enumerate(parts, start=1):
        blocks = list(opening) if number == 1 else []
        if len(parts) > 1:
            first, last = on_page[0].position, on_page[-1].position
            blocks.append(
                Text(t(lang, "votes.page", page=number, pages=len(parts), first=first, last=last))
            )
        blocks += [
            Text(t(lang, "votes.line", number=th.position, title=th.title, dots=counts[th.id or 0]))
            for th in on_page
        ]
        blocks.append(
            Choices(
                tuple(
                    Action(
                        "vote",
                        t(lang, "votes.button", number=th.position),
                        f"{vote_round.id}:{th.position}",
                    )
                    for th in on_page
                )
            )
        )
        out.append(message(*blocks))
    return out


def page_of(
    session: Session,
    vote_round: Round,
    total: int,
    themes: Sequence[Theme],
    counts: Counter[int],
    theme: Theme,
) -> Message:
    """The page of the ballot that holds `theme`: what replaces the page a vote came from (the
    button's value names the theme, so the core knows the page)."""
    index = next(i for i, th in enumerate(themes) if th.id == theme.id)
    return pages(session, vote_round, total, themes, counts)[index // THEMES_PER_PAGE]


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
    # A vote comes in bursts (a whole team at once) and people wait for it in the card: the
    # ballot and the dots are one read each, and the new page is drawn from the counts read
    # before the change plus the change itself, not read again.
    session, rnd = await require_open_round(ctx, (RoundKind.VOTE,))
    round_ref, number, dots = _parse(args)
    if round_ref and round_ref != str(rnd.id):
        raise Refusal("errors.round_closed")  # a button from an earlier vote
    total, themes = await ctx.uow.sessions.ballot(id_of(session), rnd.position)
    theme = next((th for th in themes if str(th.position) == number), None)
    if theme is None or theme.id is None or rnd.id is None:
        raise Refusal("errors.unknown_theme", number=number[:20])
    # One vote of a round at a time: two quick clicks of one person must not both spend the
    # last dot, and each new page must count every vote stored before it (votes that read the
    # counts side by side drew pages that missed each other, and the last one sent stayed).
    await ctx.uow.lock(rnd)
    everyone, mine = await ctx.uow.sessions.dots(rnd.id, ctx.person_id)  # after the lock
    counts, used, had = Counter(everyone), sum(mine.values()), mine.get(theme.id, 0)
    if remove:
        if not had:
            raise Refusal("errors.no_vote_to_remove", number=theme.position)
        taken = min(dots, had)
        await ctx.uow.sessions.set_dots(rnd.id, ctx.person_id, theme.id, had - taken)
        counts[theme.id] -= taken
        ctx.replace(page_of(session, rnd, total, themes, counts, theme))
        ctx.say(
            "votes.removed",
            number=theme.position,
            dots=taken,
            left=session.vote_budget - used + taken,
        )
        return
    if used + dots > session.vote_budget:
        raise Refusal(
            "errors.over_budget", budget=session.vote_budget, left=session.vote_budget - used
        )
    if had:
        await ctx.uow.sessions.set_dots(rnd.id, ctx.person_id, theme.id, had + dots)
    else:
        ctx.uow.add(Vote(rnd.id, ctx.person_id, theme.id, dots))
        await ctx.uow.flush()
    counts[theme.id] += dots
    # The page the vote came from shows the new counts (never who voted).
    ctx.replace(page_of(session, rnd, total, themes, counts, theme))
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
