"""Sends what is due in the outbox through a platform sender, and marks it sent.

A message is marked sent only after the sender returned: a crash in between means it is sent
again after its lease runs out (at least once), never lost.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from handlers.messages import Destination, Message, decode_destination, decode_message
from handlers.model import OutboxMessage
from handlers.ports import Clock
from storage.outbox import MAX_ATTEMPTS, SqlOutboxWorker

log = logging.getLogger(__name__)

Send = Callable[[OutboxMessage, Destination, Message], Awaitable[None]]


class OutboxDispatcher:
    def __init__(
        self,
        worker: SqlOutboxWorker,
        send: Send,
        clock: Clock,
        *,
        lease_seconds: int = 60,
        batch: int = 50,
    ) -> None:
        self.worker = worker
        self.send = send
        self.clock = clock
        self.lease_seconds = lease_seconds
        self.batch = batch

    async def run_once(self) -> int:
        """Send one batch of due messages; returns how many were claimed."""
        claimed = await self.worker.claim_due(self.clock.now(), self.lease_seconds, self.batch)
        for item in claimed:
            assert item.id is not None
            try:
                await self.send(
                    item, decode_destination(item.destination), decode_message(item.payload)
                )
            except Exception as exc:  # a platform error must not stop the other messages
                log.warning("sending %s failed: %s", item.kind, type(exc).__name__)
                retry = None
                if item.attempts < MAX_ATTEMPTS:
                    retry = self.clock.now() + timedelta(seconds=2**item.attempts)
                await self.worker.mark_failed(item.id, type(exc).__name__, retry)
                continue
            await self.worker.mark_sent(item.id, self.clock.now())
        return len(claimed)

    async def drain(self) -> int:
        total = 0
        while count := await self.run_once():
            total += count
        return total
