"""A retried row sends only what did not go out, and its outcome is stored through a blip."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.clock import ManualClock
from bot.outbox import OutboxDispatcher, RetryLater
from bot.wiring import App
from handlers.messages import Destination, Message, Text, message, outbox_row
from handlers.model import OutboxMessage, OutboxStatus

PARTS = 3


async def queue(app: App, now: datetime) -> None:
    async with app.uow() as uow:
        row = outbox_row(Destination.channel(1), message(Text("lang")), kind="reveal",
                         dedupe_key="long", due_at=now)  # fmt: skip
        await uow.outbox.enqueue(row)
        await uow.commit()


async def test_a_retry_sends_only_the_parts_that_did_not_go_out(
    app: App, clock: ManualClock
) -> None:
    await queue(app, clock.now())
    delivered: list[int] = []  # part numbers that reached the platform
    refused: list[int] = []  # the platform refuses part 2 once (a 429)

    async def send(item: OutboxMessage, _to: Destination, _msg: Message) -> None:
        skip = int(item.payload.get("skip", 0))
        for part in range(skip, PARTS):
            if part == 2 and not refused:
                refused.append(part)
                raise RetryLater(1, "rate limited", sent=part - skip)
            delivered.append(part)

    dispatcher = OutboxDispatcher(app.outbox, send, clock)
    await dispatcher.drain()
    clock.advance(timedelta(seconds=2))
    await dispatcher.drain()
    assert refused == [2] and delivered == [0, 1, 2], "each part exactly once"
    async with app.uow() as uow:
        row = await uow.outbox.by_key("long")
    assert row is not None and row.status == OutboxStatus.SENT


class Blipping:
    """The real worker, whose marks fail a few times first (the database restarting)."""

    def __init__(self, worker: Any, failures: int) -> None:
        self.worker, self.failures, self.marks = worker, failures, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.worker, name)

    async def mark_sent(self, message_id: int, at: datetime) -> None:
        self.marks += 1
        if self.failures:
            self.failures -= 1
            raise ConnectionRefusedError("the database is restarting")
        await self.worker.mark_sent(message_id, at)

    async def claim_due(self, *args: Any, **kwargs: Any) -> Sequence[OutboxMessage]:
        return await self.worker.claim_due(*args, **kwargs)


async def test_a_mark_that_fails_is_tried_again_and_the_row_is_not_sent_twice(
    app: App, clock: ManualClock
) -> None:
    await queue(app, clock.now())
    sent: list[str] = []

    async def send(item: OutboxMessage, _to: Destination, _msg: Message) -> None:
        sent.append(item.dedupe_key)

    worker = Blipping(app.outbox, failures=3)
    await OutboxDispatcher(worker, send, clock).drain()  # type: ignore[arg-type]
    clock.advance(timedelta(minutes=5))  # well past the lease
    await OutboxDispatcher(app.outbox, send, clock).drain()
    assert sent == ["long"] and worker.marks == 4
    async with app.uow() as uow:
        row = await uow.outbox.by_key("long")
    assert row is not None and row.status == OutboxStatus.SENT
