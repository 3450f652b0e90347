"""One SQLite transaction at a time in this process, handed on in the order they asked.

Every SQLite transaction here begins with BEGIN IMMEDIATE and so holds the file's one write
lock. Left to SQLite, a second connection that wants it sleeps in steps of up to 100 ms
(its busy handler) and may miss the moment the lock is free: under a burst an ack waited
100–300 ms for a lock held 5 ms. Queued here instead, the next transaction starts the moment
the previous one ends. Other processes on the same file still meet SQLite's busy handler.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

# As long as SQLite's own busy timeout (storage/db.py): a transaction that waits longer fails
# as it did before the gate ("database is locked"), rather than waiting for ever, say for a
# session its own task handed to another task.
PATIENCE = 5.0


class GateTimeout(TimeoutError):
    """This process's other transactions held the database longer than `PATIENCE`."""


class Gate:
    def __init__(self, patience: float = PATIENCE) -> None:
        self.patience = patience
        self._holder: asyncio.Task[Any] | asyncio.Future[None] | None = None
        self._depth = 0
        self._waiting: deque[asyncio.Future[None]] = deque()

    async def enter(self) -> None:
        task = asyncio.current_task()
        if task is not None and self._holder is task:
            # A session opened inside another by the same task: as before the gate, SQLite's
            # own lock decides (waiting here would wait for ourselves).
            self._depth += 1
            return
        if self._busy():
            turn = asyncio.get_running_loop().create_future()
            self._waiting.append(turn)
            try:
                async with asyncio.timeout(self.patience):
                    await turn
            except TimeoutError:
                if not _handed(turn):  # else it came just as the time ran out: ours after all
                    if turn in self._waiting:  # (a hand-on may have passed it over already)
                        self._waiting.remove(turn)
                    raise GateTimeout(f"waited {self.patience:g} s for the database") from None
            except asyncio.CancelledError:
                if _handed(turn):  # handed the gate as we were cancelled: the next one's
                    self._holder = None
                    self._hand_on()
                elif turn in self._waiting:
                    self._waiting.remove(turn)
                raise
        self._holder, self._depth = task, 1

    def leave(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._holder = None
            self._hand_on()

    def _busy(self) -> bool:
        holder = self._holder
        if holder is not None and (
            holder.get_loop().is_closed() or (isinstance(holder, asyncio.Task) and holder.done())
        ):
            self._holder = None  # it ended without leaving (its loop torn down): free
        return self._holder is not None or bool(self._waiting)

    def _hand_on(self) -> None:
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done() and not turn.get_loop().is_closed():
                self._holder = turn  # reserved for it until it runs
                turn.set_result(None)
                return


def _handed(turn: asyncio.Future[None]) -> bool:
    return turn.done() and not turn.cancelled()


_GATES: WeakKeyDictionary[Any, Gate] = WeakKeyDictionary()


def gate_for(engine: AsyncEngine) -> Gate:
    """The gate of this engine's database (one per engine; only SQLite's are used)."""
    return _GATES.setdefault(engine.sync_engine, Gate())


class GatedSession(AsyncSession):
    """An AsyncSession that waits for its database's gate as it opens (`async with`) and
    gives it up once closed."""

    async def __aenter__(self) -> GatedSession:
        await take_turn(self)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        try:
            await super().__aexit__(*exc)
        finally:
            end_turn(self)


async def take_turn(session: AsyncSession) -> None:
    """Before a session's first statement: on SQLite, wait for the gate."""
    if isinstance(session, GatedSession):
        await gate_for(session.bind).enter()  # type: ignore[arg-type]


def end_turn(session: AsyncSession) -> None:
    """Once the session is closed."""
    if isinstance(session, GatedSession):
        gate_for(session.bind).leave()  # type: ignore[arg-type]
