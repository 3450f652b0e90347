"""A delivery kept before it is acknowledged: the neutral event as JSON, and back.

The platforms get their 200 only once the event is stored (`Coulisse.receive`). The transaction
that handles it stores its replies with it (`replies`) instead of removing it, and it goes once
the adapter has given them (`Keeper.answered`, with the next batch): a worker killed between the
commit and its reply leaves the replies for the intake tick, which queues them in the outbox.
What is stored is the neutral event, not the platform's body: that is all handling needs, and it
leaves out what a body carries besides (tokens, response URLs, whole views)."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import datetime
from typing import Any

from handlers.messages import (
    ActionTaken,
    Actor,
    Command,
    Destination,
    Event,
    FormSubmitted,
    Installed,
    Message,
    Place,
    Typed,
    decode_destination,
    decode_message,
    encode_destination,
    encode_message,
    outbox_row,
)
from handlers.model import OutboxMessage
from handlers.ports import UnitOfWorkFactory

# What `Intake.keep` takes: key, platform, the event as JSON, when, by whom, leased until.
Kept = tuple[str, str, dict[str, Any], datetime, str, datetime]

_KINDS: dict[str, type] = {
    "typed": Typed,
    "command": Command,
    "action": ActionTaken,
    "form": FormSubmitted,
    "installed": Installed,
}
_NAMES = {kind: name for name, kind in _KINDS.items()}


def key_of(event: Event) -> str:
    """The delivery's own key. A click's event key names the click (who, which button, which
    message) so that a double click counts once; its delivery is that click at that moment."""
    if isinstance(event, ActionTaken | FormSubmitted) and event.clicked_at is not None:
        return f"{event.event_key}@{event.clicked_at.timestamp():.6f}"
    return event.event_key


def encode(event: Event) -> dict[str, Any]:
    data = asdict(event)
    if isinstance(event, ActionTaken | FormSubmitted) and event.clicked_at is not None:
        data["clicked_at"] = event.clicked_at.isoformat()
    return {"kind": _NAMES[type(event)], **data}


def decode(data: dict[str, Any]) -> Event:
    fields = dict(data)
    kind = _KINDS[fields.pop("kind")]
    fields["actor"] = Actor(**fields["actor"])
    fields["place"] = Place(**fields["place"])
    if fields.get("clicked_at"):
        fields["clicked_at"] = datetime.fromisoformat(fields["clicked_at"])
    event: Event = kind(**fields)
    return event


def encode_reply(to: Destination, message: Message, dedupe_key: str) -> dict[str, Any]:
    """A reply as the intake keeps it until it is given: the outbox row it would become."""
    return {"to": encode_destination(to), "message": encode_message(message), "key": dedupe_key}


def outbox_rows(replies: list[dict[str, Any]], now: datetime) -> list[OutboxMessage]:
    """Kept replies whose worker died before giving them, for the outbox. The same dedupe key
    as `Coulisse.later`'s: one it had queued already is not queued twice."""
    return [
        outbox_row(decode_destination(r["to"]), decode_message(r["message"]), kind="reply",
                   dedupe_key=r["key"], due_at=now)
        for r in replies
    ]  # fmt: skip


class Keeper:
    """Keeps deliveries a batch at a time: one short transaction holds everything that
    arrived while the previous one was being written. In a burst of clicks the acks then wait
    for a few commits, not for each other's turn at the database (SQLite has one writer at a
    time and makes the others poll for it)."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self.uow_factory = uow_factory
        self._queue: list[tuple[Kept, asyncio.Future[int | None]]] = []
        self._writer: asyncio.Task[None] | None = None
        # Kept here and being handled or answered now: not for this worker to take again.
        self.busy: set[int] = set()
        self._answered: set[int] = set()  # replies given: the rows go with the next batch
        self._removed: dict[int, asyncio.Future[None]] = {}  # done once the batch is written

    def answered(self, delivery_id: int) -> asyncio.Future[None]:
        """Its replies were given: the row goes with the next batch written, so a burst's
        answers cost no commits of their own. It stays busy until it is gone (else this
        worker's tick would queue its replies again). The future is done when that batch was
        written (or failed: then the tick tries again): a turn that awaits it before its 200
        cannot have its replies sent twice by a kill after the 200."""
        self._answered.add(delivery_id)
        removed = self._removed.get(delivery_id)
        if removed is None:
            removed = self._removed[delivery_id] = asyncio.get_running_loop().create_future()
        self._start()
        return removed

    async def flush(self) -> None:
        """Rows answered but not yet removed (a database blip) are tried again."""
        if self._answered:
            await self._start()

    def _start(self) -> asyncio.Task[None]:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write())
        return self._writer

    def _settle(self, gone: set[int]) -> None:
        for delivery_id in gone:
            removed = self._removed.pop(delivery_id, None)
            if removed is not None and not removed.done():
                removed.set_result(None)

    async def keep(self, kept: Kept) -> int | None:
        """The delivery's id once it is stored; None when its key was already waiting. Raises
        what the database raised: then nothing of this batch was kept."""
        done: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._queue.append((kept, done))
        self._start()
        return await done

    async def _write(self) -> None:
        while self._queue or self._answered:
            batch, self._queue = self._queue, []
            gone, self._answered = self._answered, set()
            try:
                async with self.uow_factory() as uow:
                    ids = [await uow.intake.keep(*kept) for kept, _ in batch]
                    await uow.intake.answered(gone)
                    await uow.commit()
            except Exception as error:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(error)
                self._answered |= gone  # with the next batch, or the next tick (`flush`)
                self._settle(gone)
                if not self._queue:
                    return
                continue
            self.busy -= gone
            self._settle(gone)
            for (_, done), kept_id in zip(batch, ids, strict=True):
                if kept_id is not None:
                    self.busy.add(kept_id)  # before anyone can see it kept
                if not done.done():
                    done.set_result(kept_id)
