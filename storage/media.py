"""Pictures served for a while (handlers.ports.Media), in the database so that every instance
behind the public URL can answer for them."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import tables as t


class SqlMedia:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def put(self, key: str, data: bytes, now: datetime, expires: datetime) -> None:
        m = t.media.c
        async with self._sessions() as s, s.begin():
            await s.execute(sa.delete(t.media).where(m.expires_at <= now))
            await s.execute(
                sa.insert(t.media).values(key=key, data=data, created_at=now, expires_at=expires)
            )

    async def get(self, key: str, now: datetime) -> bytes | None:
        m = t.media.c
        async with self._sessions() as s:
            found = await s.execute(sa.select(m.data).where(m.key == key, m.expires_at > now))
            data = found.scalar()
        return None if data is None else bytes(data)
