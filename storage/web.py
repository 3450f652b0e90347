"""The web view's tables (storage/tables.py: web_links, web_sessions, web_readers)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storage import tables as t


class SqlWebAccess:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def use_link(
        self, nonce: str, person_id: int, expires_at: datetime, now: datetime
    ) -> bool:
        # Expired links can never be used again, so their rows may go; the unique nonce makes
        # a second redemption fail even when two arrive at once (the loser's insert conflicts).
        await self.s.execute(sa.delete(t.web_links).where(t.web_links.c.expires_at < now))
        seen = await self.s.scalar(sa.select(t.web_links.c.id).where(t.web_links.c.nonce == nonce))
        if seen is not None:
            return False
        try:
            async with self.s.begin_nested():
                await self.s.execute(
                    sa.insert(t.web_links).values(
                        nonce=nonce, person_id=person_id, expires_at=expires_at, used_at=now
                    )
                )
        except sa.exc.IntegrityError:
            return False
        return True

    async def open_session(
        self, secret_hash: str, person_id: int, csrf: str, now: datetime, expires_at: datetime
    ) -> None:
        await self.s.execute(sa.delete(t.web_sessions).where(t.web_sessions.c.expires_at < now))
        await self.s.execute(
            sa.insert(t.web_sessions).values(
                secret_hash=secret_hash,
                person_id=person_id,
                csrf=csrf,
                created_at=now,
                expires_at=expires_at,
            )
        )

    async def session(self, secret_hash: str, now: datetime) -> tuple[int, str] | None:
        row = (
            await self.s.execute(
                sa.select(t.web_sessions.c.person_id, t.web_sessions.c.csrf).where(
                    t.web_sessions.c.secret_hash == secret_hash,
                    t.web_sessions.c.expires_at > now,
                )
            )
        ).first()
        return (row.person_id, row.csrf) if row is not None else None

    async def close_session(self, secret_hash: str) -> None:
        await self.s.execute(
            sa.delete(t.web_sessions).where(t.web_sessions.c.secret_hash == secret_hash)
        )

    async def reader_teams(self, person_id: int) -> Sequence[int]:
        rows = await self.s.scalars(
            sa.select(t.web_readers.c.team_id)
            .where(t.web_readers.c.person_id == person_id)
            .order_by(t.web_readers.c.team_id)
        )
        return list(rows)

    async def readers(self, team_id: int) -> Sequence[int]:
        rows = await self.s.scalars(
            sa.select(t.web_readers.c.person_id)
            .where(t.web_readers.c.team_id == team_id)
            .order_by(t.web_readers.c.id)
        )
        return list(rows)

    async def grant_reader(self, team_id: int, person_id: int, by: int, now: datetime) -> bool:
        if person_id in await self.readers(team_id):
            return False
        await self.s.execute(
            sa.insert(t.web_readers).values(
                team_id=team_id, person_id=person_id, granted_by=by, granted_at=now
            )
        )
        return True

    async def revoke_reader(self, team_id: int, person_id: int) -> bool:
        result = await self.s.execute(
            sa.delete(t.web_readers).where(
                t.web_readers.c.team_id == team_id, t.web_readers.c.person_id == person_id
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
