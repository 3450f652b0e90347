"""A delivery kept before it is acknowledged: the neutral event as JSON, and back.

The platforms get their 200 only once the event is stored (`Coulisse.receive`); it is removed in
the transaction that handles it. What is stored is the neutral event, not the platform's body:
that is all handling needs, and it leaves out what a body carries besides (tokens, response
URLs, whole views)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from handlers.messages import (
    ActionTaken,
    Actor,
    Command,
    Event,
    FormSubmitted,
    Installed,
    Place,
    Typed,
)

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
    if isinstance(event, ActionTaken) and event.clicked_at is not None:
        return f"{event.event_key}@{event.clicked_at.timestamp():.6f}"
    return event.event_key


def encode(event: Event) -> dict[str, Any]:
    data = asdict(event)
    if isinstance(event, ActionTaken) and event.clicked_at is not None:
        data["clicked_at"] = event.clicked_at.isoformat()
    return {"kind": _NAMES[type(event)], **data}


def decode(data: dict[str, Any]) -> Event:
    fields = dict(data)
    kind = _KINDS[fields.pop("kind")]
    fields["actor"] = Actor(**fields["actor"])
    fields["place"] = Place(**fields["place"])
    if kind is ActionTaken and fields.get("clicked_at"):
        fields["clicked_at"] = datetime.fromisoformat(fields["clicked_at"])
    event: Event = kind(**fields)
    return event
