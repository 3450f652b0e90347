"""`export` in chat: a coordinator asks for the team's summary as a file, sent to their DM.

The DM names what to export, not the file: the adapter renders it when it sends, from the state
then, like a nudge. Chat exports are always pseudonymised; names are a deliberate command-line
decision (`coulisse export --names`), never something a chat message can ask for.
"""

from __future__ import annotations

import json
import uuid

from handlers.context import Context, Refusal
from handlers.conversation import Router
from handlers.messages import Destination, Export, message
from handlers.model import Role, Series, Session, id_of
from handlers.reports import session_to_summarise
from prompts.catalog import LANGUAGES, words

FORMATS = ("pdf", "docx", "html", "md", "csv", "json")  # what bot.export renders; pdf first
DEFAULT_FORMAT = "pdf"


def parse(args: str) -> tuple[str, bool]:
    """`docx reeks` -> ("docx", True): the format (or its everyday name) and whether the
    series is meant, in any order and either language; anything else is refused politely."""
    fmt, series = DEFAULT_FORMAT, False
    for word in args.casefold().replace(",", " ").split():
        word = word.lstrip(".")
        if word in FORMATS:
            fmt = word
        elif named := _format_named(word):
            fmt = named
        elif any(word in words(lang, "exporting.series_words") for lang in LANGUAGES):
            series = True
        else:
            raise Refusal("exporting.unknown_format", word=word[:40], formats=", ".join(FORMATS))
    return fmt, series


def _format_named(word: str) -> str | None:
    for fmt in FORMATS:
        if any(word in words(lang, f"exporting.format_words.{fmt}") for lang in LANGUAGES):
            return fmt
    return None


async def _latest_session(ctx: Context) -> Session:
    """The running session, else the last one that took place: what `summary` shows."""
    session = await session_to_summarise(ctx.uow, ctx.team_id)
    if session is None:
        raise Refusal("exporting.nothing")
    return session


async def export(ctx: Context, args: str) -> None:
    """`export [format] [series]`: the summary goes to the coordinator's direct messages."""
    fmt, series = parse(args)
    session = await _latest_session(ctx)
    if series and session.series_id is None:
        raise Refusal("exporting.no_series", title=session.title)
    block = (
        Export("series", session.series_id, fmt)
        if series and session.series_id is not None
        else Export("session", id_of(session), fmt)
    )
    await ctx.post(
        Destination.dm(ctx.person_id),
        message(block),
        kind="export",
        # One file per request (asked twice in one second: twice); a retried delivery of the
        # same request never gets this far (the inbox).
        dedupe_key=f"export:{ctx.person_id}:{uuid.uuid4().hex}",
    )
    what = "series" if block.kind == "series" else "session"
    ctx.say(f"exporting.sending_{what}", title=session.title, fmt=fmt.upper())


async def confirm(ctx: Context, value: str) -> None:
    """A platform asks again, just before it hands over the file (Teams, once the person
    accepted it): is this person still a coordinator of the team the export is about?"""
    try:
        ref = json.loads(value)
        kind, target, fmt = str(ref["kind"]), int(ref["id"]), str(ref["fmt"])
        lang = str(ref.get("lang", ""))
        if lang and lang not in LANGUAGES:
            raise ValueError(lang)
    except (ValueError, KeyError, TypeError):
        raise Refusal("errors.unknown_action") from None
    if kind not in ("session", "series") or fmt not in FORMATS:
        raise Refusal("errors.unknown_action")
    owner = await (
        ctx.uow.get(Series, target) if kind == "series" else ctx.uow.get(Session, target)
    )
    if owner is None:
        raise Refusal("exporting.gone")
    membership = await ctx.uow.directory.membership(owner.team_id, ctx.person_id)
    if membership is None or membership.role != Role.COORDINATOR:
        raise Refusal("errors.coordinators_only")
    ctx.reply(message(Export("series" if kind == "series" else "session", target, fmt, lang)))


async def declined(ctx: Context, _value: str) -> None:
    """The person said no to the file (Teams asks before it puts one in their OneDrive)."""
    ctx.say("exporting.declined")


def _is_export(args: str) -> bool:
    """`export docx`, `exporteer reeks`: a format or the series, not a sentence."""
    try:
        parse(args)
    except Refusal:
        return False
    return True


router = Router()
router.command("export", role=Role.COORDINATOR, in_dm=_is_export)(export)
router.action("export_file")(confirm)
router.action("export_declined")(declined)
