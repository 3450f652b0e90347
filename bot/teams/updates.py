"""Cards updated in place (a ballot's counts), latest first: when votes come faster than the
conversation's limit allows updates, the ones in between are skipped — only the newest counts
matter. The person who voted hears back at once; the card follows within the limit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from bot.teams.connector import Connector, ConnectorError
from bot.teams.pacing import Pacer
from bot.teams.references import Address

log = logging.getLogger(__name__)

MAX_WAIT = 60.0


class CardUpdates:
    def __init__(self, connector: Connector, pacer: Pacer) -> None:
        self.connector = connector
        self.pacer = pacer
        self._latest: dict[tuple[Address, str], dict[str, Any]] = {}
        self._tasks: dict[tuple[Address, str], asyncio.Task[None]] = {}

    def schedule(self, where: Address, activity_id: str, activity: dict[str, Any]) -> None:
        key = (where, activity_id)
        self._latest[key] = activity
        if key not in self._tasks:
            self._tasks[key] = asyncio.create_task(self._run(key))

    async def _run(self, key: tuple[Address, str]) -> None:
        where, activity_id = key
        try:
            while key in self._latest:
                await self.pacer.acquire(where.conversation_id, MAX_WAIT)
                activity = self._latest.pop(key)
                try:
                    await self.connector.update(
                        where.service_url, where.conversation_id, activity_id, activity
                    )
                except ConnectorError as error:  # the next vote brings the counts again
                    log.warning("updating a card failed: %s", error.status)
                except Exception as error:
                    log.warning("updating a card failed: %s", type(error).__name__)
        finally:
            del self._tasks[key]

    async def settle(self) -> None:
        """Wait until every scheduled update has been sent (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)
