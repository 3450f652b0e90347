"""Builds the object graph for one process: database, handlers, outbox."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store import SqlUnitOfWorkFactory, open_store
from handlers import nudges
from handlers.assist import ASSIST, Assistant
from handlers.etiquette import NudgePolicy
from handlers.loops import Bounds
from handlers.model import OutboxMessage
from handlers.nudges import Outcome
from handlers.people import WorkspaceDefaults
from handlers.ports import Clock, OutboxWorker, Synthesizer
from handlers.router import Coulisse
from storage.db import normalise_url, session_factory
from storage.outbox import SqlOutboxWorker

__all__ = ["App", "SqlUnitOfWorkFactory", "build", "is_sqlite"]


@dataclass
class App:
    engine: AsyncEngine
    coulisse: Coulisse
    outbox: OutboxWorker
    uow: SqlUnitOfWorkFactory
    assistant: Assistant

    async def prepare_nudge(self, item: OutboxMessage) -> Outcome:
        """A due nudge, rendered from the state now, in its own transaction."""
        if item.payload["nudge"].get("type") == ASSIST:
            return await self.assistant.prepare(item)  # its own transactions, the call between
        async with self.uow() as uow:
            return await nudges.prepare(uow, item, self.coulisse.clock.now(), self.coulisse.policy)

    async def close(self) -> None:
        if self.assistant.synthesizer is not None:
            await self.assistant.synthesizer.close()
        await self.engine.dispose()


def is_sqlite(url: str) -> bool:
    return make_url(normalise_url(url)).get_backend_name() == "sqlite"


async def build(
    database_url: str,
    clock: Clock,
    *,
    migrate: bool = True,
    bounds: Bounds | None = None,
    policy: NudgePolicy | None = None,
    synthesizer: Synthesizer | None = None,
    defaults: WorkspaceDefaults | None = None,
    retention_days: int = 730,
) -> App:
    """Wire everything. The embedded SQLite default migrates itself on start. Without a
    synthesizer (no LLM configured) the assistant uses its plain fallbacks."""
    store = await open_store(database_url, migrate=migrate)
    engine, uow = store.engine, store.uow
    # SQLite takes one writer at a time: more events at once would only queue on its lock
    # (polling), ahead of the short insert that acknowledges the next one.
    coulisse = Coulisse(
        uow,
        clock,
        bounds,
        policy,
        assistant=synthesizer is not None,
        defaults=defaults,
        concurrency=1 if is_sqlite(database_url) else 4,
        retention_days=retention_days,
    )
    assistant = Assistant(uow, clock, synthesizer)
    return App(engine, coulisse, SqlOutboxWorker(session_factory(engine)), uow, assistant)
