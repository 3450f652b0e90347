"""The outbox and the assistant's jobs: a job that cannot be prepared does not stop the other
messages, and the model's calls run in their own lane, never in front of a round's messages."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from bot.clock import ManualClock
from bot.config import Settings
from bot.llm import OpenAISynthesizer
from bot.outbox import OutboxDispatcher
from bot.scheduler import Ticks
from bot.serve import outbox_lanes
from bot.wiring import App, build
from handlers.messages import Destination, Message, Text, encode_destination, message
from handlers.model import OutboxMessage, OutboxStatus
from handlers.nudges import Outcome, Ready
from tests.conftest import eventually
from tests.driver import Driver, started_session
from tests.fake_openai import FakeOpenAI

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


async def test_a_stalled_model_holds_up_none_of_the_rounds_messages(
    database_url: str, clock: ManualClock
) -> None:
    """The lanes as `coulisse serve` runs them, on the real scheduler: while the model stalls
    on the round's first reading, the reveal and the next round's opening go out."""
    fake = FakeOpenAI(mode="timeout", stall=30.0)
    runner = await fake.start()
    synthesizer = OpenAISynthesizer(
        model="m", api_key="sk-test", base_url=fake.url, timeout=20, max_retries=0
    )
    app = await build(database_url, clock, migrate=False, synthesizer=synthesizer)
    ticks: Ticks | None = None
    try:
        d = Driver(app)
        await started_session(d, fmt="custom", rounds="start-stop-continue group vote commit")
        await d.deliver()
        await d.cmd("Ahmed", "add", "stop: de wachtlijst per partner")
        await d.cmd("Fleur", "add", "start: één intake")
        await d.cmd("Sanne", "next")  # reveal, the first reading, the group round opens
        sent: list[tuple[str, float]] = []

        async def record(item: OutboxMessage, _to: Destination, _message: Message) -> None:
            sent.append((item.kind, time.monotonic()))

        settings = Settings(outbox_interval=0.05, tick_interval=3600, openai_api_key="k",
                            llm_model="m", llm_timeout=20, llm_max_retries=0)  # fmt: skip
        messages, drafts = outbox_lanes(app, record, settings)
        ticks = Ticks(app, messages, settings, assistant=drafts)
        started = time.monotonic()
        ticks.start()

        def kinds() -> list[str]:
            return [kind for kind, _ in sent]

        await eventually(lambda: {"reveal", "round-open"} <= set(kinds()), timeout=5)
        await eventually(lambda: len(fake.requests) == 2)  # both jobs called, both stalling
        assert "assist" not in kinds()
        opened = max(at for kind, at in sent if kind in ("reveal", "round-open")) - started
        assert opened < 3  # not after the 30 s stall (or the 20 s timeout)
        fake._released.set()  # the model answers now
        await eventually(lambda: kinds().count("assist") == 2, timeout=10)
        order = kinds()
        assert order.index("round-open") < order.index("assist")
        assert order.index("reveal") < order.index("assist")
    finally:
        if ticks is not None:
            await ticks.stop()
        await app.close()
        await fake.stop(runner)


async def test_claiming_by_kind_makes_disjoint_lanes(app: App) -> None:
    async with app.uow() as uow:
        for key, kind in [("a", "reveal"), ("b", "assist"), ("c", "nudge"), ("d", "assist")]:
            await uow.outbox.enqueue(_row(key, kind))
        await uow.commit()
    drafts = await app.outbox.claim_due(NOW, 60, 10, only_kinds=("assist",))
    rest = await app.outbox.claim_due(NOW, 60, 10, except_kinds=("assist",))
    assert [m.dedupe_key for m in drafts] == ["b", "d"]
    assert [m.dedupe_key for m in rest] == ["a", "c"]
