"""Finding the session and round a person is acting on, and naming rounds in a language."""

from __future__ import annotations

from collections.abc import Sequence

from handlers.context import Context, Refusal
from handlers.model import Round, RoundKind, RoundStatus, Session, SessionStatus, id_of
from prompts.catalog import LANGUAGES, t


def round_title(lang: str, rnd: Round) -> str:
    return t(lang, f"rounds.{rnd.name}.title")


def category_label(lang: str, rnd: Round, category: str) -> str:
    if not category:
        return t(lang, "rounds.no_category")
    return t(lang, f"rounds.{rnd.name}.categories.{category}")


async def require_session(ctx: Context) -> Session:
    """The team's current session (draft or running)."""
    session = await ctx.uow.sessions.current_for_team(ctx.team_id)
    if session is None:
        raise Refusal("errors.no_session")
    return session


async def require_running_session(ctx: Context) -> Session:
    session = await require_session(ctx)
    if session.status != SessionStatus.OPEN:
        raise Refusal("errors.session_not_started")
    return session


async def current_round(ctx: Context, session: Session) -> Round | None:
    for rnd in await ctx.uow.sessions.rounds(id_of(session)):
        if rnd.status == RoundStatus.OPEN:
            return rnd
    return None


async def require_open_round(ctx: Context, kinds: Sequence[RoundKind]) -> tuple[Session, Round]:
    """The team's running session and its open round, which must be of one of `kinds`."""
    found = await ctx.uow.sessions.open_round(ctx.team_id)
    if found is None:
        await require_running_session(ctx)  # says why: no session, or not started yet
        raise Refusal("errors.no_open_round")
    session, rnd = found
    if rnd.kind not in kinds:
        raise Refusal("errors.wrong_round", title=round_title(ctx.lang, rnd))
    return session, rnd


def split_category(rnd: Round, text: str) -> tuple[str, str]:
    """`"stop: the long meetings"` -> ("stop", "the long meetings") when `stop` is a category
    of the round, by its key or its label in any language; otherwise no category."""
    head, sep, rest = text.partition(":")
    if not sep or not rnd.categories:
        return "", text
    wanted = head.strip().casefold()
    for category in rnd.categories:  # by its key first: no labels to render for "stop: …"
        if wanted in (category.casefold(), category.replace("_", " ").casefold()):
            return category, rest.strip()
    for category in rnd.categories:
        if wanted in {category_label(lang, rnd, category).casefold() for lang in LANGUAGES}:
            return category, rest.strip()
    return "", text
