"""Neutral messages as Adaptive Cards 1.5, and card submissions back as neutral values.

Text goes into `TextRun`s of `RichTextBlock`s, which Teams shows literally: a `TextBlock` would
read Markdown, so a contribution like "[klik](https://…)" would become a link. Buttons are
`Action.Execute` (Teams answers the person who clicked, privately, through the invoke), forms
are inputs in the card itself with their own submit button. A long message is split over
several cards, each within Teams' size limit counted in bytes as the connector sends them
(bot/teams/limits.py); nothing is cut off.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo

from bot.teams import limits
from bot.teams.limits import encode, walk
from handlers import messages as m
from handlers.when import wall_clock
from prompts.catalog import DEFAULT_LANGUAGE, t

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = limits.CARD_VERSION
# Bytes of one activity as sent: under Teams' limit by what is not ours to count (its limit is
# "approximate" and counts reactions; an update adds the activity's id).
ACTIVITY_BUDGET = limits.MESSAGE_BYTES.value - 2_000
# Within Teams' six (limits.ACTIONS_PER_SET); five since the first cards, and ballots' rows of
# buttons depend on it.
ACTIONS_PER_SET = 5
FALLBACK_LIMIT = 300
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
    lang: str,
) -> list[Element]:
    name = f"{form.id}{SEPARATOR}{field.name}"
    # Teams checks a required input before it sends the form; the error message says why not.
    required: Element = {}
    if not field.optional:
        required = {"isRequired": True, "errorMessage": t(lang, "teams.required")}
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
            {"type": "Input.Time", "id": f"{name}{SEPARATOR}time",
             "label": t(lang, "teams.time"), **required},
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


def _form(form: m.Form, origin: str, people: Sequence[tuple[str, str]], lang: str) -> list[Element]:
    items = _lines(form.title, weight="Bolder")
    items += [e for field in form.fields for e in _input(form, field, people, lang)]
    items.append({"type": "ActionSet", "actions": [_submit(form, origin)]})
    return [{"type": "Container", "separator": True, "items": items}]


def _shown_on_demand(
    form: m.Form, origin: str, people: Sequence[tuple[str, str]], lang: str
) -> Element:
    """One of several forms in a card: behind its own button, so that its required fields
    do not hold up the others."""
    inner = _form(form, origin, people, lang)[0]["items"]
    card = {"type": "AdaptiveCard", "body": inner[:-1], "actions": inner[-1]["actions"]}
    return {"type": "Action.ShowCard", "title": _plain(form.title, TITLE_LIMIT), "card": card}


@dataclass
class _Renderer:
    origin: str
    people: Sequence[tuple[str, str]]
    pictures: Mapping[m.Diagram, str]
    lang: str
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
            # Teams fetches a card's picture from an HTTPS URL itself; a data URI is over the
            # message's size and desktop Teams does not show one (limits.RULES).
            url = self.pictures.get(block)
            if url:
                return [{"type": "Image", "url": url, "altText": block.alt}]
            return _lines(block.alt, isSubtle=True)
        if isinstance(block, m.Image):
            return _lines(block.alt, isSubtle=True)
        if isinstance(block, m.Choices):
            return _actions(block.actions, self.origin)
        if isinstance(block, m.Form):
            return _form(block, self.origin, self.people, self.lang)
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
            shown = [_shown_on_demand(f, self.origin, self.people, self.lang) for f in forms]
            yield [{"type": "ActionSet", "actions": shown}]


def _bytes(node: Any) -> int:
    return len(encode(node))


def _cost(elements: Sequence[Element]) -> int:
    """Bytes these elements take in a card's body as sent: each one, and a comma between."""
    return sum(_bytes(e) for e in elements) + max(len(elements) - 1, 0)


_WORD = re.compile(r"\S+\s*|\s+")


def _pieces(text: str, room: int) -> list[str]:
    """`text` in pieces of at most `room` bytes as JSON, cut between words (within a word only
    when it is longer than that on its own). JSON escapes each character by itself, so the
    sizes of the parts add up."""
    pieces: list[str] = []
    current, used = "", 0
    for word in _WORD.findall(text):
        for part in [word] if _bytes(word) - 2 <= room else list(word):
            cost = _bytes(part) - 2  # without the quotes
            if current and used + cost > room:
                pieces.append(current.strip())
                current, used = "", 0
            current += part
            used += cost
    if current.strip():
        pieces.append(current.strip())
    return pieces


def _holds_form(element: Element) -> bool:
    return any(str(e.get("type", "")).startswith(("Input.", "Action.")) for e in walk(element))


def _fit(element: Element, room: int) -> list[Element]:
    """An element larger than a card as several that each fit: a line of text in pieces, a
    container's items (a long quote) over containers of the same style. A form stays whole:
    its inputs and its button belong in one card."""
    if _bytes(element) <= room or _holds_form(element):
        return [element]
    rest = {k: v for k, v in element.items() if k != "separator"}  # only the first separates
    inlines = element.get("inlines")
    if element.get("type") == "RichTextBlock" and isinstance(inlines, list) and len(inlines) == 1:
        run = inlines[0]
        overhead = _bytes({**element, "inlines": [{**run, "text": ""}]})
        pieces = _pieces(str(run.get("text", "")), room - overhead)
        return [
            {**(element if n == 0 else rest), "inlines": [{**run, "text": piece}]}
            for n, piece in enumerate(pieces)
        ]
    items = element.get("items")
    if element.get("type") == "Container" and isinstance(items, list) and items:
        overhead = _bytes({**element, "items": []})
        parts: list[list[Element]] = [[]]
        used = 0
        for item in (p for i in items for p in _fit(i, room - overhead)):
            cost = _bytes(item) + (1 if parts[-1] else 0)
            if parts[-1] and used + cost > room - overhead:
                parts.append([])
                used, cost = 0, _bytes(item)
            parts[-1].append(item)
            used += cost
        return [{**(element if n == 0 else rest), "items": part} for n, part in enumerate(parts)]
    return [element]


def _first_words(groups: Sequence[Sequence[Element]]) -> str:
    for element in walk([list(g) for g in groups]):
        if element.get("type") == "TextRun" and str(element.get("text", "")).strip():
            return str(element["text"])
        if element.get("type") == "Image" and element.get("altText"):
            return str(element["altText"])
    return ""


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
    pictures: Mapping[m.Diagram, str] | None = None,
    lang: str = DEFAULT_LANGUAGE,
) -> list[Element]:
    """One or more cards, each activity within ACTIVITY_BUDGET bytes as sent. `origin`: the
    channel a card sent to a personal chat acts for; `people`: (id, name) to choose from for a
    PeopleInput; `pictures`: the URL each diagram's picture is served at; `lang`: the reader's
    language, for what the card says itself (a required field's error message)."""
    renderer = _Renderer(origin, people, pictures or {}, lang)
    groups = list(renderer.groups(message))
    words = message.plain_text or _first_words(groups) or t(lang, "teams.fallback")
    fallback = _plain(words, FALLBACK_LIMIT)
    room = ACTIVITY_BUDGET - _bytes(activity(card([], fallback)))  # for the body's elements
    bodies: list[list[Element]] = [[]]
    used = 0
    for group in groups:
        # A group larger than a card on its own (a long text) is split by elements, and an
        # element larger than a card into pieces.
        parts = [group] if _cost(group) <= room else [[p] for e in group for p in _fit(e, room)]
        for part in parts:
            cost = _cost(part) + (1 if bodies[-1] else 0)
            if bodies[-1] and used + cost > room:
                bodies.append([])
                used, cost = 0, _cost(part)
            bodies[-1] += part
            used += cost
            if used > room:  # a form alone can be: it is not split (sizes only, no words)
                log.warning("a Teams card is %d bytes over its budget of %d", used - room, room)
    return [card(body, fallback) for body in bodies]


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


def _moment(day: str, clock: str, zone: ZoneInfo) -> str:
    """A date and a time from the card as ISO 8601 in the person's time zone (a time the
    clocks skip that night moves forward, as everywhere in the core)."""
    if not day:
        return ""
    try:
        when = wall_clock(date.fromisoformat(day), time.fromisoformat(clock or "09:00"), zone.key)
    except ValueError:
        return f"{day} {clock}".strip()  # the handler explains what it expected
    return when.isoformat()


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
                day, at = str(raw.get(f"{name}:date") or ""), str(raw.get(f"{name}:time") or "")
                values[name] = _moment(day, at, zone)
        else:
            values[name] = "" if value is None else str(value)
    return FormSubmission(form_id, values, str(data.get("context") or ""), channel)
