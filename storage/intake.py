"""The durable intake (storage/tables.py: intake): deliveries kept before they are handled."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.ports import Delivery
from storage import tables as t
from storage.dialects import insert_for


class SqlIntake:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def keep(
        self, key: str, platform: str, event: dict[str, Any], now: datetime, worker: str,
        lease_until: datetime,
    ) -> int | None:  # fmt: skip
        stmt = (
            insert_for(self.s.bind.dialect.name)(t.intake)
            .on_conflict_do_nothing()
            .values(
                key=key,
                platform=platform,
                event=event,
                received_at=now,
                worker=worker,
                lease_until=lease_until,
                attempts=1,
            )
            .returning(t.intake.c.id)
        )
        return (await self.s.execute(stmt)).scalar()

    async def done(self, delivery_id: int) -> None:
        await self.s.execute(sa.delete(t.intake).where(t.intake.c.id == delivery_id))

    async def replying(
        self, delivery_id: int, replies: list[dict[str, Any]], lease_until: datetime
    ) -> None:
        await self.s.execute(
            sa.update(t.intake)
            .where(t.intake.c.id == delivery_id)
            .values(replies=replies, lease_until=lease_until)
        )

    async def answered(self, delivery_ids: Collection[int]) -> None:
        if delivery_ids:
            await self.s.execute(sa.delete(t.intake).where(t.intake.c.id.in_(list(delivery_ids))))

    async def claim(
        self,
        now: datetime,
        worker: str,
        lease_until: datetime,
        limit: int,
        *,
        own_idle_since: datetime | None = None,
        busy: Collection[int] = (),
    ) -> Sequence[Delivery]:
        i = t.intake.c
        free = i.lease_until <= now
        if own_idle_since is not None:
            mine = sa.and_(i.worker == worker, i.lease_until <= own_idle_since)
            if busy:
                mine = sa.and_(mine, i.id.not_in(list(busy)))
            free = sa.or_(free, mine)
        ids = sa.select(i.id).where(free)
        ids = ids.order_by(i.id).limit(limit)
        if self.s.bind.dialect.name == "postgresql":
            ids = ids.with_for_update(skip_locked=True)
        stmt = (
            sa.update(t.intake)
            .where(i.id.in_(ids.scalar_subquery()))
            .values(worker=worker, lease_until=lease_until, attempts=i.attempts + 1)
            .returning(i.id, i.event, i.attempts, i.replies)
        )
        rows = (await self.s.execute(stmt)).all()
        found = (Delivery(r.id, r.event, r.attempts, r.replies) for r in rows)
        return sorted(found, key=lambda d: d.id)

    async def waiting(self) -> int:
        count = sa.select(sa.func.count()).select_from(t.intake)
        return int((await self.s.execute(count)).scalar_one())
