"""Outbox leases name their worker and are kept alive while it works: a worker started again
under its name takes back at once what it held when it died; another worker's rows wait out
their (short) lease; a send that outlasts the lease is not taken over, because the heartbeat
renews it."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from bot.clock import ManualClock
from bot.config import Settings
from bot.outbox import OutboxDispatcher
from bot.wiring import App
from handlers.messages import Destination, Message, Text, message, outbox_row
from handlers.model import OutboxMessage, OutboxStatus
from handlers.ports import LeaseHolder
from tests.conftest import eventually

LEASE = 10
ROWS = 3


async def queue(app: App, now: datetime, rows: int = ROWS) -> None:
    async with app.uow() as uow:
        for n in range(rows):
            row = outbox_row(Destination.channel(1), message(Text(f"bericht {n}")),
                             kind="reveal", dedupe_key=f"row{n}", due_at=now)  # fmt: skip
            await uow.outbox.enqueue(row)
        await uow.commit()


async def rows(app: App) -> list[OutboxMessage]:
    async with app.uow() as uow:
        return [m for n in range(ROWS) if (m := await uow.outbox.by_key(f"row{n}"))]


class Recorder:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def __call__(self, item: OutboxMessage, _to: Destination, _msg: Message) -> None:
        self.sent.append(item.dedupe_key)


async def test_a_restarted_worker_takes_back_its_own_rows_at_once(
    app: App, clock: ManualClock
) -> None:
    await queue(app, clock.now())
    first_run = LeaseHolder("host:3000", "run-1")
    claimed = await app.outbox.claim_due(clock.now(), LEASE, 50, holder=first_run)
    assert len(claimed) == ROWS  # ... and the process is killed before it sends any of them
    assert all(m.lease_until is not None for m in await rows(app))

    other = Recorder()
    await OutboxDispatcher(app.outbox, other, clock, lease_seconds=LEASE,
                           holder=LeaseHolder("host:3001", "run-9")).drain()  # fmt: skip
    assert other.sent == [], "another worker leaves them alone while the lease runs"

    again = Recorder()  # the same host and instance, started again: the clock has not moved
    await OutboxDispatcher(app.outbox, again, clock, lease_seconds=LEASE,
                           holder=LeaseHolder("host:3000", "run-2")).drain()  # fmt: skip
    assert sorted(again.sent) == [f"row{n}" for n in range(ROWS)]
    after = await rows(app)
    assert all(m.status == OutboxStatus.SENT for m in after)
    assert all(m.attempts == 2 for m in after), "the dead run's attempt still counts"


async def test_taking_back_leaves_rows_held_by_the_same_run_or_another_name(
    app: App, clock: ManualClock
) -> None:
    await queue(app, clock.now())
    me, stranger = LeaseHolder("host:a", "run-1"), LeaseHolder("host:b", "run-1")
    mine = await app.outbox.claim_due(clock.now(), LEASE, 1, holder=me)
    theirs = await app.outbox.claim_due(clock.now(), LEASE, 1, holder=stranger)
    assert len(mine) == len(theirs) == 1
    assert await app.outbox.take_back(me) == 0, "a run does not take back its own live leases"
    assert await app.outbox.take_back(LeaseHolder("host:a", "run-2")) == 1
    assert await app.outbox.claim_due(clock.now(), LEASE, 50) != []  # only the freed one
    leased = [m.dedupe_key for m in await rows(app) if m.lease_until is not None]
    assert len(leased) == ROWS, "the stranger's row stayed leased"


async def test_a_send_longer_than_the_lease_is_not_taken_over(app: App, clock: ManualClock) -> None:
    """The clock moves past the lease twice while one send is in flight; the heartbeat keeps
    the row, so a second worker claims nothing and the row goes out once."""
    await queue(app, clock.now(), rows=1)
    going = asyncio.Event()
    finish = asyncio.Event()
    sent: list[str] = []

    async def slow(item: OutboxMessage, _to: Destination, _msg: Message) -> None:
        going.set()
        await finish.wait()
        sent.append(item.dedupe_key)

    holder = LeaseHolder("host:slow", "run-1")
    slow_worker = OutboxDispatcher(app.outbox, slow, clock, lease_seconds=LEASE, holder=holder,
                                   heartbeat_seconds=0.02)  # fmt: skip
    task = asyncio.create_task(slow_worker.run_once())
    await going.wait()
    other = Recorder()
    second = OutboxDispatcher(app.outbox, other, clock, lease_seconds=LEASE,
                              holder=LeaseHolder("host:fast", "run-1"))  # fmt: skip
    for _ in range(2):
        clock.advance(timedelta(seconds=LEASE - 2))
        wanted = clock.now() + timedelta(seconds=LEASE)

        async def renewed(until: datetime = wanted) -> bool:
            (row,) = [m for m in await rows(app) if m.dedupe_key == "row0"]
            return row.lease_until is not None and row.lease_until >= until

        await eventually(renewed, timeout=10)
        assert await second.run_once() == 0, "the row is still held"
    finish.set()
    await task
    assert sent == ["row0"] and other.sent == []


async def test_a_dead_workers_lease_runs_out_within_seconds() -> None:
    """The default lease: a killed worker's rows are free for the others within 10 s."""
    settings = Settings(_env_file=None)
    assert settings.outbox_lease <= 10
