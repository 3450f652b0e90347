"""What the clock moves: sessions start at their time, rounds close and open on their plan,
a live session nobody ended closes at the end of its working day, and on Monday morning
coordinators get the week in counts. Each step runs in its own transaction, acting for the
session's coordinator, so one failure stops nothing else.
APScheduler (in bot/) only calls `tick`; what is due lives in the database.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from handlers import sessions as session_flow
from handlers.context import Context
from handlers.etiquette import Etiquette, NudgePolicy
from handlers.loops import Bounds
from handlers.messages import (
    Destination,
    Heading,
    Message,
    Text,
    message,
    outbox_row,
)
from handlers.model import (
    CommitmentStatus,
    OutboxMessage,
    Person,
    Role,
    RoundStatus,
    Session,
    SessionMode,
    SessionStatus,
    Team,
    Workspace,
    id_of,
)
from handlers.plan import team_calendar
from handlers.ports import Clock, UnitOfWork, UnitOfWorkFactory
from prompts.catalog import t

log = logging.getLogger(__name__)
DIGEST_WEEKDAY = 0  # Monday
DIGEST_TIME = time(9, 0)
MEETING_AT_LEAST = timedelta(hours=2)  # a live session left open runs this long at least


@dataclass
class TickReport:
    started: list[int] = field(default_factory=list)  # or, live ones, closed as not held
    advanced: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)  # live ones left open at their day's end
    digests: int = 0


async def acting_for(
    uow: UnitOfWork, clock: Clock, session: Session, bounds: Bounds, policy: NudgePolicy
) -> Context | None:
    """A context in which the schedule acts on a session, as its coordinator would."""
    team = await uow.get(Team, session.team_id)
    person = await uow.get(Person, session.created_by) if session.created_by else None
    if team is None or person is None or team.id is None or person.id is None:
        return None
    workspace = await uow.get(Workspace, team.workspace_id)
    membership = await uow.directory.membership(team.id, person.id)
    if workspace is None:
        return None
    return Context(
        uow,
        clock,
        workspace,
        person,
        team,
        membership,
        bounds=bounds,
        policy=policy,
        scheduled=True,
    )


async def tick(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    bounds: Bounds | None = None,
    policy: NudgePolicy | None = None,
) -> TickReport:
    bounds, policy = bounds or Bounds(), policy or NudgePolicy()
    report = TickReport()
    now = clock.now()
    async with uow_factory() as uow:
        to_start = [s.id for s in await uow.sessions.due_to_start(now) if s.id is not None]
        to_advance = [s.id for s in await uow.sessions.rounds_due_to_close(now) if s.id]
        to_close = await _left_open(uow, now, policy)
    for session_id in to_start:
        if await _in_own_transaction(uow_factory, clock, session_id, bounds, policy, "start"):
            report.started.append(session_id)
    for session_id in to_advance:
        if await _in_own_transaction(uow_factory, clock, session_id, bounds, policy, "advance"):
            report.advanced.append(session_id)
    for session_id in to_close:
        if await _in_own_transaction(uow_factory, clock, session_id, bounds, policy, "close"):
            report.closed.append(session_id)
    report.digests = await weekly_digests(uow_factory, clock, policy)
    return report


async def _in_own_transaction(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    session_id: int,
    bounds: Bounds,
    policy: NudgePolicy,
    step: str,
) -> bool:
    try:
        async with uow_factory() as uow:
            session = await uow.sessions.claim_due(session_id, clock.now(), step)
            if session is None:  # done meanwhile, by this process or another
                return False
            ctx = await acting_for(uow, clock, session, bounds, policy)
            if ctx is None:
                return False
            if step == "start" and session.mode == SessionMode.LIVE:
                # A live session is started by its coordinator in the meeting, never by the
                # clock; not started by the end of its day, it did not take place.
                if not _day_over(ctx, session):
                    return False
                await session_flow.not_started(ctx, session)
            elif step == "start":
                await session_flow.begin(ctx, session)
            elif step == "close":
                calendar = team_calendar(ctx.workspace, ctx.policy)
                if ctx.now < await live_close_at(uow, session, calendar):
                    return False
                await session_flow.close_left_open(ctx, session)
            else:
                await session_flow.advance_session(ctx, session)
            await uow.commit()
            return True
    except Exception:  # one session's trouble must not stop the others
        log.exception("the schedule could not %s session %s", step, session_id)
        return False


async def live_close_at(uow: UnitOfWork, session: Session, calendar: Etiquette) -> datetime:
    """When a live session nobody ended closes by itself: at the end of the working day it
    opened on (the team's zone), and never sooner than MEETING_AT_LEAST after it opened, so
    a late-afternoon meeting is not cut short."""
    opened = [r.opens_at for r in await uow.sessions.rounds(id_of(session)) if r.opens_at]
    start = min(opened, default=None) or session.starts_at or session.created_at
    assert start is not None  # a running session has an open round, opened at its start
    day_end = calendar.at(calendar.local_day(start), calendar.quiet_start).astimezone(UTC)
    return max(day_end, start + MEETING_AT_LEAST)


async def _left_open(uow: UnitOfWork, now: datetime, policy: NudgePolicy) -> list[int]:
    """Running live sessions whose day is over (looked at before any row is held)."""
    zones = {id_of(team): workspace for team, workspace in await uow.directory.all_teams()}
    due = []
    for session in await uow.sessions.open_live():
        calendar = team_calendar(zones.get(session.team_id), policy)
        if now >= await live_close_at(uow, session, calendar):
            due.append(id_of(session))
    return due


def _day_over(ctx: Context, session: Session) -> bool:
    assert session.starts_at is not None
    calendar = team_calendar(ctx.workspace, ctx.policy)
    _start, end = calendar.day_bounds(calendar.local_day(session.starts_at))
    return ctx.now >= end


async def due_moments(uow_factory: UnitOfWorkFactory, now: datetime) -> list[datetime]:
    """Every moment after `now` at which the schedule or the outbox has something to do: a
    message due, a session's start, a round's close, 09:00 (a digest may be due), a day's end
    (a live session not started), a live session's close if left open. A clock moved by hand
    stops at each (the console's /clock)."""
    moments: list[datetime] = []
    async with uow_factory() as uow:
        moments += [p.due_at for p in await uow.outbox.pending() if p.due_at > now]
        for team, workspace in await uow.directory.all_teams():
            zone = ZoneInfo(workspace.timezone)
            local = now.astimezone(zone)
            nine = datetime.combine(local.date(), DIGEST_TIME, zone)
            midnight = datetime.combine(local.date() + timedelta(days=1), time(0), zone)
            moments += [midnight, nine if nine > now else nine + timedelta(days=1)]
            for session in await uow.sessions.for_team(id_of(team)):
                if session.status == SessionStatus.DRAFT and session.starts_at is not None:
                    moments.append(session.starts_at)
                if session.status == SessionStatus.OPEN and session.mode == SessionMode.LIVE:
                    calendar = team_calendar(workspace, NudgePolicy())
                    moments.append(await live_close_at(uow, session, calendar))
                if session.status == SessionStatus.OPEN:
                    for rnd in await uow.sessions.rounds(id_of(session)):
                        if rnd.status == RoundStatus.OPEN and rnd.closes_at is not None:
                            moments.append(rnd.closes_at)
    return [m for m in moments if m > now]


async def weekly_digests(uow_factory: UnitOfWorkFactory, clock: Clock, policy: NudgePolicy) -> int:
    """Monday from 09:00 (the workspace's time; after a holiday such as Easter Monday, the
    next working day): each coordinator gets the team's week in counts — never who was nudged
    or who said what."""
    now = clock.now()
    queued = 0
    async with uow_factory() as uow:
        for team, workspace in await uow.directory.all_teams():
            calendar = team_calendar(workspace, policy)
            local = now.astimezone(calendar.zone)
            if not _digest_day(calendar, local.date()) or local.time() < DIGEST_TIME:
                continue
            week = local.isocalendar()
            team_id = id_of(team)
            # Each tick of a Monday looks here: count only for coordinators still without theirs.
            due = []
            for membership, person in await uow.directory.members(team_id):
                key = f"digest:{team_id}:{week.year}-W{week.week:02d}:{person.id}"
                if membership.role == Role.COORDINATOR and not await uow.outbox.by_key(key):
                    due.append((person, key))
            if not due:
                continue
            counts = await _week_in_counts(uow, team_id, now)
            for person, key in due:
                lang = person.locale
                body = message(
                    Heading(t(lang, "nudges.digest_heading", team=team.name)),
                    Text(t(lang, "nudges.digest", **counts)),
                )
                queued += await uow.outbox.enqueue(_digest_row(key, person, body, now))
        await uow.commit()
    return queued


def _digest_day(calendar: Etiquette, day: date) -> bool:
    """The week's first working day for the team: Monday, or Tuesday after Easter Monday."""
    monday = day - timedelta(days=day.weekday() - DIGEST_WEEKDAY)
    first = next(
        (d for d in (monday + timedelta(days=n) for n in range(5)) if calendar.is_working_day(d)),
        None,
    )
    return day == first


def _digest_row(key: str, person: Person, body: Message, now: datetime) -> OutboxMessage:
    return outbox_row(
        Destination.dm(id_of(person)), body, kind="digest", dedupe_key=key, due_at=now
    )


async def _week_in_counts(uow: UnitOfWork, team_id: int, now: datetime) -> dict[str, int]:
    week_ago = now - timedelta(days=7)
    commitments = await uow.commitments.for_team(team_id)
    status = Counter(c.status for c in commitments)
    done_this_week = 0
    for c in commitments:
        if c.status == CommitmentStatus.DONE and c.id is not None:
            check_ins = await uow.commitments.check_ins(c.id)
            latest = check_ins[-1] if check_ins else None
            if latest is not None and latest.at is not None and latest.at >= week_ago:
                done_this_week += 1
    contributions = 0
    for session in await uow.sessions.for_team(team_id):
        rounds = [r.id for r in await uow.sessions.rounds(session.id or 0) if r.id is not None]
        contributions += sum(
            1
            for c in await uow.sessions.contributions(rounds)
            if c.created_at is not None and c.created_at >= week_ago
        )
    open_ones = [c for c in commitments if not c.status.is_finished]
    today = now.date()
    return {
        "open": len(open_ones),
        "in_progress": status[CommitmentStatus.IN_PROGRESS],
        "stuck": status[CommitmentStatus.STUCK],
        "overdue": sum(1 for c in open_ones if c.due_date < today),
        "done": done_this_week,
        "released": status[CommitmentStatus.RELEASED],
        "contributions": contributions,
    }
