"""A series: sessions that repeat by a rule (every week, every other week, every month) from
the first session's local time, across daylight-saving changes. Each occurrence is prepared
once (unique per series) when the session before it closes; one that falls on a team holiday
moves to the next working day or is skipped, as the series says, and the team hears of it a
week ahead. A live series reminds its coordinator the working day before; an async one lays
its rounds on working days. After a session nobody took part in, the coordinator is asked
whether the series goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from handlers.context import Context, Refusal
from handlers.etiquette import Etiquette
from handlers.lookup import round_title
from handlers.messages import (
    Action,
    Choices,
    Destination,
    Text,
    message,
    outbox_row,
)
from handlers.model import (
    OutboxStatus,
    Person,
    Role,
    Round,
    Series,
    Session,
    SessionMode,
    SessionStatus,
    id_of,
)
from handlers.nudges import etiquette_of
from handlers.plan import (
    Plan,
    Unplannable,
    lay_out,
    moment_text,
    move_text,
    on_working_day,
    team_calendar,
    why_not_working,
)
from handlers.when import said_text
from prompts.catalog import LANGUAGES, t, words

# Recurring series, as iCalendar RRULEs (the scheduler reads them).
RECURRENCES = {
    "none": "",
    "weekly": "FREQ=WEEKLY;INTERVAL=1",
    "biweekly": "FREQ=WEEKLY;INTERVAL=2",
    "monthly": "FREQ=MONTHLY;INTERVAL=1",
}
ON_HOLIDAY = ("move", "skip")
ANNOUNCE_AHEAD = timedelta(days=7)
REMINDER_TIME = time(9, 0)  # the working day before a live session, in the coordinator's hours


def recurrence_of(word: str) -> str:
    """`wekelijks`, `every other week`, `maandelijks`, `biweekly` -> the key in RECURRENCES."""
    wanted = " ".join(word.casefold().replace("-", " ").split())
    if not wanted:
        return "none"
    for key in RECURRENCES:
        names = {key} | {w.casefold() for lang in LANGUAGES for w in words(lang, _words(key))}
        if wanted in names:
            return key
    raise Refusal("errors.unknown_recurrence")


def holiday_rule_of(word: str) -> str:
    wanted = word.strip().casefold()
    if not wanted:
        return "move"
    for key in ON_HOLIDAY:
        names = {key} | {w.casefold() for lang in LANGUAGES for w in words(lang, _hwords(key))}
        if wanted in names:
            return key
    raise Refusal("sessions.unknown_on_holiday")


def _words(key: str) -> str:
    return f"sessions.recurrence_words.{key}"


def _hwords(key: str) -> str:
    return f"sessions.on_holiday_words.{key}"


_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def monthly_on_weekday(rule: str, start: datetime, timezone: str) -> str:
    """Every month means the same weekday of the month as the first session (the first
    Thursday, the last Friday), not the same date: a date would fall on weekends."""
    if "FREQ=MONTHLY" not in rule or "BY" in rule:
        return rule
    local = start.astimezone(ZoneInfo(timezone))
    nth = (local.day - 1) // 7 + 1
    return f"{rule};BYDAY={-1 if nth == 5 else nth:+d}{_WEEKDAYS[local.weekday()]}"


def series_rule(rule: str, start: datetime, timezone: str) -> str:
    """An RRULE anchored at the first session's local start (kept in local time across DST)."""
    local = start.astimezone(ZoneInfo(timezone))
    rule = monthly_on_weekday(rule, start, timezone)
    return f"DTSTART;TZID={timezone}:{local:%Y%m%dT%H%M%S}\nRRULE:{rule}"


def next_occurrence(rule: str, after: datetime) -> datetime | None:
    """The series' next start after `after`, in UTC."""
    found = rrulestr(rule).after(after.astimezone(UTC), inc=False)
    return None if found is None else found.astimezone(UTC)


@dataclass(frozen=True)
class Occurrence:
    """The next date of a series as the rule gives it, and when it really starts."""

    occurrence: datetime
    starts_at: datetime
    skipped: tuple[datetime, ...] = ()  # the rule's dates before it, dropped for a holiday

    @property
    def moved(self) -> bool:
        return self.starts_at != self.occurrence


def next_date(series: Series, after: datetime, team: Etiquette) -> Occurrence | None:
    """The first occurrence after `after` that can take place: on a holiday (or a weekend) it
    moves to the next working day, unless the series skips those or the move would reach the
    occurrence after it."""
    skipped: list[datetime] = []
    found = next_occurrence(series.rrule, after)
    for _ in range(60):  # a rule whose dates are all holidays is not a series
        if found is None:
            return None
        if team.is_working_day(team.local_day(found)):
            return Occurrence(found, found, tuple(skipped))
        following = next_occurrence(series.rrule, found)
        if series.on_holiday == "move":
            moved = on_working_day(team, found)
            if following is None or team.local_day(moved) < team.local_day(following):
                return Occurrence(found, moved, tuple(skipped))
        skipped.append(found)
        found = following
    return None


async def plan_next(ctx: Context, session: Session) -> Session | None:
    """When a session of a series closes, the next one is prepared for its date, with the same
    question, format, people and mode; an async one gets its round plan on working days."""
    if session.series_id is None:
        return None
    series = await ctx.uow.get(Series, session.series_id)
    after = session.occurrence or session.starts_at
    if series is None or not series.active or after is None:
        return None
    if not series.rrule.startswith("DTSTART"):
        return None
    team = team_calendar(ctx.workspace, ctx.policy)
    # After the one that closed, and not in the past (an async session may outlast a week).
    found = next_date(series, max(after, ctx.now), team)
    if found is None:
        return None
    siblings = await ctx.uow.sessions.for_team(session.team_id)
    if any(s.series_id == series.id and s.occurrence == found.occurrence for s in siblings):
        return None  # prepared already (the key on series and occurrence holds it too)
    follow = Session(
        team_id=session.team_id,
        title=session.title,
        question=session.question,
        format=session.format,
        created_by=session.created_by,
        locale=session.locale,
        anonymous=session.anonymous,
        vote_budget=session.vote_budget,
        starts_at=found.starts_at,
        series_id=series.id,
        created_at=ctx.now,
        mode=session.mode,
        occurrence=found.occurrence,
    )
    follow_id = await ctx.uow.store(follow)
    previous = list(await ctx.uow.sessions.rounds(id_of(session)))
    plan = None
    if follow.mode == SessionMode.ASYNC:
        plan = await plan_for(ctx, follow, len(previous), series.round_days or 1)
        if plan is None:  # nobody could be reached in time: the coordinator runs it live
            follow.mode = SessionMode.LIVE
            await _tell(ctx, follow, "sessions.unplannable_next")
    for rnd in previous:
        planned = Round(
            follow_id, rnd.position, rnd.kind, rnd.name, list(rnd.categories), rnd.pillar
        )
        if plan is not None:
            planned.opens_at, planned.closes_at = plan.slots[rnd.position - 1]
        ctx.uow.add(planned)
    if plan is not None and plan.starts_at != follow.starts_at:
        follow.starts_at = plan.starts_at
    await announce_holidays(ctx, series, follow, found, team)
    if follow.mode == SessionMode.LIVE:
        await plan_reminder(ctx, follow)
    elif plan is not None and plan.moves:
        await _tell_moves(ctx, follow, plan, previous)
    return follow


async def plan_for(ctx: Context, session: Session, rounds: int, days: int) -> Plan | None:
    """The async plan from the session's start for the team's members (None: unplannable)."""
    assert session.starts_at is not None
    people = [
        etiquette_of(person, ctx.policy)
        for _m, person in await ctx.uow.directory.members(session.team_id)
    ]
    try:
        return lay_out(
            session.starts_at, rounds, days, team_calendar(ctx.workspace, ctx.policy), people
        )
    except Unplannable:
        return None


def reminder_key(session: Session, *, again: bool = False) -> str:
    """The reminder's outbox key; `again`: for a moved session, its start in UTC (a moment
    read back from the database and one just typed are the same instant in other zones)."""
    key = f"session-reminder:{id_of(session)}"
    if again and session.starts_at is not None:
        key += f":{session.starts_at.astimezone(UTC).isoformat()}"
    return key


async def plan_reminder(ctx: Context, session: Session, *, again: bool = False) -> None:
    """A live session: its coordinator hears of it the working day before, in their hours."""
    coordinator = await ctx.uow.get(Person, session.created_by) if session.created_by else None
    if coordinator is None or session.starts_at is None:
        return
    own = etiquette_of(coordinator, ctx.policy)
    day = own.local_day(session.starts_at) - timedelta(days=1)
    while not own.is_working_day(day):
        day -= timedelta(days=1)
    wanted = max(own.at(day, REMINDER_TIME), ctx.now)
    if wanted >= session.starts_at:
        return  # prepared on the day itself: the coordinator is at it already
    # Moved: the first reminder may have gone already, for the old time.
    row_key = reminder_key(session, again=True) if again else reminder_key(session)
    await ctx.uow.outbox.enqueue(
        outbox_row(
            Destination.dm(id_of(coordinator)),
            kind="session_reminder",
            dedupe_key=row_key,
            due_at=own.next_slot(wanted),
            nudge={"type": "session_reminder", "session_id": id_of(session)},
        )
    )


async def announce_holidays(
    ctx: Context, series: Series, follow: Session, found: Occurrence, team: Etiquette
) -> None:
    """A week before a date the rule gave but the team cannot use, the channel hears of it."""
    lang = follow.locale
    zone = team.timezone
    start = moment_text(lang, follow.starts_at or found.starts_at, zone)
    notices = [
        (
            day,
            t(
                lang,
                "sessions.holiday_skipped",
                date=moment_text(lang, day, zone),
                holiday=why_not_working(team, day, lang) or t(lang, "sessions.weekend"),
                next=start,
            ),
        )
        for day in found.skipped
    ]
    if found.moved:
        notices.append(
            (
                found.occurrence,
                t(
                    lang,
                    "sessions.holiday_moved",
                    date=moment_text(lang, found.occurrence, zone),
                    holiday=why_not_working(team, found.occurrence, lang)
                    or t(lang, "sessions.weekend"),
                    next=start,
                ),
            )
        )
    for day, text in notices:
        await ctx.post(
            Destination.channel(follow.team_id),
            message(Text(text)),
            kind="holiday_notice",
            dedupe_key=f"holiday-notice:{series.id}:{day.isoformat()}",
            due_at=team.next_slot(max(ctx.now, day - ANNOUNCE_AHEAD)),
        )


async def _tell_moves(ctx: Context, session: Session, plan: Plan, rounds: list[Round]) -> None:
    """The coordinator reads why the next session's plan moved, and the plan, as they say it."""
    coordinator = await ctx.uow.get(Person, session.created_by) if session.created_by else None
    if coordinator is None:
        return
    lang, zone = coordinator.locale, coordinator.timezone
    lines = [t(lang, "sessions.plan_moved_heading", title=session.title, zone=zone)]
    lines += [move_text(lang, m) for m in plan.moves]
    lines += said_plan(lang, plan, zone, [round_title(lang, r) for r in rounds], ctx.now)
    await ctx.post(
        Destination.dm(id_of(coordinator)),
        message(*(Text(line) for line in lines)),
        kind="plan_moved",
        dedupe_key=f"plan-moved:{id_of(session)}",
        due_at=etiquette_of(coordinator, ctx.policy).next_slot(ctx.now),
    )


async def _tell(ctx: Context, session: Session, key: str) -> None:
    coordinator = await ctx.uow.get(Person, session.created_by) if session.created_by else None
    if coordinator is None or session.starts_at is None:
        return
    lang = coordinator.locale
    when = moment_text(lang, session.starts_at, coordinator.timezone)
    await ctx.post(
        Destination.dm(id_of(coordinator)),
        message(Text(t(lang, key, title=session.title, when=when))),
        kind="plan_moved",
        dedupe_key=f"plan-moved:{id_of(session)}",
        due_at=etiquette_of(coordinator, ctx.policy).next_slot(ctx.now),
    )


def plan_lines(lang: str, plan: Plan, zone: str) -> list[str]:
    return [
        t(
            lang,
            "sessions.plan_line",
            position=i,
            opens=moment_text(lang, opens, zone),
            closes=moment_text(lang, closes, zone),
        )
        for i, (opens, closes) in enumerate(plan.slots, start=1)
    ]


def said_plan(lang: str, plan: Plan, zone: str, titles: Sequence[str], now: datetime) -> list[str]:
    """The plan as a coordinator reads it before anything is sent: each round by its name, its
    days as people say them (the zone is in the heading, the year only if not this one)."""
    return [
        t(
            lang,
            "sessions.plan_round",
            position=i,
            title=title,
            opens=said_text(lang, opens, zone, now),
            closes=said_text(lang, closes, zone, now),
        )
        for i, (title, (opens, closes)) in enumerate(zip(titles, plan.slots, strict=True), 1)
    ]


async def ask_to_keep(ctx: Context, session: Session) -> None:
    """Nobody took part: the coordinator decides (by DM) whether the series goes on."""
    coordinator = await ctx.uow.get(Person, session.created_by) if session.created_by else None
    if coordinator is None or session.series_id is None:
        return
    lang = coordinator.locale
    value = str(session.series_id)
    await ctx.post(
        Destination.dm(id_of(coordinator)),
        message(
            Text(t(lang, "sessions.keep_series_question", title=session.title)),
            Choices(
                (
                    Action("series_keep", t(lang, "sessions.keep_series"), value, "primary"),
                    Action("series_stop", t(lang, "sessions.stop_series"), value),
                )
            ),
        ),
        kind="keep_series",
        dedupe_key=f"keep-series:{id_of(session)}",
        due_at=etiquette_of(coordinator, ctx.policy).next_slot(ctx.now),  # in their hours
    )


async def _series_of_team(ctx: Context, value: str) -> Series:
    """The series the button is about, when the person coordinates its team (a DM's button
    may be about any of their teams)."""
    series = await ctx.uow.get(Series, int(value)) if value.isdigit() else None
    if series is None:
        raise Refusal("sessions.no_such_series")
    membership = await ctx.uow.directory.membership(series.team_id, ctx.person_id)
    if membership is None or membership.role != Role.COORDINATOR:
        raise Refusal("errors.coordinators_only")
    return series


async def keep(ctx: Context, value: str) -> None:
    series = await _series_of_team(ctx, value)
    series.active = True
    ctx.say("sessions.series_kept", title=series.title)


async def stop(ctx: Context, value: str) -> None:
    """The series ends: its prepared sessions go (their reminders are skipped when due)."""
    series = await _series_of_team(ctx, value)
    series.active = False
    for session in await ctx.uow.sessions.for_team(series.team_id):
        if session.series_id == series.id and session.status == SessionStatus.DRAFT:
            await ctx.uow.delete(session)
    ctx.say("sessions.series_stopped", title=series.title)


# --- changing a series --------------------------------------------------------------------------


async def drop_planned(ctx: Context, session: Session) -> None:
    """What was queued for a planned session's old time and not sent yet goes: its reminder
    (the first, or one planned again after a move), the DM about its plan's moves and the
    team's notice of its holiday. Nothing fires at the old time; what is planned anew for the
    new time takes these keys afresh."""
    keys = [reminder_key(session), reminder_key(session, again=True)]
    keys.append(f"plan-moved:{id_of(session)}")
    if session.series_id is not None and session.occurrence is not None:
        # As announce_holidays keys it: the occurrence as the rule gave it (UTC).
        day = session.occurrence.astimezone(UTC).isoformat()
        keys.append(f"holiday-notice:{session.series_id}:{day}")
    for key in keys:
        row = await ctx.uow.outbox.by_key(key)
        if row is not None and row.status == OutboxStatus.PENDING:
            await ctx.uow.delete(row)
    await ctx.uow.flush()  # gone before new rows take their keys


def rule_parts(rrule: str) -> tuple[datetime | None, str, date | None]:
    """A series' stored rule as (its local first start, the repetition without its end or the
    weekday a monthly rule adds, its last day)."""
    anchor: datetime | None = None
    repeat, until = "", None
    for line in rrule.splitlines():
        if line.startswith("DTSTART;TZID="):
            zone, _, stamp = line.removeprefix("DTSTART;TZID=").partition(":")
            anchor = datetime.strptime(stamp, "%Y%m%dT%H%M%S").replace(tzinfo=ZoneInfo(zone))
        elif line.startswith("RRULE:"):
            kept = []
            for part in line.removeprefix("RRULE:").split(";"):
                if part.startswith("UNTIL="):
                    until = datetime.strptime(part[6:14], "%Y%m%d").date()
                elif not (part.startswith("BYDAY=") and "FREQ=MONTHLY" in line):
                    kept.append(part)
            repeat = ";".join(kept)
    return anchor, repeat, until


def recurrence_key(rrule: str) -> str:
    """Which of RECURRENCES a stored rule is ("weekly"), "" for one typed as an RRULE."""
    repeat = rule_parts(rrule)[1]
    return next((key for key, rule in RECURRENCES.items() if rule and rule == repeat), "")


def changed_rule(
    series: Series, recurrence: str, anchor: datetime | None, until: date | None
) -> str:
    """The series' rule with another repetition, first start (its weekday and time) or last
    day; what is not given stays. The last day ends in the series' own zone."""
    old_anchor, repeat, old_until = rule_parts(series.rrule)
    start = anchor or old_anchor
    if start is None:
        raise Refusal("sessions.series_needs_time")
    rule = series_rule(RECURRENCES[recurrence] if recurrence != "none" else repeat,
                       start, series.timezone)  # fmt: skip
    last = until or old_until
    if last is not None:
        end = datetime.combine(last, time(23, 59, 59), ZoneInfo(series.timezone)).astimezone(UTC)
        rule += f";UNTIL={end:%Y%m%dT%H%M%SZ}"
    try:
        rrulestr(rule)
    except (ValueError, TypeError):
        raise Refusal("errors.unknown_recurrence") from None
    return rule


async def prepared(ctx: Context, series: Series) -> Session | None:
    """The series' session being prepared (one at most: the next is made when one closes),
    read again under its row's lock (the schedule may be starting it this very moment)."""
    found = next(
        (s for s in await ctx.uow.sessions.for_team(series.team_id)
         if s.series_id == series.id and s.status == SessionStatus.DRAFT),
        None,
    )  # fmt: skip
    held = await ctx.uow.sessions.hold(id_of(found)) if found is not None else None
    return held if held is not None and held.status == SessionStatus.DRAFT else None


async def latest(ctx: Context, series: Series, *, held: bool = False) -> Session | None:
    """The series' latest session (`held`: of those no longer being prepared)."""
    found = [
        s
        for s in await ctx.uow.sessions.for_team(series.team_id)
        if s.series_id == series.id and not (held and s.status == SessionStatus.DRAFT)
    ]
    return found[-1] if found else None
