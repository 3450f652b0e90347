"""The App Home: what is mine — open commitments to check in on, and my teams' sessions.

A platform that cannot show the whole Home shows its first blocks and then `left_out`: how
many commitments and sessions it leaves out, and how to see them."""

from __future__ import annotations

from collections.abc import Sequence

from handlers import dashboard
from handlers.commitments import check_in_buttons, commitment_line
from handlers.context import Context
from handlers.conversation import Router, no_args
from handlers.messages import Action, Block, Bullets, Choices, Heading, Message, Text, message
from prompts.catalog import t


async def home(ctx: Context) -> None:
    """What is mine: open commitments to check in on, and the sessions of my teams."""
    blocks: list[Block] = [Heading(ctx.t("people.home_heading", name=ctx.person.display_name))]
    mine = await ctx.uow.commitments.for_person(ctx.person_id)
    blocks.append(Heading(ctx.t("commitments.mine_heading", count=len(mine))))
    for c in mine:
        blocks += [Text(commitment_line(ctx.lang, c)), check_in_buttons(ctx.lang, c)]
    if not mine:
        blocks.append(Text(ctx.t("commitments.none_mine")))
    blocks.append(Heading(ctx.t("people.home_sessions")))
    sessions = []
    for team in await ctx.uow.directory.teams_of(ctx.person_id):
        current = await ctx.uow.sessions.current_for_team(team.id or 0)
        if current is not None:
            status = ctx.t(f"sessions.statuses.{current.status.value}")
            sessions.append(ctx.t("people.home_session", title=current.title, team=team.name,
                                  status=status))  # fmt: skip
    # One Bullets block of all sessions: `left_out` counts its items.
    blocks.append(Bullets(tuple(sessions)) if sessions else Text(ctx.t("people.home_none")))
    if dashboard.configured() is not None:  # the web view is served: a button for its link
        blocks.append(Choices((Action("dashboard", ctx.t("web.home_button"), "link"),)))
    ctx.reply(message(*blocks))


def left_out(lang: str, hidden: Sequence[Block]) -> Message:
    """What to say instead of the Home's `hidden` blocks: each commitment there has its
    check-in buttons, the sessions are one list (the layout `home` makes)."""
    commitments = sum(
        isinstance(b, Choices) and any(a.id == "checkin" for a in b.actions) for b in hidden
    )
    sessions = sum(len(b.items) for b in hidden if isinstance(b, Bullets))
    return message(Text(t(lang, "people.home_more", commitments=commitments, sessions=sessions)))


router = Router()
router.command("home", listed=False)(no_args(home))
