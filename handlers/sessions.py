"""A session's life: a coordinator creates it, live (started and moved on in a meeting) or
async (on a plan over working days); rounds follow one another, and it closes with the team's
summary, or as "did not take place" when nobody took part. Only coordinators steer; everyone
can see where it stands. Series: handlers/series.py; async plans: handlers/plan.py."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from handlers import assist
from handlers import rounds as round_flow
from handlers import series as series_flow
from handlers.commitments import review
from handlers.context import MAX_TITLE, Context, Refusal, clean_text, record_id, yes_or_no
from handlers.conversation import Router, no_args
from handlers.etiquette import Etiquette
from handlers.lookup import current_round, require_running_session, require_session, round_title
from handlers.messages import (
    DateInput,
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
    Person,
    Role,
    Round,
    RoundKind,
    RoundStatus,
    Series,
    Session,
    SessionMode,
    SessionStatus,
    id_of,
)
from handlers.nudges import etiquette_of
from handlers.people import ensure_members
from handlers.plan import WORKING_DAYS, moment_text, move_text, team_calendar, why_not_working
from handlers.reports import session_to_summarise, snapshot_map, summary_message, took_part
from handlers.series import RECURRENCES, next_occurrence, series_rule
from handlers.when import parse_day, parse_moment
from prompts.catalog import LANGUAGES, language, t, words
from prompts.formats import SessionFormat, custom_format, formats

MAX_VOTE_BUDGET = 20
# How long each round stays open when the session runs async (in working days: plan.py).
ROUND_LENGTHS = WORKING_DAYS
MODES = tuple(m.value for m in SessionMode)


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


def _round_days(values: dict[str, str]) -> int | None:
    """Working days per round (async), or None when not given."""
    word = values.get("round_length", "").strip()
    if not word:
        return None
    if word not in ROUND_LENGTHS:
        raise Refusal("errors.unknown_round_length")
    return ROUND_LENGTHS[word]


def _mode(values: dict[str, str], planned: bool) -> SessionMode:
    """`live` (in a meeting, moved on by `next`) or `async` (on a plan); by default async
    when a round length is given, live otherwise."""
    word = values.get("mode", "").strip().casefold()
    if not word:
        return SessionMode.ASYNC if planned else SessionMode.LIVE
    for mode in SessionMode:
        names = {mode.value} | {
            w.casefold() for lang in LANGUAGES for w in words(lang, f"sessions.mode_words.{mode}")
        }
        if word in names:
            return mode
    raise Refusal("sessions.unknown_mode")


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
            Select(
                "mode",
                t(lang, "sessions.mode_label"),
                tuple(Option(m, t(lang, f"sessions.modes.{m}")) for m in MODES),
                optional=True,
            ),
            Select(
                "on_holiday",
                t(lang, "sessions.on_holiday_label"),
                tuple(
                    Option(key, t(lang, f"sessions.on_holiday.{key}"))
                    for key in series_flow.ON_HOLIDAY
                ),
                optional=True,
            ),
        ),
        t(lang, "sessions.create"),
    )


async def create(ctx: Context, values: dict[str, str]) -> None:
    """A new session for the team, in draft until a coordinator starts it (live) or its time
    comes (async). Everything is checked before anything is stored; the reply shows the plan."""
    if await ctx.uow.sessions.current_for_team(ctx.team_id) is not None:
        raise Refusal("errors.session_exists")
    title = clean_text(values.get("title", ""), MAX_TITLE)
    question = clean_text(values.get("question", ""), 1000)
    fmt = _format(values)
    lang_word = values.get("language", "").strip().lower()
    if lang_word and lang_word not in LANGUAGES:
        raise Refusal("errors.unknown_language", languages=", ".join(LANGUAGES))
    recurrence = series_flow.recurrence_of(values.get("recurrence", ""))
    on_holiday = series_flow.holiday_rule_of(values.get("on_holiday", ""))
    rule = values.get("rrule", "").strip().removeprefix("RRULE:") or RECURRENCES[recurrence]
    starts_at = _starts_at(values, ctx)
    days = _round_days(values)
    mode = _mode(values, planned=days is not None)
    if rule and starts_at is None:
        # A series repeats from its first session's time: without one it could never repeat.
        raise Refusal("sessions.series_needs_time")
    if mode == SessionMode.ASYNC and starts_at is None:
        raise Refusal("sessions.async_needs_time")
    anonymous = _flag(values, "anonymous", True)
    budget = _budget(values)
    series_id = None
    timezone = ctx.person.timezone
    if rule:
        assert starts_at is not None
        anchored = series_rule(rule, starts_at, timezone)
        try:
            next_occurrence(anchored, ctx.now)
        except (ValueError, TypeError):
            raise Refusal("errors.unknown_recurrence") from None
        series = Series(ctx.team_id, title, fmt.key, anchored[:512], timezone, on_holiday)
        series.round_days = (days or 1) if mode == SessionMode.ASYNC else None
        series_id = await ctx.uow.store(series)
    session = Session(
        team_id=ctx.team_id,
        title=title,
        question=question,
        format=fmt.key,
        created_by=ctx.person_id,
        locale=language(lang_word or ctx.workspace.locale),
        anonymous=anonymous,
        vote_budget=budget,
        starts_at=starts_at,
        series_id=series_id,
        created_at=ctx.now,
        mode=mode,
        occurrence=starts_at if series_id is not None else None,
    )
    session_id = await ctx.uow.store(session)
    members = values.get("members", "").replace(",", " ").split()
    if not members:  # nobody chosen: the channel's people, as the platform says
        members = [pid for pid, _name in await ctx.roster(ctx.require_team().channel_id)]
    await ensure_members(ctx, members)
    plan = None
    if mode == SessionMode.ASYNC:
        plan = await series_flow.plan_for(ctx, session, len(fmt.rounds), days or 1)
        if plan is None:  # the Refusal rolls everything above back
            raise Refusal("sessions.unplannable")
        session.starts_at = plan.starts_at
    for position, spec in enumerate(fmt.rounds, start=1):
        rnd = Round(
            session_id,
            position,
            RoundKind(spec.kind),
            spec.name,
            list(spec.categories),
            spec.pillar,
        )
        if plan is not None:  # the plan the scheduler follows
            rnd.opens_at, rnd.closes_at = plan.slots[position - 1]
        ctx.uow.add(rnd)
    titles = [round_title(ctx.lang, r) for r in await _rounds_after_flush(ctx, session_id)]
    names = ", ".join(titles)
    lines = [ctx.t("sessions.created", title=title, rounds=names, count=len(fmt.rounds))]
    if plan is not None:  # in the coordinator's words and zone
        lines.append(ctx.t("sessions.created_async", zone=timezone))
        lines += [move_text(ctx.lang, m) for m in plan.moves]
        lines += series_flow.said_plan(ctx.lang, plan, timezone, titles, ctx.now)
    elif starts_at is not None:
        when = moment_text(ctx.lang, starts_at, timezone)
        lines.append(ctx.t("sessions.created_live", when=when))
        await series_flow.plan_reminder(ctx, session)
    if series_id is not None:
        lines.append(ctx.t(f"sessions.created_series.{recurrence}"))
    ctx.reply(message(*(Text(line) for line in lines)))


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
    """Only the running session ends: a prepared one (next week's) is never closed by this."""
    session = await ctx.uow.sessions.current_for_team(ctx.team_id)
    if session is None or session.status != SessionStatus.OPEN:
        raise Refusal("sessions.nothing_to_end")
    await _close(ctx, session)


async def _close(ctx: Context, session: Session) -> bool:
    """What `end` does: the open round's reveal, then the summary; whether it took place."""
    current = await current_round(ctx, session)
    if current is not None:
        await round_flow.close_round(ctx, session, current)
        await ctx.uow.flush()  # closed, for the queries that follow
    return await _finish(ctx, session)


async def close_left_open(ctx: Context, session: Session) -> None:
    """A live session still running at the end of its day (nobody typed `end`) closes as `end`
    would close it, so its series prepares the next one; its coordinator hears of it by DM."""
    held = await _close(ctx, session)
    coordinator = await ctx.uow.get(Person, session.created_by) if session.created_by else None
    if coordinator is None:
        return
    key = "sessions.closed_left_open" if held else "sessions.closed_left_open_not_held"
    await ctx.post(
        Destination.dm(id_of(coordinator)),
        message(Text(t(coordinator.locale, key, title=session.title))),
        kind="closed_left_open",
        dedupe_key=f"closed-left-open:{id_of(session)}",
        due_at=etiquette_of(coordinator, ctx.policy).next_slot(ctx.now),  # in their hours
    )


async def _finish(ctx: Context, session: Session) -> bool:
    session_id = id_of(session)
    for rnd in await ctx.uow.sessions.rounds(session_id):
        if rnd.status == RoundStatus.PENDING:
            rnd.status = RoundStatus.CLOSED
    held = await took_part(ctx.uow, session)
    session.status = SessionStatus.CLOSED if held else SessionStatus.NOT_HELD
    session.closed_at = ctx.now
    # The map as it stands now is this session's for good (its summary and exports).
    session.map_snapshot = await snapshot_map(ctx.uow, session)
    await ctx.uow.flush()  # closed, for the queries that follow
    await series_flow.plan_next(ctx, session)
    if not held:
        # Nothing to sum up: no summary, no empty figures; the coordinator decides what next.
        await series_flow.ask_to_keep(ctx, session)
        ctx.say("sessions.not_held", title=session.title)
        return False
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
    return True


async def not_started(ctx: Context, session: Session) -> None:
    """A live session nobody started by the end of its day did not take place."""
    for rnd in await ctx.uow.sessions.rounds(id_of(session)):
        rnd.status = RoundStatus.CLOSED
    session.status = SessionStatus.NOT_HELD
    session.closed_at = ctx.now
    await ctx.uow.flush()
    await series_flow.plan_next(ctx, session)
    await series_flow.ask_to_keep(ctx, session)


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
    """The running session's summary so far, else the last one that took place; never a
    draft's."""
    session = await session_to_summarise(ctx.uow, ctx.team_id)
    if session is None:
        raise Refusal("sessions.no_summary_yet")
    ctx.reply(await summary_message(ctx.uow, session, ctx.lang, ctx.bounds))


async def _latest_session(ctx: Context) -> Session:
    sessions = await ctx.uow.sessions.for_team(ctx.team_id)
    if not sessions:
        raise Refusal("errors.no_session")
    return sessions[-1]


# --- changing what is planned -----------------------------------------------------------------


def edit_session_form(lang: str, session: Session | None = None) -> Form:
    """A planned session's start, title, question and way of running: filled in with what it
    says now; a field left empty keeps its value."""
    return Form(
        "edit_session",
        t(lang, "sessions.edit_title"),
        (
            DateTimeInput("starts_at", t(lang, "sessions.edit_starts_at_label")),
            TextInput(
                "title",
                t(lang, "sessions.title_label"),
                max_length=MAX_TITLE,
                optional=True,
                value=session.title if session else "",
            ),
            TextInput(
                "question",
                t(lang, "sessions.question_label"),
                multiline=True,
                max_length=1000,
                optional=True,
                value=session.question if session else "",
            ),
            _mode_select(lang),
            _round_length_select(lang),
        ),
        t(lang, "sessions.edit_submit"),
        str(session.id) if session is not None and session.id is not None else "",
    )


def _mode_select(lang: str) -> Select:
    options = tuple(Option(m, t(lang, f"sessions.modes.{m}")) for m in MODES)
    return Select("mode", t(lang, "sessions.mode_label"), options, optional=True)


def _round_length_select(lang: str) -> Select:
    options = tuple(Option(k, t(lang, f"sessions.round_lengths.{k}")) for k in ROUND_LENGTHS)
    return Select("round_length", t(lang, "sessions.round_length_label"), options, optional=True)


async def planned_session(ctx: Context, ref: str) -> Session:
    """The session to change: by its number (a form's context, the web), else the team's own.
    Only one still being prepared changes: a started or closed session is the team's history."""
    if ref.strip():
        number = record_id(ref)
        session = await ctx.uow.get(Session, number) if number is not None else None
        if session is None or session.team_id != ctx.team_id:
            raise Refusal("sessions.no_such_session", number=ref.strip()[:12])
    else:
        found = await ctx.uow.sessions.current_for_team(ctx.team_id)
        if found is None:
            raise Refusal("sessions.nothing_planned")
        session = found
    if session.status != SessionStatus.DRAFT:
        raise Refusal("sessions.edit_started", title=session.title)
    return session


def _text_or(values: dict[str, str], name: str, limit: int, now: str) -> str:
    return clean_text(values[name], limit) if values.get(name, "").strip() else now


def _working_days_of(team: Etiquette, rounds: list[Round]) -> int | None:
    """An async plan's round length: the shortest round, in working days (a move only makes a
    round longer). None when the rounds have no plan (a live session)."""
    lengths = []
    for rnd in rounds:
        if rnd.opens_at is None or rnd.closes_at is None:
            return None
        day, last, count = team.local_day(rnd.opens_at), team.local_day(rnd.closes_at), 0
        while day < last:
            day += timedelta(days=1)
            count += team.is_working_day(day)
        lengths.append(max(count, 1))
    return min(lengths, default=None)


async def replan(ctx: Context, session: Session, days: int) -> list[str]:
    """The session's rounds planned again for its (new) start and mode, with what was queued
    for the old time gone first; the lines that say the new plan to the coordinator."""
    await series_flow.drop_planned(ctx, session)
    rounds = list(await ctx.uow.sessions.rounds(id_of(session)))
    zone = ctx.person.timezone
    if session.mode == SessionMode.ASYNC:
        plan = await series_flow.plan_for(ctx, session, len(rounds), days)
        if plan is None:  # the Refusal rolls everything back
            raise Refusal("sessions.unplannable")
        session.starts_at = plan.starts_at
        for rnd in rounds:
            rnd.opens_at, rnd.closes_at = plan.slots[rnd.position - 1]
        titles = [round_title(ctx.lang, r) for r in rounds]
        lines = [ctx.t("sessions.created_async", zone=zone)]
        lines += [move_text(ctx.lang, m) for m in plan.moves]
        return lines + series_flow.said_plan(ctx.lang, plan, zone, titles, ctx.now)
    for rnd in rounds:
        rnd.opens_at = rnd.closes_at = None  # a live session moves on by `next`
    if session.starts_at is None:
        return [ctx.t("sessions.changed_no_time")]
    await series_flow.plan_reminder(ctx, session, again=True)
    lines = [ctx.t("sessions.created_live", when=moment_text(ctx.lang, session.starts_at, zone))]
    calendar = team_calendar(ctx.workspace, ctx.policy)
    if holiday := why_not_working(calendar, session.starts_at, ctx.lang):
        lines.append(ctx.t("sessions.live_on_holiday", holiday=holiday))
    return lines


async def change_session(ctx: Context, session: Session, values: dict[str, str]) -> None:
    """Another start, title, question or way of running for a planned session. Everything is
    checked before anything changes (a refusal leaves it as it was); its plan, reminder and
    notices move with it; the channel hears of it in the session's language."""
    title = _text_or(values, "title", MAX_TITLE, session.title)
    question = _text_or(values, "question", 1000, session.question)
    starts_at = _starts_at(values, ctx) or session.starts_at
    days = _round_days(values)
    given_mode = values.get("mode", "").strip() or days is not None
    mode = _mode(values, planned=days is not None) if given_mode else SessionMode(session.mode)
    if mode == SessionMode.ASYNC and starts_at is None:
        raise Refusal("sessions.async_needs_time")
    rounds = list(await ctx.uow.sessions.rounds(id_of(session)))
    series = await ctx.uow.get(Series, session.series_id) if session.series_id else None
    calendar = team_calendar(ctx.workspace, ctx.policy)
    days = days or _working_days_of(calendar, rounds) or (series.round_days if series else 1) or 1
    unchanged = (title, question, starts_at, mode) == (
        session.title, session.question, session.starts_at, session.mode,
    ) and not values.get("round_length", "").strip()  # fmt: skip
    if unchanged:
        ctx.say("sessions.unchanged", title=session.title)
        return
    await series_flow.drop_planned(ctx, session)  # under the old start's keys
    session.title, session.question, session.mode = title, question, mode
    session.starts_at = starts_at
    lines = [ctx.t("sessions.changed", title=title)]
    lines += await replan(ctx, session, days)
    ctx.reply(message(*(Text(line) for line in lines)))
    await _announce(ctx, session, "sessions.changed_announce")


async def _announce(ctx: Context, session: Session, key: str, **more: str) -> None:
    """The team hears of a change to what was planned, in the session's language and the
    team's zone (the channel is many people's)."""
    lang = session.locale
    zone = team_calendar(ctx.workspace, ctx.policy).timezone
    when = (
        moment_text(lang, session.starts_at, zone)
        if session.starts_at is not None
        else t(lang, "sessions.when_started")
    )
    mode = t(lang, f"sessions.mode_names.{session.mode}")
    await ctx.post(
        Destination.channel(session.team_id),
        message(Text(t(lang, key, title=session.title, when=when, mode=mode, **more))),
        kind="session_changed",
        dedupe_key=f"session-changed:{id_of(session)}:{ctx.now.isoformat()}",
    )


async def cancel(ctx: Context, ref: str) -> None:
    """A planned session does not take place: its plan and reminders go with it. In a series,
    the next date is prepared in its place, so the series goes on."""
    session = await planned_session(ctx, ref)
    await series_flow.drop_planned(ctx, session)
    follow = await series_flow.plan_next(ctx, session)
    await _announce(ctx, session, "sessions.cancelled_announce")
    await ctx.uow.delete(session)
    ctx.say("sessions.cancelled", title=session.title)
    if follow is not None and follow.starts_at is not None:
        when = moment_text(ctx.lang, follow.starts_at, ctx.person.timezone)
        ctx.say("sessions.cancelled_next", when=when)


SERIES_STATES = ("go_on", "pause", "stop")


def edit_series_form(lang: str, series: Series | None = None) -> Form:
    """A series' repetition, its next day and time (the weekday and time follow from it), its
    last day, its way of running, and whether it goes on: empty fields keep what is."""
    repeats = tuple(
        Option(k, t(lang, f"sessions.recurrences.{k}")) for k in RECURRENCES if k != "none"
    )
    states = tuple(Option(s, t(lang, f"sessions.series_states.{s}")) for s in SERIES_STATES)
    return Form(
        "edit_series",
        t(lang, "sessions.series_edit_title", title=series.title if series else ""),
        (
            Select("recurrence", t(lang, "sessions.recurrence_label"), repeats, optional=True),
            DateTimeInput("starts_at", t(lang, "sessions.series_from_label")),
            DateInput("until", t(lang, "sessions.series_until_label"), optional=True),
            _mode_select(lang),
            _round_length_select(lang),
            Select("state", t(lang, "sessions.series_state_label"), states, optional=True),
        ),
        t(lang, "sessions.edit_submit"),
        str(series.id) if series is not None and series.id is not None else "",
    )


async def team_series(ctx: Context, ref: str) -> Series:
    """The series to change: by its number, else the team's one series (several: which?)."""
    if ref.strip():
        number = record_id(ref)
        series = await ctx.uow.get(Series, number) if number is not None else None
        if series is None or series.team_id != ctx.team_id:
            raise Refusal("sessions.no_such_series")
        return series
    found = {s.series_id for s in await ctx.uow.sessions.for_team(ctx.team_id) if s.series_id}
    if not found:
        raise Refusal("sessions.no_series")
    if len(found) > 1:
        numbers = sorted(found)
        raise Refusal(
            "sessions.which_series", numbers=", ".join(map(str, numbers)), first=numbers[0]
        )
    series = await ctx.uow.get(Series, found.pop())
    assert series is not None
    return series


def _state(values: dict[str, str]) -> str:
    word = values.get("state", "").strip().casefold()
    if not word:
        return ""
    for state in SERIES_STATES:
        names = {state} | {
            w.casefold()
            for lang in LANGUAGES
            for w in words(lang, f"sessions.series_state_words.{state}")
        }
        if word in names:
            return state
    raise Refusal("sessions.unknown_series_state")


def _until(values: dict[str, str], ctx: Context) -> date | None:
    word = values.get("until", "").strip()
    if not word:
        return None
    day = parse_day(word, ctx.today())
    if day < ctx.today():
        raise Refusal("errors.date_in_past")
    return day


async def change_series(ctx: Context, series: Series, values: dict[str, str]) -> None:
    """Another repetition, next day and time, last day or way of running; or the series pauses
    (nothing is prepared until it goes on) or stops (it ends today). Its prepared session moves
    to the new first date, or goes; the channel hears of it in the team's language."""
    state = _state(values)
    recurrence = series_flow.recurrence_of(values.get("recurrence", ""))
    anchor = _starts_at(values, ctx)
    until = _until(values, ctx)
    days = _round_days(values)
    given_mode = values.get("mode", "").strip() or days is not None
    mode = _mode(values, planned=days is not None) if given_mode else None
    if state == "stop":
        until = ctx.today() - timedelta(days=1)  # the rule ends: calendars stop showing it
    rule = series.rrule
    if recurrence != "none" or anchor is not None or until is not None:
        rule = series_flow.changed_rule(series, recurrence, anchor, until)
    draft = await series_flow.prepared(ctx, series)
    if state in ("pause", "stop"):
        await _halt(ctx, series, draft, rule, state)
        return
    resumed = state == "go_on" and not series.active
    going = series.active or resumed  # a paused series changed stays paused unless it goes on
    # Another first start or repetition moves the prepared session to the rule's next date.
    moved = resumed or series_flow.rule_parts(rule)[:2] != series_flow.rule_parts(series.rrule)[:2]
    series.rrule, series.active = rule[:512], going
    if mode is not None:
        series.round_days = (days or series.round_days or 1) if mode == SessionMode.ASYNC else None
    lines = [ctx.t("sessions.series_changed", title=series.title,
                   repeats=_repeats(ctx.lang, series))]  # fmt: skip
    if not going:
        lines.append(ctx.t("sessions.series_still_paused"))
        draft = None
    else:
        draft, more = await _prepared_again(ctx, series, draft, moved, mode, days, until)
        lines += more
    ctx.reply(message(*(Text(line) for line in lines)))
    await _announce_series(ctx, series, "sessions.series_changed_announce", draft)


async def _halt(ctx: Context, series: Series, draft: Session | None, rule: str, state: str) -> None:
    """Paused or stopped: nothing more is prepared and what was queued goes. A paused
    series' first session, never held, waits without a date (its question and people are
    kept for when it goes on); otherwise the prepared one goes, as when it stops."""
    series.active = False
    series.rrule = rule[:512]
    if draft is not None:
        await series_flow.drop_planned(ctx, draft)
        if state == "pause" and await series_flow.latest(ctx, series, held=True) is None:
            draft.starts_at = None
            for rnd in await ctx.uow.sessions.rounds(id_of(draft)):
                rnd.opens_at = rnd.closes_at = None
        else:
            await ctx.uow.delete(draft)
    done = "paused" if state == "pause" else "stopped"
    ctx.say(f"sessions.series_{done}", title=series.title)
    await _announce_series(ctx, series, f"sessions.series_{done}_announce")


async def _prepared_again(
    ctx: Context,
    series: Series,
    draft: Session | None,
    moved: bool,
    mode: SessionMode | None,
    days: int | None,
    until: date | None,
) -> tuple[Session | None, list[str]]:
    """The series' prepared session after a change: made when there was none (it was paused),
    moved to the rule's next date, planned again for another mode, or gone when the series
    now ends before it. With the lines that say so."""
    calendar = team_calendar(ctx.workspace, ctx.policy)
    found = series_flow.next_date(series, ctx.now, calendar)
    if draft is None:
        template = await series_flow.latest(ctx, series)
        if found is not None and template is not None:
            draft = await series_flow.plan_next(ctx, template)
        if draft is None or draft.starts_at is None:
            return None, [ctx.t("sessions.series_no_next")]
        when = moment_text(ctx.lang, draft.starts_at, ctx.person.timezone)
        return draft, [ctx.t("sessions.series_next", when=when)]
    zone = ZoneInfo(series.timezone)
    after_end = (until is not None and draft.occurrence is not None
                 and draft.occurrence.astimezone(zone).date() > until)  # fmt: skip
    if after_end or (moved and found is None):
        await series_flow.drop_planned(ctx, draft)
        await ctx.uow.delete(draft)
        return None, [ctx.t("sessions.series_no_next")]
    if moved and found is not None:
        await series_flow.drop_planned(ctx, draft)
        draft.occurrence, draft.starts_at = found.occurrence, found.starts_at
        await series_flow.announce_holidays(ctx, series, draft, found, calendar)
    if not (moved or mode is not None or days is not None):
        assert draft.starts_at is not None  # an active series' prepared session has a date
        when = moment_text(ctx.lang, draft.starts_at, ctx.person.timezone)
        return draft, [ctx.t("sessions.series_next", when=when)]
    draft.mode = mode or draft.mode
    rounds = list(await ctx.uow.sessions.rounds(id_of(draft)))
    length = days or series.round_days or _working_days_of(calendar, rounds) or 1
    return draft, await replan(ctx, draft, length)


def _repeats(lang: str, series: Series) -> str:
    key = series_flow.recurrence_key(series.rrule)
    return t(lang, f"sessions.recurrences.{key}") if key else t(lang, "sessions.repeats_own")


async def _announce_series(
    ctx: Context, series: Series, key: str, draft: Session | None = None
) -> None:
    lang = ctx.workspace.locale
    zone = team_calendar(ctx.workspace, ctx.policy).timezone
    when = (
        moment_text(lang, draft.starts_at, zone)
        if draft is not None and draft.starts_at is not None
        else t(lang, "sessions.series_nothing_planned")
    )
    await ctx.post(
        Destination.channel(series.team_id),
        message(Text(t(lang, key, title=series.title, repeats=_repeats(lang, series), when=when))),
        kind="series_changed",
        dedupe_key=f"series-changed:{id_of(series)}:{ctx.now.isoformat()}",
    )


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
# Asked after a session nobody took part in (by DM): does the series go on?
router.action("series_keep")(series_flow.keep)
router.action("series_stop")(series_flow.stop)


# Changing what is planned: the session (its start as people type it: `reschedule tue 10:00`),
# cancelling it, and a series.
@router.command("reschedule", role=Role.COORDINATOR, form="edit_session")
async def _reschedule(ctx: Context, args: str) -> None:
    session = await planned_session(ctx, "")
    if args.strip():
        await change_session(ctx, session, {"starts_at": args})
        return
    ctx.open(edit_session_form(ctx.lang, session))


async def _edit_session_form(ctx: Context, context: str) -> Form:
    return edit_session_form(ctx.lang, await planned_session(ctx, context))


@router.form(
    "edit_session",
    build=_edit_session_form,
    role=Role.COORDINATOR,
    typed_fields=("starts_at", "title", "question", "mode", "round_length"),
)
async def _session_edited(ctx: Context, values: dict[str, str], context: str) -> None:
    await change_session(ctx, await planned_session(ctx, context), values)


router.command("cancel", role=Role.COORDINATOR)(cancel)
router.action("cancel_session", role=Role.COORDINATOR)(cancel)


@router.command("series", role=Role.COORDINATOR, form="edit_series", typed_form=lambda a: ";" in a)
async def _series(ctx: Context, args: str) -> None:
    ctx.open(edit_series_form(ctx.lang, await team_series(ctx, args)))


async def _edit_series_form(ctx: Context, context: str) -> Form:
    return edit_series_form(ctx.lang, await team_series(ctx, context))


@router.form(
    "edit_series",
    build=_edit_series_form,
    role=Role.COORDINATOR,
    typed_fields=("recurrence", "starts_at", "until", "mode", "round_length", "state"),
)
async def _series_edited(ctx: Context, values: dict[str, str], context: str) -> None:
    await change_series(ctx, await team_series(ctx, context), values)
