"""Sends what is due in the outbox through a platform sender, and marks it sent.

A message is marked sent only after the sender returned: a crash in between means it is sent
again after its lease runs out (at least once), never lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime, timedelta
from typing import Any

from handlers.messages import Destination, Message, decode_destination, decode_message
from handlers.model import OutboxMessage
from handlers.nudges import Later, Outcome, Skip
from handlers.ports import Clock, OutboxWorker
from storage.outbox import MAX_ATTEMPTS

log = logging.getLogger(__name__)

Send = Callable[[OutboxMessage, Destination, Message], Awaitable[None]]
# Turns a nudge row into what it should be now (handlers.nudges.prepare in a transaction).
Prepare = Callable[[OutboxMessage], Awaitable[Outcome]]


MARK_ATTEMPTS = 7  # with MARK_BACKOFF doubling: about 16 s of trying, well inside a lease
MARK_BACKOFF = 0.125
LEASE_SHARE = 0.5  # of the lease a batch may use before it hands back what it has not sent


class RetryLater(Exception):
    """The platform asked us to wait (429 Retry-After) or was briefly down (5xx)."""

    def __init__(self, seconds: float, reason: str, sent: int = 0) -> None:
        super().__init__(reason)
        self.seconds = seconds
        self.reason = reason
        self.sent = sent  # parts of a long message that did go out before this


class OutboxDispatcher:
    def __init__(
        self,
        worker: OutboxWorker,
        send: Send,
        clock: Clock,
        *,
        lease_seconds: int = 60,
        batch: int = 50,
        prepare: Prepare | None = None,
        only_kinds: Collection[str] = (),
        except_kinds: Collection[str] = (),
        concurrency: int = 1,
    ) -> None:
        """`only_kinds`/`except_kinds` make a lane: the assistant's slow jobs in one, every
        other message in another, so a model call never holds up a round's messages. With
        `concurrency` above 1 a batch of that many runs at once (each its own transactions)."""
        self.prepare = prepare
        self.only_kinds = tuple(only_kinds)
        self.except_kinds = tuple(except_kinds)
        self.concurrency = concurrency
        self.stopping = False
        self.worker = worker
        self.send = send
        self.clock = clock
        self.lease_seconds = lease_seconds
        self.batch = concurrency if concurrency > 1 else batch

    def stop(self) -> None:
        """Finish the message being sent, hand the rest of the batch back, claim no more."""
        self.stopping = True

    async def run_once(self) -> int:
        """Send one batch of due messages; returns how many were claimed."""
        if self.stopping:
            return 0
        claimed = await self.worker.claim_due(
            self.clock.now(),
            self.lease_seconds,
            self.batch,
            only_kinds=self.only_kinds,
            except_kinds=self.except_kinds,
        )
        if self.concurrency > 1:
            await asyncio.gather(*(self._dispatch(item) for item in claimed))
            return len(claimed)
        started = time.monotonic()
        for n, item in enumerate(claimed):
            # The lease covers the whole batch. Past half of it (slow sends, a stop), hand the
            # rest back rather than risk another worker taking them over and sending them too.
            if self.stopping or time.monotonic() - started > self.lease_seconds * LEASE_SHARE:
                await self.worker.release([m.id for m in claimed[n:] if m.id is not None])
                break
            await self._dispatch(item)
        return len(claimed)

    async def _dispatch(self, item: OutboxMessage) -> None:
        """Prepare (a nudge or an assistant job), send and mark one claimed row."""
        assert item.id is not None
        if "nudge" in item.payload:
            try:
                outcome = await self._prepare(item)
            except Exception as exc:  # one row that cannot be prepared must not stop the rest
                log.warning("preparing %s failed: %s", item.kind, type(exc).__name__)
                await self.worker.mark_failed(item.id, type(exc).__name__, self._retry(item))
                return
            if isinstance(outcome, Skip):
                await self.worker.mark_skipped(item.id, outcome.reason)
                return
            if isinstance(outcome, Later):
                await self.worker.reschedule(item.id, outcome.when)
                return
            message = outcome.message
        else:
            message = decode_message(item.payload)
        try:
            await self.send(item, decode_destination(item.destination), message)
        except RetryLater as later:
            retry_at: datetime | None = self.clock.now() + timedelta(seconds=later.seconds)
            if item.attempts >= MAX_ATTEMPTS:
                retry_at = None
            log.info("sending %s later: %s", item.kind, later.reason)
            # Parts that went out before the refusal are not sent again.
            skip = int(item.payload.get("skip", 0)) + later.sent if later.sent else None
            await self._mark(self.worker.mark_failed, item.id, later.reason, retry_at, skip=skip)
            return
        except Exception as exc:  # a platform error must not stop the other messages
            log.warning("sending %s failed: %s", item.kind, type(exc).__name__)
            await self._mark(self.worker.mark_failed, item.id, type(exc).__name__,
                             self._retry(item))  # fmt: skip
            return
        await self._mark(self.worker.mark_sent, item.id, self.clock.now())

    async def _mark(self, mark: Callable[..., Awaitable[None]], *args: Any, **kwargs: Any) -> None:
        """Record what happened to a row, through a database blip: a mark that is lost leaves
        the row leased, and it would be sent again once the lease runs out."""
        for attempt in range(MARK_ATTEMPTS):
            try:
                await mark(*args, **kwargs)
                return
            except Exception as exc:
                if attempt == MARK_ATTEMPTS - 1:
                    log.error("a row's outcome could not be stored: %s", type(exc).__name__)
                    return
                await asyncio.sleep(MARK_BACKOFF * 2**attempt)

    def _retry(self, item: OutboxMessage) -> datetime | None:
        """When to try a failed row again (backing off), or None: it used all its attempts."""
        if item.attempts >= MAX_ATTEMPTS:
            return None
        return self.clock.now() + timedelta(seconds=2**item.attempts)

    async def _prepare(self, item: OutboxMessage) -> Outcome:
        if self.prepare is None:
            return Skip("unknown")
        return await self.prepare(item)

    async def drain(self) -> int:
        total = 0
        while count := await self.run_once():
            total += count
        return total
