"""The neutral message vocabulary.

Handlers speak in these small values; each platform adapter has one renderer that turns them
into Block Kit, Adaptive Cards or plain text. All text here is plain, already in the reader's
language; renderers escape it for their platform. Incoming events arrive as `Typed` (free
text), `Command`, `ActionTaken`, `FormSubmitted` or `Installed`; what goes back is an `Outcome`:
replies addressed by intent, with who acted, their team and their language.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Literal

from handlers.model import OutboxMessage

# --- what the bot says -------------------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Quote:
    """Words of the team (a contribution), shown as a quotation and never as markup."""

    text: str
    label: str = ""


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Fields:
    pairs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Divider:
    pass


@dataclass(frozen=True)
class Image:
    path: str
    alt: str


@dataclass(frozen=True)
class DiagramLink:
    source: int  # index into Diagram.nodes
    target: int
    polarity: str  # "+" or "-"
    delay: bool = False


@dataclass(frozen=True)
class DiagramLoop:
    label: str  # R1, B2, …
    nodes: tuple[int, ...]


@dataclass(frozen=True)
class Diagram:
    """A causal map to draw; each adapter turns it into a picture it can show."""

    title: str
    alt: str
    nodes: tuple[str, ...]
    links: tuple[DiagramLink, ...]
    loops: tuple[DiagramLoop, ...] = ()


@dataclass(frozen=True)
class Action:
    id: str
    label: str
    value: str = ""
    style: Literal["default", "primary", "danger"] = "default"


@dataclass(frozen=True)
class Choices:
    actions: tuple[Action, ...]


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class TextInput:
    name: str
    label: str
    multiline: bool = False
    max_length: int = 3000  # handlers.context.MAX_TEXT: the most every platform takes
    optional: bool = False
    value: str = ""  # filled in beforehand; the person may change it


@dataclass(frozen=True)
class DateInput:
    name: str
    label: str
    optional: bool = False


@dataclass(frozen=True)
class Select:
    name: str
    label: str
    options: tuple[Option, ...]
    multiple: bool = False
    optional: bool = False


@dataclass(frozen=True)
class DateTimeInput:
    """A moment: Slack's date-time picker; as text, ISO 8601 with a time zone."""

    name: str
    label: str
    optional: bool = True


@dataclass(frozen=True)
class PeopleInput:
    """Choose people of the workspace (Slack: a people picker; console: names)."""

    name: str
    label: str
    optional: bool = True


@dataclass(frozen=True)
class Form:
    id: str
    title: str
    fields: tuple[TextInput | DateInput | DateTimeInput | Select | PeopleInput, ...]
    submit: str
    context: str = ""  # an id the submission refers to, e.g. a round


@dataclass(frozen=True)
class Export:
    """A file to send: the summary of a session or series in a format. It names what to export,
    not the bytes: the adapter renders it when it sends, from the state then, pseudonymised."""

    kind: Literal["session", "series"]
    id: int
    fmt: str  # md, html, pdf, docx, csv or json
    lang: str = ""  # the document's language; empty: the session's own


Block = (
    Heading | Text | Quote | Bullets | Fields | Divider | Image | Diagram | Choices | Form | Export
)


@dataclass(frozen=True)
class Destination:
    """Where a message goes: a team's channel or a person's direct messages."""

    kind: Literal["channel", "dm"]
    id: int  # team id or person id
    thread: str = ""

    @classmethod
    def channel(cls, team_id: int) -> Destination:
        return cls("channel", team_id)

    @classmethod
    def dm(cls, person_id: int) -> Destination:
        return cls("dm", person_id)


@dataclass(frozen=True)
class Message:
    blocks: tuple[Block, ...]

    @property
    def plain_text(self) -> str:
        """A fallback text (notifications, screen readers, logs without user data)."""
        for block in self.blocks:
            if isinstance(block, Heading | Text):
                return block.text
        return ""


def message(*blocks: Block) -> Message:
    return Message(tuple(blocks))


# --- serialisation for the outbox --------------------------------------------------------------

_BLOCK_TYPES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        Heading,
        Text,
        Quote,
        Bullets,
        Fields,
        Divider,
        Image,
        Diagram,
        DiagramLink,
        DiagramLoop,
        Choices,
        Form,
        Action,
        Option,
        TextInput,
        DateInput,
        Select,
        PeopleInput,
        DateTimeInput,
        Export,
    )
}


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"type": type(value).__name__, **data}
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and "type" in value:
        cls = _BLOCK_TYPES[value["type"]]
        kwargs = {k: _decode(v) for k, v in value.items() if k != "type"}
        return cls(**kwargs)
    if isinstance(value, list):
        return tuple(_decode(v) for v in value)
    return value


def encode_message(msg: Message) -> dict[str, Any]:
    return {"blocks": [_encode(b) for b in msg.blocks]}


def decode_message(data: dict[str, Any]) -> Message:
    return Message(tuple(_decode(b) for b in data["blocks"]))


def outbox_row(
    to: Destination,
    msg: Message | None = None,
    *,
    kind: str,
    dedupe_key: str,
    due_at: datetime,
    nudge: dict[str, Any] | None = None,
    skip: int = 0,
) -> OutboxMessage:
    """The one way something to send becomes an outbox row: a message as it is, or a nudge
    (`nudge`) rendered from the state when it is due. `skip`: parts already delivered."""
    payload: dict[str, Any] = (
        {"nudge": nudge} if nudge is not None else encode_message(msg or Message(()))
    )
    if skip:
        payload["skip"] = skip
    return OutboxMessage(
        dedupe_key=dedupe_key,
        kind=kind,
        destination=encode_destination(to),
        payload=payload,
        due_at=due_at,
        person_id=to.id if to.kind == "dm" else None,
    )


def encode_destination(dest: Destination) -> dict[str, Any]:
    return {"kind": dest.kind, "id": dest.id, "thread": dest.thread}


def decode_destination(data: dict[str, Any]) -> Destination:
    return Destination(data["kind"], int(data["id"]), data.get("thread", ""))


# --- what comes in -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who did something, as the platform knows them."""

    platform: str
    workspace: str
    user_id: str
    display_name: str = ""
    organisation: str = ""
    locale: str = ""  # empty: use the stored preference or the workspace default


@dataclass(frozen=True)
class Place:
    """Where it happened: a channel (team) or a direct message, perhaps in a thread."""

    kind: Literal["channel", "dm"]
    channel_id: str = ""
    channel_name: str = ""
    thread: str = ""


@dataclass(frozen=True)
class Typed:
    """Free text a person typed to the bot: a mention in a channel, or a direct message. The
    core decides whether it is a command or an answer (`Conversation.interpret`)."""

    text: str
    actor: Actor
    place: Place
    event_key: str = ""


@dataclass(frozen=True)
class Command:
    """A command asked for explicitly (Slack's slash command, a platform's menu)."""

    name: str
    actor: Actor
    place: Place
    args: str = ""
    event_key: str = ""


@dataclass(frozen=True)
class ActionTaken:
    action_id: str
    value: str
    actor: Actor
    place: Place
    event_key: str = ""
    # When set, the key names the click (who, which button, on which message), not the
    # delivery, and this is when the platform says it was clicked: the core counts the same
    # click once within a moment (a double click), wherever the clock's second falls.
    clicked_at: datetime | None = None


@dataclass(frozen=True)
class FormSubmitted:
    form_id: str
    values: dict[str, str]
    actor: Actor
    place: Place
    context: str = ""
    event_key: str = ""
    # As for a click: the key names this form with these values, and the same sent again
    # within a moment (a double click on its button) counts once.
    clicked_at: datetime | None = None


@dataclass(frozen=True)
class Installed:
    """The bot was added to a channel (or a person's chat) by `actor`."""

    actor: Actor
    place: Place
    event_key: str = ""


Event = Typed | Command | ActionTaken | FormSubmitted | Installed


# --- what goes back ----------------------------------------------------------------------------


class To(Enum):
    """Where a reply is meant to go; each platform knows how."""

    ACTOR = "actor"  # the person who acted, privately (ephemeral, invoke response, their DM)
    ACTED_ON = "acted_on"  # in place of the message acted on (a ballot with new counts)
    FORM = "form"  # open this form for the person (a modal, a card)
    CHANNEL = "channel"  # the team's channel, for everyone (a welcome on installation)


@dataclass(frozen=True)
class Reply:
    to: To
    message: Message

    @property
    def form(self) -> Form | None:
        return next((b for b in self.message.blocks if isinstance(b, Form)), None)


@dataclass(frozen=True)
class Outcome:
    """What handling one event gave: the replies, and who, where and in which language, so
    that no adapter has to look anything up again."""

    replies: tuple[Reply, ...] = ()
    lang: str = ""
    person_id: int | None = None
    team_id: int | None = None
    refused: bool = False  # a polite no: nothing changed (a form may stay open to correct it)
    duplicate: bool = False  # a delivery seen before: nothing done, nothing to say
    event_key: str = ""

    @property
    def messages(self) -> list[Message]:
        return [r.message for r in self.replies]

    def to(self, *kinds: To) -> list[Reply]:
        return [r for r in self.replies if r.to in kinds]
