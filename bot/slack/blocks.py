"""Neutral messages as Block Kit, built with slack_sdk.models (which enforce Block Kit's limits).

Every text is escaped for mrkdwn (`&`, `<`, `>`), so nothing a person typed can mention anyone,
link anywhere or break the layout. Long content is split over several blocks and, past Slack's
50 blocks, over several messages; nothing is cut off silently.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DatePickerElement,
    DateTimePickerElement,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticMultiSelectElement,
    StaticSelectElement,
    UserMultiSelectElement,
)
from slack_sdk.models.views import View

from handlers import messages as m

SECTION_LIMIT = 3000  # characters in a section's text
FIELD_LIMIT = 2000
HEADER_LIMIT = 150
BUTTON_LIMIT = 75
BLOCKS_PER_MESSAGE = 50
BUTTONS_PER_BLOCK = 25
MODAL_TITLE_LIMIT = 24
OPTIONS_LIMIT = 100


def escape(text: str) -> str:
    """mrkdwn control characters as entities: no <!channel>, no <@U…>, no <http://…|links>."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _chunks(text: str, limit: int) -> Iterator[str]:
    """Split at line breaks or spaces where possible; never lose a character."""
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut <= 0:
            cut = text.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
        yield text[:cut]
        text = text[cut:].lstrip("\n ")
    yield text


def _plain(text: str, limit: int) -> str:
    """Plain text that must fit one field (button, title): shortened with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _sections(mrkdwn: str) -> list[Block]:
    return [
        SectionBlock(text=MarkdownTextObject(text=part)) for part in _chunks(mrkdwn, SECTION_LIMIT)
    ]


def _block(block: m.Block, diagram_note: str) -> list[Block]:
    if isinstance(block, m.Heading):
        if len(block.text) <= HEADER_LIMIT:
            return [HeaderBlock(text=PlainTextObject(text=block.text, emoji=False))]
        return _sections(f"*{escape(block.text)}*")
    if isinstance(block, m.Text):
        return _sections(escape(block.text))
    if isinstance(block, m.Quote):
        quoted = "\n".join(f"> {line}" for line in escape(block.text).splitlines() or [""])
        label = f"\n— {escape(block.label)}" if block.label else ""
        return _sections(quoted + label)
    if isinstance(block, m.Bullets):
        return _sections("\n".join(f"• {escape(item)}" for item in block.items))
    if isinstance(block, m.Fields):
        fields = [
            MarkdownTextObject(text=part)
            for label, value in block.pairs
            for part in _chunks(f"*{escape(label)}*\n{escape(value)}", FIELD_LIMIT)
        ]
        return [SectionBlock(fields=fields[i : i + 10]) for i in range(0, len(fields), 10)]
    if isinstance(block, m.Divider):
        return [DividerBlock()]
    if isinstance(block, m.Image | m.Diagram):
        note = diagram_note if isinstance(block, m.Diagram) else ""
        return [
            ContextBlock(elements=[MarkdownTextObject(text=escape(f"{block.alt} {note}".strip()))])
        ]
    if isinstance(block, m.Choices):
        return _buttons(block.actions)
    if isinstance(block, m.Export):
        return []  # the sender uploads the file itself
    if isinstance(block, m.Form):
        # A form in a message is a button that opens it as a modal.
        value = json.dumps({"form": block.id, "context": block.context})
        return _buttons((m.Action("form", block.title, value, "primary"),))
    raise TypeError(f"no Slack rendering for {type(block).__name__}")


def _buttons(actions: tuple[m.Action, ...]) -> list[Block]:
    out: list[Block] = []
    for start in range(0, len(actions), BUTTONS_PER_BLOCK):
        elements = []
        for i, action in enumerate(actions[start : start + BUTTONS_PER_BLOCK], start=start):
            style = None if action.style == "default" else action.style
            elements.append(
                ButtonElement(
                    text=PlainTextObject(text=_plain(action.label, BUTTON_LIMIT), emoji=False),
                    # action_id must be unique in a block; the listener reads the part before '#'.
                    action_id=f"{action.id}#{i}",
                    value=action.value,
                    style=style,
                )
            )
        out.append(ActionsBlock(elements=elements))
    return out


def render(message: m.Message, diagram_note: str = "") -> list[list[dict[str, Any]]]:
    """One or more Slack messages' worth of blocks (as JSON dicts, validated by the models)."""
    blocks = [b for item in message.blocks for b in _block(item, diagram_note)]
    return [
        [b.to_dict() for b in blocks[i : i + BLOCKS_PER_MESSAGE]]
        for i in range(0, max(len(blocks), 1), BLOCKS_PER_MESSAGE)
    ]


def fallback_text(message: m.Message) -> str:
    """The notification text that goes with the blocks."""
    return _plain(escape(message.plain_text), 300) or "Coulisse"


def _input(
    field: m.TextInput | m.DateInput | m.DateTimeInput | m.Select | m.PeopleInput,
) -> InputBlock:
    element: Any
    if isinstance(field, m.TextInput):
        element = PlainTextInputElement(
            action_id=field.name,
            multiline=field.multiline,
            max_length=field.max_length,
            initial_value=field.value or None,
        )
    elif isinstance(field, m.DateInput):
        element = DatePickerElement(action_id=field.name)
    elif isinstance(field, m.PeopleInput):
        element = UserMultiSelectElement(action_id=field.name)
    elif isinstance(field, m.DateTimeInput):
        element = DateTimePickerElement(action_id=field.name)
    else:
        options = [
            Option(value=o.value, text=PlainTextObject(text=_plain(o.label, 75), emoji=False))
            for o in field.options[:OPTIONS_LIMIT]
        ]
        kind = StaticMultiSelectElement if field.multiple else StaticSelectElement
        element = kind(action_id=field.name, options=options)
    return InputBlock(
        block_id=field.name,
        label=PlainTextObject(text=_plain(field.label, 2000), emoji=False),
        element=element,
        optional=field.optional,
    )


def modal(form: m.Form, private_metadata: str = "") -> dict[str, Any]:
    """A form as a modal view. The callback id carries the form id and what it refers to."""
    blocks: list[Block] = []
    if len(form.title) > MODAL_TITLE_LIMIT:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*{escape(form.title)}*")))
    blocks += [_input(field) for field in form.fields]
    view = View(
        type="modal",
        callback_id=f"{form.id}|{form.context}",
        title=PlainTextObject(text=_plain(form.title, MODAL_TITLE_LIMIT), emoji=False),
        submit=PlainTextObject(text=_plain(form.submit, MODAL_TITLE_LIMIT), emoji=False),
        close=PlainTextObject(text="×", emoji=False),
        blocks=blocks,
        private_metadata=private_metadata,
    )
    return view.to_dict()


def home(message: m.Message) -> dict[str, Any]:
    """The App Home tab."""
    blocks = render(message)[0]
    return View(type="home", blocks=blocks).to_dict()


def form_values(state: dict[str, Any]) -> dict[str, str]:
    """A submitted modal's values, by field name, as the neutral form expects them."""
    values: dict[str, str] = {}
    for block_id, actions in state.get("values", {}).items():
        for action in actions.values():
            kind = action.get("type")
            if kind == "plain_text_input":
                values[block_id] = action.get("value") or ""
            elif kind == "datepicker":
                values[block_id] = action.get("selected_date") or ""
            elif kind == "static_select":
                values[block_id] = (action.get("selected_option") or {}).get("value", "")
            elif kind == "multi_static_select":
                values[block_id] = ",".join(o["value"] for o in action.get("selected_options", []))
            elif kind == "datetimepicker":  # a Unix time; the core reads ISO 8601
                picked = action.get("selected_date_time")
                values[block_id] = (
                    datetime.fromtimestamp(int(picked), UTC).isoformat() if picked else ""
                )
            elif kind == "multi_users_select":
                values[block_id] = ",".join(action.get("selected_users", []))
    return values
