"""A session's life: a coordinator creates and starts it, rounds follow one another, and it
closes with the team's summary. Only coordinators steer; everyone can see where it stands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from handlers import assist
from handlers import rounds as round_flow
from handlers.commitments import review
from handlers.context import MAX_TITLE, Context, Refusal, clean_text, yes_or_no
from handlers.conversation import Router, no_args
from handlers.lookup import current_round, require_running_session, require_session, round_title
from handlers.messages import (
    DateTimeInput,
    Destination,
    Fields,
    Form,
    Heading,
    Option,
    PeopleInput,
    Select,
    Text,
    TextInput,
    message,
)
from handlers.model import (
    Role,
    Round,
    RoundKind,
    RoundStatus,
    Series,
    Session,
    SessionStatus,
    id_of,
)
from handlers.people import ensure_members
from handlers.reports import summary_message
from handlers.when import parse_moment
from prompts.catalog import LANGUAGES, language, t
from prompts.formats import SessionFormat, custom_format, formats

MAX_VOTE_BUDGET = 20
# How long each round stays open, in days, when the session is planned ahead.
ROUND_LENGTHS = {"1": 1, "2": 2, "3": 3, "7": 7}
# Recurring series, as iCalendar RRULEs (the scheduler reads them).
RECURRENCES = {
    "none": "",
    "weekly": "FREQ=WEEKLY;INTERVAL=1",
    "biweekly": "FREQ=WEEKLY;INTERVAL=2",
    "monthly": "FREQ=MONTHLY;INTERVAL=1",
}


def _format(values: dict[str, str]) -> SessionFormat:
    key = values.get("format", "").strip().lower() or "retro"
    if key == "custom":
        names = [n.strip() for n in values.get("rounds", "").replace(",", " ").split() if n]
        chosen = custom_format(names)
        if chosen is None:
            raise Refusal("errors.unknown_rounds")
        return chosen
    if key not in formats():
        raise Refusal("errors.unknown_format", formats=", ".join(sorted(formats())))
    return formats()[key]


def _flag(values: dict[str, str], name: str, default: bool) -> bool:
    word = values.get(name, "").strip()
    if not word:
        return default
    answer = yes_or_no(word)
    if answer is None:
        raise Refusal("errors.yes_or_no", field=name)
    return answer


def _budget(values: dict[str, str]) -> int:
    word = values.get("vote_budget", "").strip() or "3"
    if not word.isdigit() or not 1 <= int(word) <= MAX_VOTE_BUDGET:
        raise Refusal("errors.vote_budget", maximum=MAX_VOTE_BUDGET)
    return int(word)


def _starts_at(values: dict[str, str], ctx: Context) -> datetime | None:
    """A date and time as people type it, in their own zone (handlers/when.py; a platform's
    picker is translated by its adapter); not past. What was understood is said back."""
    word = values.get("starts_at", "").strip()
    if not word:
        return None
    understood = parse_moment(word, ctx.person.timezone, ctx.now)
    when = understood.moment
    if when < ctx.now - timedelta(minutes=5):
        raise Refusal("errors.start_in_past")
    ctx.say("when.check", when=understood.text(ctx.lang))
    return when


def _round_length(values: dict[str, str]) -> timedelta | None:
    word = values.get("round_length", "").strip()
    if not word:
        return None
    if word not in ROUND_LENGTHS:
        raise Refusal("errors.unknown_round_length")
    return timedelta(days=ROUND_LENGTHS[word])


def new_session_form(lang: str) -> Form:
    """What a coordinator fills in; Slack shows it as a modal, Teams as a card."""
    fmt_options = tuple(Option(key, t(lang, f"formats.{key}")) for key in sorted(formats()))
    return Form(
        "new_session",
        t(lang, "sessions.form_title"),
        (
            TextInput("title", t(lang, "sessions.title_label"), max_length=MAX_TITLE),
            TextInput(
                "question", t(lang, "sessions.question_label"), multiline=True, max_length=1000
            ),
            Select("format", t(lang, "sessions.format_label"), fmt_options),
            Select(
                "language",
                t(lang, "sessions.language_label"),
                tuple(Option(code, t(lang, f"languages.{code}")) for code in LANGUAGES),
            ),
            Select(
                "anonymous",
                t(lang, "sessions.anonymous_label"),
                (Option("yes", t(lang, "sessions.yes")), Option("no", t(lang, "sessions.no"))),
            ),
            PeopleInput("members", t(lang, "sessions.members_label")),
            DateTimeInput("starts_at", t(lang, "sessions.starts_at_label")),
            Select(
                "round_length",
                t(lang, "sessions.round_length_label"),
                tuple(Option(k, t(lang, f"sessions.round_lengths.{k}")) for k in ROUND_LENGTHS),
                optional=True,
            ),
            Select(
                "recurrence",
                t(lang, "sessions.recurrence_label"),
                tuple(Option(key, t(lang, f"sessions.recurrences.{key}")) for key in RECURRENCES),
                optional=True,
            ),
        ),
        t(lang, "sessions.create"),
    )


async def create(ctx: Context, values: dict[str, str]) -> None:
    """A new session for the team, in draft until a coordinator starts it."""
    if await ctx.uow.sessions.current_for_team(ctx.team_id) is not None:
        raise Refusal("errors.session_exists")
    title = clean_text(values.get("title", ""), MAX_TITLE)
    question = clean_text(values.get("question", ""), 1000)
    fmt = _format(values)
    lang_word = values.get("language", "").strip().lower()
    if lang_word and lang_word not in LANGUAGES:
        raise Refusal("errors.unknown_language", languages=", ".join(LANGUAGES))
    recurrence = values.get("recurrence", "").strip() or "none"
    if recurrence not in RECURRENCES:
        raise Refusal("errors.unknown_recurrence")
    rule = values.get("rrule", "").strip().removeprefix("RRULE:") or RECURRENCES[recurrence]
    starts_at = _starts_at(values, ctx)
    series_id = None
    if rule:
        timezone = ctx.person.timezone
        anchored = series_rule(rule, starts_at or ctx.now, timezone)
        try:
            next_occurrence(anchored, ctx.now)
        except (ValueError, TypeError):
            raise Refusal("errors.unknown_recurrence") from None
        series_id = await ctx.uow.store(
            Series(ctx.team_id, title, fmt.key, anchored[:512], timezone)
        )
    session = Session(
        team_id=ctx.team_id,
        title=title,
        question=question,
        format=fmt.key,
        created_by=ctx.person_id,
        locale=language(lang_word or ctx.workspace.locale),
        anonymous=_flag(values, "anonymous", True),
        vote_budget=_budget(values),
        starts_at=starts_at,
        series_id=series_id,
        created_at=ctx.now,
    )
    session_id = await ctx.uow.store(session)
    members = values.get("members", "").replace(",", " ").split()
    if not members:  # nobody chosen: the channel's people, as the platform says
        members = [pid for pid, _name in await ctx.roster(ctx.require_team().channel_id)]
    await ensure_members(ctx, members)
    length = _round_length(values)
    for position, spec in enumerate(fmt.rounds, start=1):
        rnd = Round(
            session_id,
            position,
            RoundKind(spec.kind),
            spec.name,
            list(spec.categories),
            spec.pillar,
        )
        if session.starts_at is not None and length is not None:
            # The plan the scheduler follows: one round after the other.
            rnd.opens_at = session.starts_at + (position - 1) * length
            rnd.closes_at = rnd.opens_at + length
        ctx.uow.add(rnd)
    names = ", ".join(round_title(ctx.lang, r) for r in await _rounds_after_flush(ctx, session_id))
    ctx.say("sessions.created", title=title, rounds=names, count=len(fmt.rounds))


async def _rounds_after_flush(ctx: Context, session_id: int) -> list[Round]:
    await ctx.uow.flush()  # the rounds just added, as the database orders them
    return list(await ctx.uow.sessions.rounds(session_id))


async def start(ctx: Context) -> None:
    session = await require_session(ctx)
    if session.status != SessionStatus.DRAFT:
        raise Refusal("errors.already_started")
    await begin(ctx, session)
    ctx.say("sessions.started", title=session.title)


async def begin(ctx: Context, session: Session) -> None:
    """The session opens: the welcome, the review of open commitments, the first round."""
    session.status = SessionStatus.OPEN
    lang = session.locale
    rounds = await ctx.uow.sessions.rounds(id_of(session))
    await ctx.post(
        Destination.channel(session.team_id),
        message(
            Heading(t(lang, "sessions.welcome_heading", title=session.title)),
            Fields(((t(lang, "sessions.question_label"), session.question),)),
            Text(t(lang, "sessions.welcome", rounds=len(rounds))),
        ),
        kind="session_open",
        dedupe_key=f"session-open:{session.id}",
    )
    await review(ctx, session)
    await round_flow.open_round(ctx, session, rounds[0], len(rounds))


async def advance(ctx: Context) -> None:
    """Close the open round (its reveal goes to the channel) and open the next one."""
    session = await require_running_session(ctx)
    opened = await advance_session(ctx, session)
    if opened is not None:
        ctx.say("sessions.advanced", title=round_title(ctx.lang, opened))


async def advance_session(ctx: Context, session: Session) -> Round | None:
    """Close the open round and open the next; the last closes the session. The new round."""
    rounds = list(await ctx.uow.sessions.rounds(id_of(session)))
    current = await current_round(ctx, session)
    if current is not None:
        await round_flow.close_round(ctx, session, current)
        await ctx.uow.flush()  # closed, for the queries that follow
    upcoming = [r for r in rounds if r.status == RoundStatus.PENDING]
    if not upcoming:
        await _finish(ctx, session)
        return None
    await round_flow.open_round(ctx, session, upcoming[0], len(rounds))
    return upcoming[0]


async def end(ctx: Context) -> None:
    session = await require_session(ctx)
    current = await current_round(ctx, session)
    if current is not None:
        await round_flow.close_round(ctx, session, current)
        await ctx.uow.flush()  # closed, for the queries that follow
    await _finish(ctx, session)


async def _finish(ctx: Context, session: Session) -> None:
    session_id = id_of(session)
    for rnd in await ctx.uow.sessions.rounds(session_id):
        if rnd.status == RoundStatus.PENDING:
            rnd.status = RoundStatus.CLOSED
    session.status = SessionStatus.CLOSED
    session.closed_at = ctx.now
    await ctx.uow.flush()  # closed, for the queries that follow
    await plan_next_in_series(ctx, session)
    await ctx.post(
        Destination.channel(session.team_id),
        await summary_message(ctx.uow, session, bounds=ctx.bounds),
        kind="summary",
        dedupe_key=f"summary:{session.id}",
    )
    await assist.after_session(ctx, session)
    # Last: the reveal and summary above still count authors; nothing after close needs them.
    await ctx.uow.flush()  # all written before the statement that drops the authors
    await ctx.uow.sessions.forget_authors(session_id)
    ctx.say("sessions.closed", title=session.title)


def series_rule(rule: str, start: datetime, timezone: str) -> str:
    """An RRULE anchored at the first session's local start (kept in local time across DST)."""
    local = start.astimezone(ZoneInfo(timezone))
    return f"DTSTART;TZID={timezone}:{local:%Y%m%dT%H%M%S}\nRRULE:{rule}"


def next_occurrence(rule: str, after: datetime) -> datetime | None:
    """The series' next start after `after`, in UTC."""
    found = rrulestr(rule).after(after.astimezone(UTC), inc=False)
    return None if found is None else found.astimezone(UTC)


async def plan_next_in_series(ctx: Context, session: Session) -> Session | None:
    """When a session of a series closes, the next one is prepared for its date, with the same
    question, format, people and round plan; the schedule starts it then."""
    if session.series_id is None or session.starts_at is None:
        return None
    series = await ctx.uow.get(Series, session.series_id)
    if series is None or not series.rrule.startswith("DTSTART"):
        return None
    when = next_occurrence(series.rrule, max(session.starts_at, ctx.now))
    if when is None:
        return None
    follow = Session(
        team_id=session.team_id,
        title=session.title,
        question=session.question,
        format=session.format,
        created_by=session.created_by,
        locale=session.locale,
        anonymous=session.anonymous,
        vote_budget=session.vote_budget,
        starts_at=when,
        series_id=session.series_id,
        created_at=ctx.now,
    )
    follow_id = await ctx.uow.store(follow)
    for rnd in await ctx.uow.sessions.rounds(id_of(session)):
        planned = Round(
            follow_id, rnd.position, rnd.kind, rnd.name, list(rnd.categories), rnd.pillar
        )
        if rnd.opens_at and rnd.closes_at and session.starts_at:
            planned.opens_at = when + (rnd.opens_at - session.starts_at)
            planned.closes_at = when + (rnd.closes_at - session.starts_at)
        ctx.uow.add(planned)
    return follow


async def status(ctx: Context) -> None:
    """Where the session stands; counts only, never who has or has not answered."""
    session = await _latest_session(ctx)
    rounds = await ctx.uow.sessions.rounds(id_of(session))
    current = await current_round(ctx, session)
    pairs = [
        (ctx.t("sessions.question_label"), session.question),
        (ctx.t("sessions.status_label"), ctx.t(f"sessions.statuses.{session.status.value}")),
    ]
    if current is not None:
        pairs.append(
            (
                ctx.t("sessions.round_label"),
                ctx.t(
                    "sessions.round_value",
                    position=current.position,
                    total=len(rounds),
                    title=round_title(ctx.lang, current),
                ),
            )
        )
    blocks: list = [Heading(session.title), Fields(tuple(pairs))]
    if current is not None and current.kind in (RoundKind.CHECKIN, RoundKind.REFLECT):
        authors = {c.author_id for c in await ctx.uow.sessions.contributions([id_of(current)])}
        members = await ctx.uow.directory.members(session.team_id)
        blocks.append(
            Text(ctx.t("sessions.shared_count", shared=len(authors), members=len(members)))
        )
    ctx.reply(message(*blocks))


async def summary(ctx: Context) -> None:
    session = await _latest_session(ctx)
    ctx.reply(await summary_message(ctx.uow, session, ctx.lang, ctx.bounds))


async def _latest_session(ctx: Context) -> Session:
    sessions = await ctx.uow.sessions.for_team(ctx.team_id)
    if not sessions:
        raise Refusal("errors.no_session")
    return sessions[-1]


router = Router()


@router.command("new", role=Role.COORDINATOR, form="new_session")
@router.action("new", role=Role.COORDINATOR)
async def _new(ctx: Context, _args: str) -> None:
    ctx.open(new_session_form(ctx.lang))


@router.form("new_session", build=new_session_form, static=True, role=Role.COORDINATOR)
async def _create(ctx: Context, values: dict[str, str], _context: str) -> None:
    await create(ctx, values)


router.command("start", role=Role.COORDINATOR)(no_args(start))
router.command("next", role=Role.COORDINATOR)(no_args(advance))
router.command("end", role=Role.COORDINATOR)(no_args(end))
router.command("status", in_dm=True)(no_args(status))
router.command("summary", in_dm=True)(no_args(summary))
