"""APScheduler fires the ticks; it is not the store of what is due (the database is).

Interval jobs, no arguments, nothing pickled: handle deliveries that were kept but not handled
(a crash, a database blip between the 200 and the work), send what is due in the outbox, run the
assistant's jobs (a lane of their own, so a slow model never delays a round's messages), and
move the clock of sessions (starts, round closes, series, the Monday digest). Both run once right
away, so what fell due while the process was down goes out within a minute of a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config import Settings
from bot.outbox import OutboxDispatcher
from bot.wiring import App
from handlers.router import WorkspaceRoster
from handlers.schedule import tick

# A tick skipped because the previous one still runs is expected under load, not a warning.
logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
log = logging.getLogger(__name__)


class Ticks:
    """The scheduler and the jobs it has running, so that stopping waits for them: a job cut
    off mid-transaction would leave its database connection (and locks) behind."""

    def __init__(
        self,
        app: App,
        dispatcher: OutboxDispatcher,
        settings: Settings,
        assistant: OutboxDispatcher | None = None,
        rosters: Mapping[str, WorkspaceRoster] | None = None,
    ) -> None:
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.dispatchers = [d for d in (dispatcher, assistant) if d is not None]
        self._running: set[asyncio.Task[object]] = set()

        async def send_due() -> None:
            await dispatcher.drain()

        async def draft_due() -> None:
            if assistant is not None:
                await assistant.drain()

        async def handle_kept() -> None:
            # This worker's own deliveries from before it started again (it died with them) or
            # whose handling just failed, and whatever another worker left when its lease ran
            # out. While the database is away there is nothing to take: said once a tick.
            try:
                while await app.coulisse.handle_kept(rosters=rosters):
                    pass
            except Exception as error:
                log.warning("kept deliveries could not be read: %s", type(error).__name__)

        async def purge() -> None:  # the retention period of the privacy text, kept by itself
            before = app.coulisse.clock.now() - timedelta(days=settings.retention_days)
            async with app.uow() as uow:
                if await uow.privacy.purge(before):
                    log.info("the retention purge removed sessions past their period")
                await uow.commit()

        async def move_sessions() -> None:
            await tick(app.uow, app.coulisse.clock, app.coulisse.bounds, app.coulisse.policy)

        now = datetime.now(UTC)
        jobs = [
            (handle_kept, settings.outbox_interval, "intake"),
            (send_due, settings.outbox_interval, "outbox"),
            (move_sessions, settings.tick_interval, "tick"),
        ]
        if settings.purge_hours > 0:
            jobs.append((purge, settings.purge_hours * 3600, "purge"))
        if assistant is not None:  # its own lane: a model call never holds up the outbox
            jobs.append((draft_due, settings.outbox_interval, "assistant"))
        for job, seconds, name in jobs:
            self.scheduler.add_job(
                self._tracked(job),
                "interval",
                seconds=seconds,
                id=name,
                max_instances=1,  # a slow round is not run twice at once
                coalesce=True,  # missed runs collapse into one
                next_run_time=now,
            )

    def _tracked(self, job: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            task = asyncio.current_task()
            assert task is not None
            self._running.add(task)
            try:
                await job()
            finally:
                self._running.discard(task)

        return run

    def start(self) -> None:
        self.scheduler.start()

    async def stop(self) -> None:
        """No new runs; the outbox hands back what it has not sent; running jobs finish;
        only then the scheduler goes (its shutdown would cancel them mid-transaction)."""
        self.scheduler.pause()
        for dispatcher in self.dispatchers:
            dispatcher.stop()
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
        self.scheduler.shutdown(wait=False)
