"""The id of the event being handled (bot.logs sets it and puts it on every log line), kept
with each outbox row queued while handling it: the row's delivery, later and perhaps on another
replica, logs under the same id. Random, never the platform's: it says nothing about anyone."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

NONE = "-"
EVENT_ID: ContextVar[str] = ContextVar("coulisse_event_id", default=NONE)


def stamped(payload: dict[str, Any]) -> dict[str, Any]:
    """An outbox row's payload with the current event's id (as it is outside an event)."""
    current = EVENT_ID.get()
    return payload if current == NONE else {**payload, "event_id": current}
