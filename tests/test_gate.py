"""SQLite's transactions in one process take turns at the gate (storage/gate.py) instead of
sleeping in SQLite's busy handler."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from storage.db import SQLITE_BUSY_TIMEOUT_MS, create_engine, session_factory
from storage.gate import PATIENCE, Gate, GateTimeout, gate_for


async def test_turns_go_in_the_order_asked_one_at_a_time() -> None:
    gate, order, inside = Gate(), [], []

    async def turn(name: int) -> None:
        await gate.enter()
        inside.append(name)
        assert len(inside) == 1, "two holders at once"
        await asyncio.sleep(0)
        order.append(name)
        inside.remove(name)
        gate.leave()

    await gate.enter()  # held: everyone queues
    tasks = [asyncio.create_task(turn(i)) for i in range(6)]
    await asyncio.sleep(0.01)
    assert order == []
    gate.leave()
    await asyncio.gather(*tasks)
    assert order == list(range(6))


async def test_a_session_inside_another_of_the_same_task_does_not_wait_for_itself() -> None:
    gate = Gate()
    await gate.enter()
    async with asyncio.timeout(1):  # in this task (wait_for would make one of its own)
        await gate.enter()
    gate.leave()
    gate.leave()
    async with asyncio.timeout(1):
        await gate.enter()  # free again
    gate.leave()


@pytest.mark.parametrize("handed_first", [False, True])
async def test_a_waiter_cancelled_gives_its_turn_to_the_next(handed_first: bool) -> None:
    gate = Gate()
    await gate.enter()
    first = asyncio.create_task(gate.enter())
    second = asyncio.create_task(gate.enter())
    await asyncio.sleep(0)
    if handed_first:  # handed to `first` just as it is cancelled: it must pass it on
        gate.leave()
        first.cancel()
    else:  # cancelled while waiting: its place goes
        first.cancel()
        gate.leave()
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.wait_for(second, 1)
    assert not gate._waiting


async def test_a_transaction_that_waits_too_long_fails_and_leaves_no_trace() -> None:
    """As SQLite's busy timeout did before the gate: an error, not a wait for ever."""
    gate = Gate(patience=0.05)
    await gate.enter()
    with pytest.raises(GateTimeout):
        await asyncio.wait_for(asyncio.create_task(gate.enter()), 2)
    assert not gate._waiting
    gate.leave()
    await asyncio.wait_for(asyncio.create_task(gate.enter()), 1)  # free again


async def test_a_holder_whose_task_ended_without_leaving_does_not_block_for_ever() -> None:
    gate = Gate()
    await asyncio.create_task(gate.enter())  # that task ends holding it
    await asyncio.wait_for(gate.enter(), 1)
    gate.leave()


async def test_a_writer_waits_for_a_long_transaction_instead_of_failing(tmp_path: Path) -> None:
    """SQLite alone would make the second writer give up after its busy timeout (20 ms
    here): at the gate it waits its turn, however long the first one takes."""
    engine = create_engine(f"sqlite:///{tmp_path / 'gate.db'}")

    @event.listens_for(engine.sync_engine, "connect")
    def short_busy_timeout(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=20")

    sessions = session_factory(engine)
    async with sessions() as s, s.begin():
        await s.execute(sa.text("CREATE TABLE t (x INTEGER)"))

    holding = asyncio.Event()

    async def second() -> None:
        async with sessions() as s, s.begin():
            await s.execute(sa.text("INSERT INTO t VALUES (2)"))

    async with sessions() as s, s.begin():
        await s.execute(sa.text("INSERT INTO t VALUES (1)"))
        holding.set()
        other = asyncio.create_task(second())
        gate = gate_for(engine)
        # Hold the lock until the second writer waits at the gate, or gave up without it
        # (polled: nothing signals either).
        while not gate._waiting and not other.done():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # five busy timeouts
    await other  # raises "database is locked" without the gate
    async with sessions() as s:
        assert (await s.execute(sa.text("SELECT x FROM t ORDER BY x"))).scalars().all() == [1, 2]
    await engine.dispose()


def test_the_gate_waits_as_long_as_sqlite_would() -> None:
    assert PATIENCE * 1000 == SQLITE_BUSY_TIMEOUT_MS
