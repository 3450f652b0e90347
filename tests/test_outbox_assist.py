"""The outbox and the assistant's jobs: a job that cannot be prepared does not stop the other
messages, and the model's calls run in their own lane, never in front of a round's messages."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.clock import ManualClock
from bot.outbox import OutboxDispatcher
from bot.wiring import App
from handlers.messages import Destination, Message, Text, encode_destination, message
from handlers.model import OutboxMessage, OutboxStatus
from handlers.nudges import Outcome, Ready

NOW = datetime(2027, 3, 9, 9, 0, tzinfo=UTC)


def _row(key: str, kind: str = "reveal", nudge: bool = False) -> OutboxMessage:
    payload: dict[str, object] = {"nudge": {"type": kind, "job": key}} if nudge else {"blocks": []}
    return OutboxMessage(key, kind, encode_destination(Destination.channel(1)), payload, NOW)


async def test_a_job_that_cannot_be_prepared_is_retried_later_and_the_batch_goes_on(
    app: App,
) -> None:
    async with app.uow() as uow:
        await uow.outbox.enqueue(_row("first"))
        await uow.outbox.enqueue(_row("broken", "assist", nudge=True))
        await uow.outbox.enqueue(_row("fine", "assist", nudge=True))
        await uow.outbox.enqueue(_row("last"))
        await uow.commit()
    sent: list[str] = []

    async def send(item: OutboxMessage, _to: Destination, _message: Message) -> None:
        sent.append(item.dedupe_key)

    async def prepare(item: OutboxMessage) -> Outcome:
        if item.dedupe_key == "broken":
            raise RuntimeError("the database refused the usage row")
        return Ready(message(Text("ok")))

    clock = ManualClock(NOW)
    dispatcher = OutboxDispatcher(app.outbox, send, clock, prepare=prepare)
    assert await dispatcher.drain() == 4  # the drain did not stop at the broken row
    assert sent == ["first", "fine", "last"]
    async with app.uow() as uow:
        broken = await uow.outbox.by_key("broken")
    assert broken is not None and broken.status == OutboxStatus.PENDING
    assert broken.reason == "RuntimeError" and broken.attempts == 1
    assert broken.due_at > NOW and broken.lease_until is None  # backs off, not every lease
