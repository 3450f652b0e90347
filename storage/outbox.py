"""Claiming due outbox rows for sending, safely across processes.

PostgreSQL: `FOR UPDATE SKIP LOCKED` lets several workers claim disjoint rows. SQLite: every
transaction starts with BEGIN IMMEDIATE (see storage.db), so one claim runs at a time.
A claim sets a lease and names its holder; a row whose lease ran out (its worker died) can be
claimed again, and a worker that starts again takes back what it held at once (`take_back`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.model import OutboxMessage, OutboxStatus
from handlers.ports import LeaseHolder
from storage import tables as t

MAX_ATTEMPTS = 8


class SqlOutboxWorker:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def claim_due(
        self,
        now: datetime,
        lease_seconds: int,
        limit: int,
        *,
        only_kinds: Collection[str] = (),
        except_kinds: Collection[str] = (),
        holder: LeaseHolder | None = None,
    ) -> Sequence[OutboxMessage]:
        """Due rows, leased to `holder`; only of `only_kinds` (when given), none of
        `except_kinds`: so a slow kind (the assistant's model calls) gets a lane of its own."""
        o = t.outbox.c
        lane = []
        if only_kinds:
            lane.append(o.kind.in_(list(only_kinds)))
        if except_kinds:
            lane.append(o.kind.not_in(list(except_kinds)))
        async with self._sessions() as s, s.begin():
            due: Any = (
                sa.select(o.id)
                .where(
                    o.status == OutboxStatus.PENDING.value,
                    o.due_at <= now,
                    sa.or_(o.lease_until.is_(None), o.lease_until < now),
                    *lane,
                )
                .order_by(o.due_at, o.id)
                .limit(limit)
            )
            if s.bind.dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True)
            claimed = await s.scalars(
                sa.update(OutboxMessage)
                .where(o.id.in_(due.scalar_subquery()))
                .values(
                    lease_until=now + timedelta(seconds=lease_seconds),
                    leased_by=holder.name if holder else None,
                    lease_run=holder.run if holder else None,
                    attempts=o.attempts + 1,
                )
                .returning(OutboxMessage)  # the rows themselves: one statement, no reading back
                .execution_options(synchronize_session=False)
            )
            return sorted(claimed.all(), key=lambda m: (m.due_at, m.id or 0))

    async def renew(self, message_ids: list[int], holder: LeaseHolder, until: datetime) -> int:
        """Extend the leases this run still holds: a row another worker took over after the
        lease ran out (a long stall) is not taken back from it."""
        if not message_ids:
            return 0
        o = t.outbox.c
        async with self._sessions() as s, s.begin():
            result = await s.execute(
                sa.update(t.outbox)
                .where(
                    o.id.in_(message_ids),
                    o.status == OutboxStatus.PENDING.value,
                    o.lease_until.is_not(None),
                    o.leased_by == holder.name,
                    o.lease_run == holder.run,
                )
                .values(lease_until=until)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    async def take_back(self, holder: LeaseHolder) -> int:
        """Free what an earlier run of this worker held when it died (same name, another run):
        nobody else is working on those rows, so they need not wait out their lease."""
        o = t.outbox.c
        async with self._sessions() as s, s.begin():
            result = await s.execute(
                sa.update(t.outbox)
                .where(
                    o.status == OutboxStatus.PENDING.value,
                    o.lease_until.is_not(None),
                    o.leased_by == holder.name,
                    o.lease_run != holder.run,
                )
                .values(lease_until=None)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    async def mark_sent(self, message_id: int, at: datetime) -> None:
        await self._run(_mark_sent(), {"row": message_id, "at": at})

    async def mark_skipped(self, message_id: int, reason: str) -> None:
        await self._set(message_id, status=OutboxStatus.SKIPPED, reason=reason, lease_until=None)

    async def release(self, message_ids: list[int]) -> None:
        """Hand claimed rows back unsent: due as before, claimable at once, no attempt used."""
        if not message_ids:
            return
        o = t.outbox.c
        async with self._sessions() as s, s.begin():
            await s.execute(
                sa.update(t.outbox)
                .where(o.id.in_(message_ids), o.status == OutboxStatus.PENDING.value)
                .values(lease_until=None, attempts=o.attempts - 1)
            )

    async def reschedule(self, message_id: int, when: datetime) -> None:
        """Not now but at `when` (a nudge that fell due in someone's quiet hours): not a failure."""
        o = t.outbox.c
        await self._set(message_id, due_at=when, lease_until=None, attempts=o.attempts - 1)

    async def mark_failed(
        self, message_id: int, reason: str, retry_at: datetime | None, *, skip: int | None = None
    ) -> None:
        """Record a failed attempt: try again at `retry_at`, or give up when it is None."""
        if retry_at is None:
            await self._set(message_id, status=OutboxStatus.FAILED, reason=reason, lease_until=None)
            return
        o = t.outbox.c
        async with self._sessions() as s, s.begin():
            values: dict[str, Any] = {"reason": reason, "due_at": retry_at, "lease_until": None}
            if skip is not None:  # the progress is stored with the retry, in one statement
                payload = (await s.execute(sa.select(o.payload).where(o.id == message_id))).scalar()
                values["payload"] = {**(payload or {}), "skip": skip}
            await s.execute(sa.update(t.outbox).where(o.id == message_id).values(**values))

    async def _set(self, message_id: int, **values: Any) -> None:
        await self._run(sa.update(t.outbox).where(t.outbox.c.id == message_id).values(**values))

    async def _run(self, statement: Any, params: dict[str, Any] | None = None) -> None:
        """One row's outcome, one statement. On PostgreSQL it commits by itself (autocommit):
        one round trip where BEGIN and COMMIT made three, for every message sent. SQLite's
        transactions begin with BEGIN IMMEDIATE (storage.db), so there it keeps its own."""
        async with self._sessions() as s:
            if s.bind.dialect.name == "postgresql":
                own = await s.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
                await own.execute(statement, params)
                return
            async with s.begin():
                await s.execute(statement, params)


# The mark of every message sent, built once: one built per call is made and walked again for
# its cache key each time (a third of a mark's CPU in bench/nudges.py, issue 19).
@cache
def _mark_sent() -> Any:
    o = t.outbox.c
    return (
        sa.update(t.outbox)
        .where(o.id == sa.bindparam("row"))
        .values(status=OutboxStatus.SENT, sent_at=sa.bindparam("at"), lease_until=None)
    )
