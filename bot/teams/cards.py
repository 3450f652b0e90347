"""Neutral messages as Adaptive Cards 1.5, and card submissions back as neutral values.

Text goes into `TextRun`s of `RichTextBlock`s, which Teams shows literally: a `TextBlock` would
read Markdown, so a contribution like "[klik](https://…)" would become a link. Buttons are
`Action.Execute` (Teams answers the person who clicked, privately, through the invoke), forms
are inputs in the card itself with their own submit button. A long message is split over
several cards; nothing is cut off.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from handlers import messages as m

CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"
CARD_BUDGET = 20_000  # characters of JSON per card: Teams refuses activities over about 28 KB
PICTURE_BUDGET = 12_000  # characters of base64 for a causal map drawn into the card
ACTIONS_PER_SET = 5  # Teams shows at most six buttons in a row and hides the rest
TITLE_LIMIT = 80
CHOICES_LIMIT = 100
SEPARATOR = ":"  # input ids are "<form id>:<field name>", unique in a card with several forms

Element = dict[str, Any]


def _plain(text: str, limit: int) -> str:
    """One line that must fit (a button, a choice): shortened with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _run(text: str, **style: Any) -> Element:
    return {"type": "TextRun", "text": text, **style}


def _lines(text: str, **style: Any) -> list[Element]:
    """One RichTextBlock per line: line breaks inside a TextRun are not shown everywhere."""
    return [
        {"type": "RichTextBlock", "inlines": [_run(line, **style)]}
        for line in text.splitlines()
        if line.strip()
    ] or [{"type": "RichTextBlock", "inlines": [_run(" ")]}]


def _actions(actions: Sequence[m.Action], origin: str) -> list[Element]:
    out: list[Element] = []
    for start in range(0, len(actions), ACTIONS_PER_SET):
        buttons = []
        for action in actions[start : start + ACTIONS_PER_SET]:
            data: dict[str, str] = {"action": action.id, "value": action.value}
            if origin:
                data["channel"] = origin
            button: Element = {
                "type": "Action.Execute",
                "title": _plain(action.label, TITLE_LIMIT),
                "verb": action.id,
                "data": data,
            }
            if action.style != "default":
                button["style"] = "positive" if action.style == "primary" else "destructive"
            buttons.append(button)
        out.append({"type": "ActionSet", "actions": buttons})
    return out


def _input(
    form: m.Form,
    field: m.TextInput | m.DateInput | m.DateTimeInput | m.Select | m.PeopleInput,
    people: Sequence[tuple[str, str]],
) -> list[Element]:
    name = f"{form.id}{SEPARATOR}{field.name}"
    required = {"isRequired": True} if not field.optional else {}
    if isinstance(field, m.TextInput):
        element: Element = {
            "type": "Input.Text",
            "id": name,
            "label": field.label,
            "isMultiline": field.multiline,
            "maxLength": field.max_length,
            **required,
        }
        if field.value:
            element["value"] = field.value
        return [element]
    if isinstance(field, m.DateInput):
        return [{"type": "Input.Date", "id": name, "label": field.label, **required}]
    if isinstance(field, m.DateTimeInput):
        # No date-time input in Adaptive Cards: a date and a time, joined again on submit.
        return [
            {"type": "Input.Date", "id": f"{name}{SEPARATOR}date", "label": field.label,
             **required},
            {"type": "Input.Time", "id": f"{name}{SEPARATOR}time", **required},
        ]  # fmt: skip
    if isinstance(field, m.PeopleInput):
        if not people:
            return []  # nobody to choose from: left empty, the whole channel takes part
        choices = [{"title": _plain(n, TITLE_LIMIT), "value": i} for i, n in people]
        return [
            {
                "type": "Input.ChoiceSet",
                "id": name,
                "label": field.label,
                "choices": choices[:CHOICES_LIMIT],
                "isMultiSelect": True,
                "style": "compact",
                **required,
            }
        ]
    choices = [{"title": _plain(o.label, TITLE_LIMIT), "value": o.value} for o in field.options]
    return [
        {
            "type": "Input.ChoiceSet",
            "id": name,
            "label": field.label,
            "choices": choices[:CHOICES_LIMIT],
            "isMultiSelect": field.multiple,
            "style": "compact",
            **required,
        }
    ]


def _submit(form: m.Form, origin: str) -> Element:
    data = {"form": form.id, "context": form.context}
    if origin:
        data["channel"] = origin  # like Slack's private_metadata: the channel it was asked for
    return {
        "type": "Action.Execute",
        "title": _plain(form.submit, TITLE_LIMIT),
        "verb": "form",
        "data": data,
        "style": "positive",
    }


def _form(form: m.Form, origin: str, people: Sequence[tuple[str, str]]) -> list[Element]:
    items = _lines(form.title, weight="Bolder")
    items += [e for field in form.fields for e in _input(form, field, people)]
    items.append({"type": "ActionSet", "actions": [_submit(form, origin)]})
    return [{"type": "Container", "separator": True, "items": items}]


def _shown_on_demand(form: m.Form, origin: str, people: Sequence[tuple[str, str]]) -> Element:
    """One of several forms in a card: behind its own button, so that its required fields
    do not hold up the others."""
    inner = _form(form, origin, people)[0]["items"]
    card = {"type": "AdaptiveCard", "body": inner[:-1], "actions": inner[-1]["actions"]}
    return {"type": "Action.ShowCard", "title": _plain(form.title, TITLE_LIMIT), "card": card}


@dataclass
class _Renderer:
    origin: str
    people: Sequence[tuple[str, str]]
    pictures: Mapping[m.Diagram, bytes]
    separate_next: bool = field(default=False)

    def elements(self, block: m.Block) -> list[Element]:
        if isinstance(block, m.Heading):
            return _lines(block.text, weight="Bolder", size="Medium")
        if isinstance(block, m.Text):
            return _lines(block.text)
        if isinstance(block, m.Quote):
            items = _lines(block.text, italic=True)
            if block.label:
                items += _lines(f"— {block.label}", isSubtle=True)
            return [{"type": "Container", "style": "emphasis", "items": items}]
        if isinstance(block, m.Bullets):
            return [e for item in block.items for e in _lines(f"• {item}")]
        if isinstance(block, m.Fields):
            out: list[Element] = []
            for label, value in block.pairs:
                out += _lines(label, weight="Bolder") + _lines(value)
            return out
        if isinstance(block, m.Divider):
            self.separate_next = True
            return []
        if isinstance(block, m.Diagram):
            picture = self.pictures.get(block)
            encoded = base64.b64encode(picture).decode() if picture else ""
            if encoded and len(encoded) <= PICTURE_BUDGET:
                url = f"data:image/png;base64,{encoded}"
                return [{"type": "Image", "url": url, "altText": block.alt}]
            return _lines(block.alt, isSubtle=True)
        if isinstance(block, m.Image):
            return _lines(block.alt, isSubtle=True)
        if isinstance(block, m.Choices):
            return _actions(block.actions, self.origin)
        if isinstance(block, m.Form):
            return _form(block, self.origin, self.people)
        if isinstance(block, m.Export):
            return []  # the sender offers the file itself (file consent)
        raise TypeError(f"no Teams rendering for {type(block).__name__}")

    def groups(self, message: m.Message) -> Iterator[list[Element]]:
        forms = [b for b in message.blocks if isinstance(b, m.Form)]
        for block in message.blocks:
            if isinstance(block, m.Form) and len(forms) > 1:
                continue
            elements = self.elements(block)
            if elements and self.separate_next:
                elements[0] = {**elements[0], "separator": True}
                self.separate_next = False
            if elements:
                yield elements
        if len(forms) > 1:
            shown = [_shown_on_demand(f, self.origin, self.people) for f in forms]
            yield [{"type": "ActionSet", "actions": shown}]


def _size(elements: list[Element]) -> int:
    return len(json.dumps(elements, ensure_ascii=False))


def card(body: list[Element], fallback: str = "") -> Element:
    out: Element = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION, "body": body}
    if fallback:
        out["fallbackText"] = fallback
    out["msteams"] = {"width": "Full"}
    return out


def render(
    message: m.Message,
    *,
    origin: str = "",
    people: Sequence[tuple[str, str]] = (),
    pictures: Mapping[m.Diagram, bytes] | None = None,
) -> list[Element]:
    """One or more cards. `origin`: the channel a card sent to a personal chat acts for;
    `people`: (id, name) to choose from for a PeopleInput; `pictures`: PNGs of diagrams."""
    renderer = _Renderer(origin, people, pictures or {})
    cards: list[list[Element]] = [[]]
    size = 0
    for group in renderer.groups(message):
        # A group larger than a card on its own (a very long text) is split by elements.
        parts = [[e] for e in group] if _size(group) > CARD_BUDGET else [group]
        for part in parts:
            cost = _size(part)
            if cards[-1] and size + cost > CARD_BUDGET:
                cards.append([])
                size = 0
            cards[-1] += part
            size += cost
    fallback = _plain(message.plain_text, 300)
    return [card(body, fallback) for body in cards]


def attachment(content: Element) -> dict[str, Any]:
    return {"contentType": CONTENT_TYPE, "content": content}


def activity(content: Element) -> dict[str, Any]:
    """A message activity carrying one card (the summary is the notification text)."""
    body: dict[str, Any] = {"type": "message", "attachments": [attachment(content)]}
    if content.get("fallbackText"):
        body["summary"] = content["fallbackText"]
    return body


# --- what comes back ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionSubmission:
    action_id: str
    value: str
    channel: str = ""


@dataclass(frozen=True)
class FormSubmission:
    form_id: str
    values: dict[str, str]
    context: str = ""
    channel: str = ""


def _moment(day: str, time: str, zone: ZoneInfo) -> str:
    """A date and a time from the card as ISO 8601 in the person's time zone."""
    if not day:
        return ""
    try:
        when = datetime.fromisoformat(f"{day}T{time or '09:00'}")
    except ValueError:
        return f"{day} {time}".strip()  # the handler explains what it expected
    return when.replace(tzinfo=zone).isoformat()


def submission(data: Any, zone: ZoneInfo) -> ActionSubmission | FormSubmission | None:
    """What a card's button or form sent (Action.Execute data or Action.Submit value)."""
    if not isinstance(data, dict):
        return None
    channel = str(data.get("channel") or "")
    if data.get("action"):
        return ActionSubmission(str(data["action"]), str(data.get("value") or ""), channel)
    form_id = str(data.get("form") or "")
    if not form_id:
        return None
    prefix = f"{form_id}{SEPARATOR}"
    raw = {k[len(prefix) :]: v for k, v in data.items() if k.startswith(prefix)}
    values: dict[str, str] = {}
    for key, value in raw.items():
        name, _, part = key.partition(SEPARATOR)
        if part:
            if name not in values:
                day, time = str(raw.get(f"{name}:date") or ""), str(raw.get(f"{name}:time") or "")
                values[name] = _moment(day, time, zone)
        else:
            values[name] = "" if value is None else str(value)
    return FormSubmission(form_id, values, str(data.get("context") or ""), channel)
