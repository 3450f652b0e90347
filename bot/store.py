"""The database alone: its engine and units of work, migrated if it needs to be.

`bot.wiring.build` adds the handlers to it for the processes that run sessions (`serve`, the
console, the demo). The commands that only read or change rows (`coulisse nudges list`,
`export`, `forget`, `purge`, `status`, `map export`) open just this, so they load neither the
router nor the handlers behind it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_engine, session_factory
from storage.schema_version import up_to_date
from storage.uow import SqlUnitOfWork


class SqlUnitOfWorkFactory:
    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = session_factory(engine)

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._sessions)


@dataclass
class Store:
    engine: AsyncEngine
    uow: SqlUnitOfWorkFactory

    async def close(self) -> None:
        await self.engine.dispose()


async def open_store(database_url: str, *, migrate: bool = True) -> Store:
    """The embedded SQLite default migrates itself on start; so does any database behind."""
    engine = create_engine(database_url)
    if migrate and not await up_to_date(engine):
        from storage.migrate import upgrade_async  # Alembic, only when there is work for it

        try:
            await upgrade_async(database_url)
        except BaseException:
            await engine.dispose()
            raise
    return Store(engine, SqlUnitOfWorkFactory(engine))
