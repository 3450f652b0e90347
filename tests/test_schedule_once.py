"""Each due transition happens once, however many processes tick: three schedulers on one
PostgreSQL database (each its own engine and connections) start a planned session, move its
rounds and plan the series' next session exactly once each."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import ManualClock
from bot.wiring import App, build
from handlers.model import RoundStatus, SessionStatus
from handlers.schedule import tick
from storage.migrate import upgrade_async
from tests.driver import Driver, team_of

SCHEDULERS = 3


@pytest.fixture
async def apps(empty_postgres: str) -> AsyncIterator[list[App]]:
    """Three processes' worth of wiring on a database of their own."""
    url = empty_postgres
    await upgrade_async(url)
    clock = ManualClock(datetime(2027, 3, 1, 8, tzinfo=UTC))
    built = [await build(url, clock, migrate=False) for _ in range(SCHEDULERS)]
    try:
        yield built
    finally:
        for app in built:
            await app.close()


async def all_tick(apps: list[App]) -> tuple[int, int]:
    """Every scheduler ticks at the same moment; how many sessions were started and moved."""
    first = apps[0].coulisse
    reports = await asyncio.gather(
        *(tick(app.uow, first.clock, first.bounds, first.policy) for app in apps)
    )
    return sum(len(r.started) for r in reports), sum(len(r.advanced) for r in reports)


@pytest.mark.postgres
async def test_three_schedulers_do_each_due_step_once(apps: list[App]) -> None:
    app = apps[0]
    clock = app.coulisse.clock
    assert isinstance(clock, ManualClock)
    d = Driver(app)
    await team_of(d, "Sanne", "Ahmed", "Fleur")
    starts = clock.now() + timedelta(hours=1)
    reply = await d.form(
        "Sanne", "new_session", title="Wekelijks", question="Wat nu?", format="custom",
        rounds="checkin start-stop-continue group vote commit",  # five: one a working day
        starts_at=starts.isoformat(), round_length="1", recurrence="weekly",
    )  # fmt: skip
    assert "staat klaar" in reply, reply
    clock.advance(timedelta(hours=1))
    assert await all_tick(apps) == (1, 0)
    async with app.uow() as uow:
        session = (await uow.sessions.for_team(1))[0]
        rounds = list(await uow.sessions.rounds(session.id or 0))
    for position in range(2, len(rounds) + 1):
        clock.set(rounds[position - 2].closes_at or clock.now())  # on working days
        assert await all_tick(apps) == (0, 1), f"round {position - 1} closed once"
        async with app.uow() as uow:
            states = [r.status for r in await uow.sessions.rounds(session.id or 0)]
        assert states.count(RoundStatus.OPEN) == 1 and states[position - 1] == RoundStatus.OPEN
    clock.set(rounds[-1].closes_at or clock.now())
    assert await all_tick(apps) == (0, 1)  # the last round closes and the session with it
    async with app.uow() as uow:
        sessions = list(await uow.sessions.for_team(1))
    # Nobody answered: it did not take place; the series' next one was prepared once, ahead.
    assert [s.status for s in sessions] == [SessionStatus.NOT_HELD, SessionStatus.DRAFT]
    upcoming = sessions[1].starts_at
    assert upcoming is not None and upcoming > clock.now()
    clock.set(upcoming)
    assert await all_tick(apps) == (1, 0)  # it starts once
    assert await all_tick(apps) == (0, 0)
