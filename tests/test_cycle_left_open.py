"""A live session nobody ended (the coordinator never typed `end`) closes by itself at the end
of its working day, as `end` would close it: the summary when people took part, "did not take
place" when nobody did; the coordinator hears of it by DM, and the series prepares its next
session and its reminder. Before, it stayed open and the series waited for good."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.clock import ManualClock
from bot.console.clock import move_clock
from bot.wiring import App, build
from handlers.model import OutboxStatus, RoundStatus, SessionStatus
from handlers.schedule import tick
from prompts.catalog import t
from storage.migrate import upgrade_async
from tests.driver import Driver, team_of

AMS = ZoneInfo("Europe/Amsterdam")


def ams(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMS)


async def _run(d: Driver, clock: ManualClock, until: datetime) -> None:
    await move_clock(d.app, clock, until, d.deliver)


async def _sessions(app: App) -> list:
    async with app.uow() as uow:
        return list(await uow.sessions.for_team(1))


async def _weekly_live_started(d: Driver, clock: ManualClock, at: datetime) -> None:
    """A weekly live series whose first meeting starts at `at` (a Tuesday)."""
    clock.set(at - timedelta(minutes=30))
    await team_of(d, "Sanne", "Ahmed", "Fleur")
    reply = await d.form(
        "Sanne", "new_session", title="Weekstart", question="Wat speelt er?", format="custom",
        rounds="checkin commit", starts_at=at.isoformat(), recurrence="weekly",
    )  # fmt: skip
    assert t("nl", "sessions.created_series.weekly") in reply, reply
    clock.set(at)
    assert "begonnen" in await d.cmd("Sanne", "start")


async def test_a_live_session_left_open_closes_with_its_summary_at_the_days_end(
    app: App, clock: ManualClock
) -> None:
    d = Driver(app)
    await _weekly_live_started(d, clock, ams(2027, 3, 23, 10, 0))
    await d.cmd("Ahmed", "add", "goed")
    await d.cmd("Fleur", "add", "moe")  # … and nobody types `end`
    await _run(d, clock, ams(2027, 3, 23, 17, 59))
    assert [s.status for s in await _sessions(app)] == [SessionStatus.OPEN]  # still the day
    await _run(d, clock, ams(2027, 3, 24, 12, 0))
    sessions = await _sessions(app)
    assert [s.status for s in sessions] == [SessionStatus.CLOSED, SessionStatus.DRAFT]
    assert sessions[0].closed_at == ams(2027, 3, 23, 18, 0)  # the team's working day's end
    assert sessions[1].starts_at == ams(2027, 3, 30, 10, 0)
    summaries = [s for s in d.sent if s.kind == "summary"]
    assert len(summaries) == 1 and summaries[0].to.kind == "channel"
    assert "2 bijdragen" in summaries[0].text, summaries[0].text
    told = [s for s in d.sent if s.kind == "closed_left_open"]
    assert [(s.to.kind, s.to.id) for s in told] == [("dm", 1)]
    assert told[0].text == t("nl", "sessions.closed_left_open", title="Weekstart")
    assert not [s for s in d.sent if s.kind == "keep_series"]  # it took place
    async with app.uow() as uow:  # a scheduler that listed it before it closed gets nothing
        for session in sessions:  # closed, and next week's draft
            assert await uow.sessions.claim_due(session.id or 0, clock.now(), "close") is None
    # The series goes on as after `end`: the coordinator is reminded the working day before.
    await _run(d, clock, ams(2027, 3, 29, 12, 0))
    reminders = [s for s in d.sent if s.kind == "session_reminder"]
    assert [(s.to.kind, s.to.id) for s in reminders] == [("dm", 1)]


async def test_a_live_session_left_open_that_nobody_took_part_in_did_not_take_place(
    app: App, clock: ManualClock
) -> None:
    d = Driver(app)
    await _weekly_live_started(d, clock, ams(2027, 3, 23, 10, 0))
    await _run(d, clock, ams(2027, 3, 24, 12, 0))
    sessions = await _sessions(app)
    assert [s.status for s in sessions] == [SessionStatus.NOT_HELD, SessionStatus.DRAFT]
    assert not [s for s in d.sent if s.kind in ("summary", "reveal")]
    told = [s for s in d.sent if s.kind == "closed_left_open"]
    assert [s.text for s in told] == [
        t("nl", "sessions.closed_left_open_not_held", title="Weekstart")
    ]
    asked = [s for s in d.sent if s.kind == "keep_series"]
    assert [(s.to.kind, s.to.id) for s in asked] == [("dm", 1)]


async def test_a_late_afternoon_meeting_is_not_cut_short(app: App, clock: ManualClock) -> None:
    """Started at 17:30, it still runs at 18:00 and 19:00; left open, it closes at 19:30."""
    d = Driver(app)
    await _weekly_live_started(d, clock, ams(2027, 3, 23, 17, 30))
    await d.cmd("Ahmed", "add", "goed")
    await _run(d, clock, ams(2027, 3, 23, 19, 0))
    assert [s.status for s in await _sessions(app)] == [SessionStatus.OPEN]
    await d.cmd("Sanne", "next")  # the meeting goes on
    async with app.uow() as uow:
        rounds = await uow.sessions.rounds(1)
    assert [r.status for r in rounds] == [RoundStatus.CLOSED, RoundStatus.OPEN]
    await _run(d, clock, ams(2027, 3, 23, 20, 0))
    first = (await _sessions(app))[0]
    assert first.status == SessionStatus.CLOSED
    assert first.closed_at == ams(2027, 3, 23, 19, 30)


async def test_end_typed_after_the_close_by_itself_closes_nothing_more(
    app: App, clock: ManualClock
) -> None:
    d = Driver(app)
    await _weekly_live_started(d, clock, ams(2027, 3, 23, 10, 0))
    await d.cmd("Ahmed", "add", "goed")
    await _run(d, clock, ams(2027, 3, 23, 19, 0))
    assert t("nl", "sessions.nothing_to_end") in await d.cmd("Sanne", "end")
    assert [s.status for s in await _sessions(app)] == [SessionStatus.CLOSED, SessionStatus.DRAFT]


@pytest.fixture
async def apps(empty_postgres: str) -> AsyncIterator[list[App]]:
    """Three processes' worth of wiring on one PostgreSQL database."""
    await upgrade_async(empty_postgres)
    clock = ManualClock(ams(2027, 3, 23, 9, 0))
    built = [await build(empty_postgres, clock, migrate=False) for _ in range(3)]
    try:
        yield built
    finally:
        for app in built:
            await app.close()


@pytest.mark.postgres
async def test_three_schedulers_close_a_session_left_open_once(apps: list[App]) -> None:
    app = apps[0]
    clock = app.coulisse.clock
    assert isinstance(clock, ManualClock)
    d = Driver(app)
    await _weekly_live_started(d, clock, ams(2027, 3, 23, 10, 0))
    await d.cmd("Ahmed", "add", "goed")
    clock.set(ams(2027, 3, 23, 18, 0))
    c = app.coulisse
    reports = await asyncio.gather(*(tick(a.uow, clock, c.bounds, c.policy) for a in apps))
    assert sum(len(r.closed) for r in reports) == 1
    again = await tick(app.uow, clock, c.bounds, c.policy)
    assert again.closed == []
    async with app.uow() as uow:
        rows = [r for r in await uow.outbox.pending() if r.kind in ("summary", "closed_left_open")]
    assert sorted(r.kind for r in rows) == ["closed_left_open", "summary"]
    assert all(r.status == OutboxStatus.PENDING for r in rows)
    assert [s.status for s in await _sessions(app)] == [SessionStatus.CLOSED, SessionStatus.DRAFT]
