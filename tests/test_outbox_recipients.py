"""The recipients of a claimed batch are read in one transaction, with the DM channel each
person already has; a person erased before the batch is not sent to; and when that read
fails, every message still goes out, looking its recipient up itself. The DM channels a batch
opened are saved in one transaction after it, and a second message to the same person in it
goes to the channel the first opened."""

from __future__ import annotations

from collections import Counter
from typing import Any

import sqlalchemy as sa

from bot.clock import ManualClock
from bot.delivery import Delivery, Target
from bot.outbox import OutboxDispatcher
from bot.wiring import App
from handlers.messages import Destination, Message, Text, message, outbox_row
from handlers.model import ConversationRef, OutboxMessage, OutboxStatus, Person, Platform, Workspace

PEOPLE = 5


async def people_with_a_dm_each(app: App, clock: ManualClock) -> list[int]:
    """Five people, each with a DM queued; the first already has a saved DM channel."""
    async with app.uow() as uow:
        workspace = Workspace(Platform.SLACK, "T1")
        await uow.store(workspace)
        assert workspace.id is not None
        people = [Person(workspace.id, f"U{n}", f"Persoon {n}") for n in range(PEOPLE)]
        ids = [await uow.store(person) for person in people]
        await uow.conversations.save(
            ConversationRef(Platform.SLACK, "person", ids[0], {"channel": "D0"})
        )
        for n, person_id in enumerate(ids):
            row = outbox_row(Destination.dm(person_id), message(Text(f"hallo {n}")),
                             kind="digest", dedupe_key=f"dm{n}", due_at=clock.now())  # fmt: skip
            await uow.outbox.enqueue(row)
        await uow.commit()
    return ids


def transactions(app: App) -> Counter[str]:
    """Transactions begun on the app's engine, from now on."""
    begun: Counter[str] = Counter()
    sa.event.listen(app.engine.sync_engine, "begin", lambda _conn: begun.update(["begin"]))
    return begun


class Recorder:
    def __init__(self) -> None:
        self.targets: list[Target] = []

    async def __call__(self, _item: OutboxMessage, target: Target, _msg: Message) -> None:
        self.targets.append(target)


async def test_a_batch_reads_its_recipients_once(app: App, clock: ManualClock) -> None:
    ids = await people_with_a_dm_each(app, clock)
    async with app.uow() as uow:
        erased = await uow.get(Person, ids[4])
        assert erased is not None
        erased.erased = True
        await uow.commit()
    platform = Recorder()
    delivery = Delivery(app.uow, {Platform.SLACK: platform})
    dispatcher = OutboxDispatcher(app.outbox, delivery, clock, look_ahead=delivery.look_ahead)
    begun = transactions(app)
    await dispatcher.run_once()
    # Taking back what an earlier run held, the claim, one read for the batch, four marks;
    # the erased person's row is looked up again on its own (and refused), and its failure
    # stored. (A mark in autocommit sends no BEGIN on PostgreSQL; SQLAlchemy still counts it.)
    assert begun["begin"] == 1 + 1 + 1 + 4 + 1 + 1
    assert [t.owner_id for t in platform.targets] == ids[:4]
    assert platform.targets[0].reference == {"channel": "D0"}  # no conversations.open for it
    assert all(t.reference is None for t in platform.targets[1:])
    async with app.uow() as uow:
        rows = [await uow.outbox.by_key(f"dm{n}") for n in range(PEOPLE)]
    assert [r.status for r in rows if r] == [OutboxStatus.SENT] * 4 + [OutboxStatus.PENDING]


async def test_when_the_batch_read_fails_each_message_looks_itself_up(
    app: App, clock: ManualClock
) -> None:
    ids = await people_with_a_dm_each(app, clock)
    opened: list[int] = []

    def first_fails() -> Any:
        opened.append(1)
        return Broken() if len(opened) == 1 else app.uow()  # the first is the batch's read

    platform = Recorder()
    delivery = Delivery(first_fails, {Platform.SLACK: platform})
    dispatcher = OutboxDispatcher(app.outbox, delivery, clock, look_ahead=delivery.look_ahead)
    await dispatcher.run_once()
    assert sorted(t.owner_id for t in platform.targets) == sorted(ids)
    assert len(opened) == 1 + PEOPLE


class Opener:
    """A platform that opens a DM channel for whoever has none yet (as Slack's sender does)."""

    def __init__(self) -> None:
        self.targets: list[Target] = []

    async def __call__(
        self, _item: OutboxMessage, target: Target, _msg: Message
    ) -> ConversationRef | None:
        self.targets.append(target)
        if target.reference is not None:
            return None
        return ConversationRef(Platform.SLACK, "person", target.owner_id, {"channel": "new"})


async def test_a_batch_saves_the_dm_channels_it_opened_at_once(
    app: App, clock: ManualClock
) -> None:
    ids = await people_with_a_dm_each(app, clock)
    async with app.uow() as uow:  # a second message to the second person, in the same batch
        row = outbox_row(Destination.dm(ids[1]), message(Text("nog eens")), kind="digest",
                         dedupe_key="again", due_at=clock.now())  # fmt: skip
        await uow.outbox.enqueue(row)
        await uow.commit()
    platform = Opener()
    delivery = Delivery(app.uow, {Platform.SLACK: platform})
    dispatcher = OutboxDispatcher(app.outbox, delivery, clock, look_ahead=delivery.look_ahead)
    begun = transactions(app)
    await dispatcher.run_once()
    # Taking back, the claim, the batch's read, six marks, and one save of the four channels.
    assert begun["begin"] == 1 + 1 + 1 + 6 + 1
    again = [t for t in platform.targets if t.owner_id == ids[1]]
    assert [t.reference for t in again] == [None, {"channel": "new"}]  # not opened twice
    async with app.uow() as uow:
        refs = await uow.conversations.find_all("slack", "person", ids)
    assert {r.owner_id: r.reference["channel"] for r in refs} == {
        ids[0]: "D0",
        **{i: "new" for i in ids[1:]},
    }


async def test_without_a_batch_an_opened_dm_channel_is_saved_at_once(
    app: App, clock: ManualClock
) -> None:
    ids = await people_with_a_dm_each(app, clock)
    delivery = Delivery(app.uow, {Platform.SLACK: Opener()})
    await OutboxDispatcher(app.outbox, delivery, clock).run_once()
    async with app.uow() as uow:
        refs = await uow.conversations.find_all("slack", "person", ids)
    assert len(refs) == PEOPLE


class Broken:
    async def __aenter__(self) -> None:
        raise ConnectionError("the database went away for a moment")

    async def __aexit__(self, *exc: object) -> None:
        return None
