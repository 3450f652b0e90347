"""Due transitions under several processes and downtime, on a moved clock (the processes' time
jumps to each due moment; tests/faults/serve_moved.py):

- three `coulisse serve` started together on an empty database all come up (each migrates
  under the lock) and move a weekly series' session through its rounds: the start, every
  round's close and the next session of the series each happen exactly once;
- ten minutes of downtime across due times (a session's start, twenty messages due one after
  the other): after the restart each happens once, soon after."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.clock import SystemClock
from bot.wiring import App, build
from handlers.messages import Command, Destination, FormSubmitted, Text, message, outbox_row
from handlers.model import OutboxStatus, Round, RoundStatus, Session, SessionStatus
from storage import tables
from tests.fake_slack import FakeSlackApi
from tests.faults.answers import PLACE, actor
from tests.faults.harness import MovedClock, report, serve_env, serving, slack_api
from tests.test_outbox_workers import statuses

pytestmark = pytest.mark.postgres

PEOPLE = ["U01", "U02", "U03", "U04"]
WAIT = 30.0  # seconds for a due step to be seen done: only matters when something is broken


async def weekly_series(app: App, starts: datetime) -> None:
    """A team of four in C1 and a weekly async session of five one-day rounds."""
    for user in PEOPLE:
        done = await app.coulisse.handle(Command("join", actor(user), PLACE))
        assert not done.refused, done.messages
    values = {"title": "Wekelijks", "question": "Wat nu?", "format": "custom",
              "rounds": "checkin start-stop-continue group vote commit",
              "starts_at": starts.isoformat(), "round_length": "1",
              "recurrence": "weekly"}  # fmt: skip
    done = await app.coulisse.handle(FormSubmitted("new_session", values, actor(PEOPLE[0]), PLACE))
    assert not done.refused, done.messages


async def state(app: App) -> tuple[list[Session], list[Round]]:
    async with app.uow() as uow:
        sessions = list(await uow.sessions.for_team(1))
        rounds = list(await uow.sessions.rounds(sessions[0].id or 0)) if sessions else []
    return sessions, rounds


Check = Callable[[list[Session], list[Round]], object]


async def until(app: App, check: Check, what: str) -> float:
    """Poll the database until `check(sessions, rounds)`; seconds it took."""
    started = time.monotonic()
    while True:
        sessions, rounds = await state(app)
        if check(sessions, rounds):
            return time.monotonic() - started
        if time.monotonic() - started > WAIT:
            raise AssertionError(f"{what}: {[s.status for s in sessions]}, "
                                 f"{[r.status for r in rounds]}")  # fmt: skip
        await asyncio.sleep(0.05)


async def quiet(app: App, clock: MovedClock) -> None:
    """Until nothing due is waiting in the outbox or being sent. The clock jumps only then:
    leases are kept on the processes' clock, so a row in flight when it jumps a day would be
    free for another worker at once (a step of the real clock larger than a lease would do
    the same)."""
    o = tables.outbox.c
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        now = datetime.now(UTC) + timedelta(seconds=clock.offset)
        async with app.engine.connect() as conn:
            busy = (await conn.execute(
                sa.select(sa.func.count()).select_from(tables.outbox).where(
                    o.status == OutboxStatus.PENDING.value,
                    sa.or_(o.due_at <= now, o.lease_until.is_not(None)),
                )
            )).scalar_one()  # fmt: skip
        if not busy:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the outbox did not empty")


def channel_posts(
    api: FakeSlackApi, start: int = 0, end: int | None = None, channel: str = "C1"
) -> Counter[str]:
    """What was posted to the channel between two calls, word for word, how often."""
    return Counter(
        str(c.params.get("blocks") or c.params.get("text"))
        for c in api.calls[start:end]
        if c.method == "chat.postMessage" and c.params.get("channel") == channel
    )


def channel_duplicates(api: FakeSlackApi, steps: list[int] | None = None) -> list[str]:
    """Messages posted to the channel more than once, word for word, within one step (the
    next session of a series announces itself as the first did: that is not a duplicate)."""
    bounds = [0, *(steps or []), len(api.calls)]
    found = []
    for start, end in itertools.pairwise(bounds):
        found += [text[:200] for text, n in channel_posts(api, start, end).items() if n > 1]
    return found


async def test_three_processes_started_together_do_each_due_transition_once(
    empty_postgres: str, tmp_path: Path
) -> None:
    clock = MovedClock(tmp_path)
    async with slack_api() as api:
        env = serve_env(empty_postgres, tmp_path, slack_api=api.url)
        async with serving(["w1", "w2", "w3"], env, tmp_path) as procs:  # an empty database
            app = await build(empty_postgres, SystemClock(), migrate=False)
            try:
                starts = datetime.now(UTC) + timedelta(hours=1)
                await weekly_series(app, starts)
                late: list[float] = []
                steps: list[int] = []  # where in the fake's calls each due step began
                steps.append(len(api.calls))
                clock.advance((starts - datetime.now(UTC)).total_seconds() + 1)
                late.append(await until(app, lambda s, r: r and r[0].status == RoundStatus.OPEN,
                                        "the session starts"))  # fmt: skip
                _sessions, rounds = await state(app)
                transitions = 1
                for position in range(len(rounds)):
                    due = rounds[position].closes_at
                    assert due is not None
                    await quiet(app, clock)
                    steps.append(len(api.calls))
                    clock.advance((due - datetime.now(UTC)).total_seconds() - clock.offset + 1)

                    def moved(s: list[Session], r: list[Round], p: int = position) -> bool:
                        if r[p].status != RoundStatus.CLOSED:
                            return False
                        if p + 1 < len(r):
                            return r[p + 1].status == RoundStatus.OPEN
                        return s[0].status in (SessionStatus.CLOSED, SessionStatus.NOT_HELD)

                    late.append(await until(app, moved, f"round {position + 1} closes"))
                    transitions += 1
                    _s, now_rounds = await state(app)
                    opened = [r.position for r in now_rounds if r.status == RoundStatus.OPEN]
                    assert opened == ([now_rounds[position + 1].position]
                                      if position + 1 < len(now_rounds) else []), (
                        f"round {position + 1} closed once, no round skipped")  # fmt: skip
                # Five one-day rounds fill the week: the series' next session is due at once.
                late.append(await until(app, lambda s, r: len(s) >= 2, "the next session"))
                transitions += 1
                await asyncio.sleep(2)  # time for a second next session, if one came
                await quiet(app, clock)
                sessions, _r = await state(app)
                alive = all(p.proc and p.proc.returncode is None for p in procs)
            finally:
                await app.close()
        line = report(
            "3 serve started together on an empty database, a weekly series' rounds and its end",
            processes=3, all_came_up=alive, transitions=transitions,
            sessions=len(sessions), duplicate_effects=len(sessions) - 2,
            duplicate_messages=len(twice := channel_duplicates(api, steps)), lost=0,
            lateness=late,
        )  # fmt: skip
    assert alive
    assert len(sessions) == 2, "one next session planned"
    assert line["duplicate_messages"] == 0, twice


async def test_ten_minutes_of_downtime_across_due_times(
    empty_postgres: str, tmp_path: Path
) -> None:
    clock = MovedClock(tmp_path)
    async with slack_api() as api:
        env = serve_env(empty_postgres, tmp_path, slack_api=api.url)
        async with serving(["w1", "w2"], env, tmp_path) as procs:
            app = await build(empty_postgres, SystemClock(), migrate=False)
            try:
                now = datetime.now(UTC)
                starts = now + timedelta(minutes=5)
                await weekly_series(app, starts)
                async with app.uow() as uow:  # twenty messages, one due every 30 s of the gap
                    for n in range(20):
                        row = outbox_row(Destination.channel(1), message(Text(f"bericht-{n:02d}")),
                                         kind="digest", dedupe_key=f"gap:{n}",
                                         due_at=now + timedelta(seconds=30 * (n + 1)))  # fmt: skip
                        await uow.outbox.enqueue(row)
                    await uow.commit()
                for proc in procs:  # down, as a crash would leave them
                    await proc.kill()
                clock.advance(600)
                for proc in procs:
                    await proc.start(wait=False)
                for proc in procs:
                    await proc.healthy()
                up = time.monotonic()
                started = await until(app, lambda s, r: r and r[0].status == RoundStatus.OPEN,
                                      "the session starts after the gap")  # fmt: skip
                deadline = time.monotonic() + WAIT
                while (await statuses(app))[OutboxStatus.SENT.value] < 20:
                    assert time.monotonic() < deadline, await statuses(app)
                    await asyncio.sleep(0.05)
                await asyncio.sleep(2)
                sessions, rounds = await state(app)
            finally:
                await app.close()
        texts = [(str(c.params.get("text", "")), c.at) for c in api.calls
                 if c.method == "chat.postMessage"]  # fmt: skip
        got = Counter(text for text, _at in texts if text.startswith("bericht-"))
        arrival = {m: max(at for text, at in texts if text == m) for m in got}
        line = report(
            "10 minutes of downtime across due times (2 serve, kill -9, clock moved)",
            due=21, lost=20 - len(got),
            duplicate_effects=len([r for r in rounds if r.status == RoundStatus.OPEN]) - 1,
            duplicate_messages=sum(n - 1 for n in got.values()) + len(channel_duplicates(api)),
            session_started_after_s=round(started, 2),
            lateness=[at - up for at in arrival.values()],
        )  # fmt: skip
    assert len(got) == 20 and line["duplicate_messages"] == 0, line
    assert [s.status for s in sessions] == [SessionStatus.OPEN], "started once"
