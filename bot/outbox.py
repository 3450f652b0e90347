"""Sends what is due in the outbox through a platform sender, and marks it sent.

A message is marked sent only after the sender returned: a crash in between means it is sent
again (at least once), never lost. Leases are short and renewed by a heartbeat while the
worker works on its rows, so a dead worker's rows are free again within one lease; and a
worker that starts again under the same name takes back what it held at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot import metrics
from bot.logs import EVENT_ID
from handlers.messages import Destination, Message, decode_destination, decode_message
from handlers.model import OutboxMessage
from handlers.nudges import Later, Outcome, Skip
from handlers.ports import Clock, LeaseHolder, OutboxWorker
from storage.outbox import MAX_ATTEMPTS

log = logging.getLogger(__name__)

Send = Callable[[OutboxMessage, Destination, Message], Awaitable[None]]
# Turns a nudge row into what it should be now (handlers.nudges.prepare in a transaction).
Prepare = Callable[[OutboxMessage], Awaitable[Outcome]]
# Around each claimed batch (bot.delivery reads its recipients in one go before it, and saves
# the DM channels it opened in one go after it).
LookAhead = Callable[[Sequence[OutboxMessage]], contextlib.AbstractAsyncContextManager[object]]


MARK_ATTEMPTS = 7  # with MARK_BACKOFF doubling: about 16 s of trying, well inside a lease
MARK_BACKOFF = 0.125
LEASE_SHARE = 0.5  # of the lease a batch may use before it hands back what it has not sent
HEARTBEATS = 3  # renewals per lease: two can be missed (a stall, a blip) before it runs out


def lease_holder(instance: str) -> LeaseHolder:
    """This process as a lease holder: the host and `instance` (COULISSE_INSTANCE, or the port
    it serves on) name it across restarts; the pid and a random part name this start."""
    return LeaseHolder(
        f"{socket.gethostname()}:{instance}", f"{os.getpid()}:{uuid.uuid4().hex[:12]}"
    )


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
        holder: LeaseHolder | None = None,
        heartbeat_seconds: float | None = None,
        look_ahead: LookAhead | None = None,
    ) -> None:
        """`only_kinds`/`except_kinds` make a lane: the assistant's slow jobs in one, every
        other message in another, so a model call never holds up a round's messages. With
        `concurrency` above 1 a batch of that many runs at once (each its own transactions)."""
        self.prepare = prepare
        self.look_ahead = look_ahead
        self.only_kinds = tuple(only_kinds)
        self.except_kinds = tuple(except_kinds)
        self.concurrency = concurrency
        self.stopping = False
        self.worker = worker
        self.send = send
        self.clock = clock
        self.lease_seconds = lease_seconds
        self.batch = concurrency if concurrency > 1 else batch
        # Without a name (tests, the console) a dispatcher's own: it takes back nothing.
        self.holder = holder or lease_holder(f"pid{os.getpid()}:{uuid.uuid4().hex[:12]}")
        self.heartbeat_seconds = heartbeat_seconds or lease_seconds / HEARTBEATS
        self._taken_back = False

    def stop(self) -> None:
        """Finish the message being sent, hand the rest of the batch back, claim no more."""
        self.stopping = True

    async def run_once(self) -> int:
        """Send one batch of due messages; returns how many were claimed."""
        if self.stopping:
            return 0
        if not self._taken_back:  # the first run after a start: what the last run held
            taken = await self.worker.take_back(self.holder)
            if taken:
                log.info("took back %d outbox rows from this worker's last run", taken)
            self._taken_back = True
        claimed = await self.worker.claim_due(
            self.clock.now(),
            self.lease_seconds,
            self.batch,
            only_kinds=self.only_kinds,
            except_kinds=self.except_kinds,
            holder=self.holder,
        )
        if not claimed:
            return 0
        held = {m.id for m in claimed if m.id is not None}
        heartbeat = asyncio.create_task(self._heartbeat(held))
        try:
            if self.look_ahead is None:
                await self._dispatch_all(claimed, held)
            else:
                async with self.look_ahead(claimed):
                    await self._dispatch_all(claimed, held)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        return len(claimed)

    async def _dispatch_all(self, claimed: Sequence[OutboxMessage], held: set[int]) -> None:
        async def one(item: OutboxMessage) -> None:
            try:
                await self._dispatch(item)
            finally:
                held.discard(item.id or 0)

        if self.concurrency > 1:
            await asyncio.gather(*(one(item) for item in claimed))
            return
        started = time.monotonic()
        for n, item in enumerate(claimed):
            # Past half the lease (slow sends, a stop), hand the rest back for other workers
            # rather than hold them: the heartbeat keeps what is held, not what could go out.
            if self.stopping or time.monotonic() - started > self.lease_seconds * LEASE_SHARE:
                rest = [m.id for m in claimed[n:] if m.id is not None]
                await self.worker.release(rest)
                held.difference_update(rest)
                return
            await one(item)

    async def _heartbeat(self, held: set[int]) -> None:
        """Renew the leases of the rows not yet done, while this worker works on them: a send
        that takes longer than a lease (a long message paced part by part, a model call) is
        not taken over by another worker, and a dead worker's leases run out in seconds."""
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            if not held:
                continue
            until = self.clock.now() + timedelta(seconds=self.lease_seconds)
            try:
                await self.worker.renew(sorted(held), self.holder, until)
            except Exception as exc:  # a blip: the next beat tries again, well inside the lease
                log.warning("renewing outbox leases failed: %s", type(exc).__name__)

    async def _dispatch(self, item: OutboxMessage) -> None:
        """Prepare (a nudge or an assistant job), send and mark one claimed row."""
        assert item.id is not None
        EVENT_ID.set(str(item.payload.get("event_id") or f"outbox-{item.id}"))  # its log lines
        if "nudge" in item.payload:
            try:
                outcome = await self._prepare(item)
            except Exception as exc:  # one row that cannot be prepared must not stop the rest
                log.warning("preparing %s failed: %s", item.kind, type(exc).__name__)
                await self.worker.mark_failed(item.id, type(exc).__name__, self._retry(item))
                metrics.tried_again(item.kind, gave_up=item.attempts >= MAX_ATTEMPTS)
                return
            if isinstance(outcome, Skip):
                await self.worker.mark_skipped(item.id, outcome.reason)
                metrics.delivered(item.kind, "skipped")
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
            metrics.tried_again(item.kind, gave_up=retry_at is None)
            return
        except Exception as exc:  # a platform error must not stop the other messages
            log.warning("sending %s failed: %s", item.kind, type(exc).__name__)
            await self._mark(self.worker.mark_failed, item.id, type(exc).__name__,
                             self._retry(item))  # fmt: skip
            metrics.tried_again(item.kind, gave_up=item.attempts >= MAX_ATTEMPTS)
            return
        await self._mark(self.worker.mark_sent, item.id, self.clock.now())
        metrics.delivered(item.kind, "sent")

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
