"""Neutral messages as Block Kit, built with slack_sdk.models, within Slack's limits as
bot/slack/limits.py lists them.

Every text is escaped for mrkdwn (`&`, `<`, `>`), so nothing a person typed can mention anyone,
link anywhere or break the layout. Long content is split over several blocks and, past a
message's blocks or its total text, over several messages; nothing people wrote is cut off.
Only catalog text that must fit one field (a button, a title) is shortened, with an ellipsis.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
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
    OptionGroup,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticMultiSelectElement,
    StaticSelectElement,
    UserMultiSelectElement,
)
from slack_sdk.models.views import View

from bot.slack import limits as lim
from handlers import messages as m

Dict = dict[str, Any]


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
            amp = text.rfind("&", cut - 4, cut)  # not inside &amp; &lt; &gt;: half would show
            if amp > 0 and ";" not in text[amp:cut]:
                cut = amp
        yield text[:cut]
        text = text[cut:].lstrip("\n ")
    yield text


def _plain(text: str, limit: int) -> str:
    """Plain text that must fit one field (button, title): shortened with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _sections(mrkdwn: str) -> list[Block]:
    if not mrkdwn.strip():
        return []  # Slack refuses an empty text (TEXT_MIN): nothing to show
    return [
        SectionBlock(text=MarkdownTextObject(text=part))
        for part in _chunks(mrkdwn, lim.SECTION_TEXT.value)
    ]


def _quote(block: m.Quote) -> list[Block]:
    """Each part of a long quote is a quote too; the name under the last."""
    quoted = "\n".join(f"> {line}" for line in escape(block.text).splitlines() or [""])
    parts = [
        p if p.startswith(">") else f"> {p}" for p in _chunks(quoted, lim.SECTION_TEXT.value - 2)
    ]
    if block.label:
        label = f"— {escape(block.label)}"
        if len(parts[-1]) + 1 + len(label) <= lim.SECTION_TEXT.value:
            parts[-1] += f"\n{label}"
        else:
            parts += list(_chunks(label, lim.SECTION_TEXT.value))
    return [SectionBlock(text=MarkdownTextObject(text=part)) for part in parts]


def _fields(pairs: tuple[tuple[str, str], ...]) -> list[Block]:
    """Two columns, ten fields a section at most, and no more text than one section holds."""
    parts = [
        part
        for label, value in pairs
        for part in _chunks(f"*{escape(label)}*\n{escape(value)}", lim.FIELD_TEXT.value)
    ]
    sections: list[list[str]] = [[]]
    for part in parts:
        full = len(sections[-1]) == lim.SECTION_FIELDS.value
        if sections[-1] and (
            full or sum(map(len, sections[-1])) + len(part) > lim.SECTION_TEXT.value
        ):
            sections.append([])
        sections[-1].append(part)
    return [
        SectionBlock(fields=[MarkdownTextObject(text=p) for p in group])
        for group in sections
        if group
    ]


def _block(block: m.Block, diagram_note: str) -> list[Block]:
    if isinstance(block, m.Heading):
        if len(block.text) <= lim.HEADER_TEXT.value:
            return [HeaderBlock(text=PlainTextObject(text=block.text, emoji=False))]
        return _sections(f"*{escape(block.text)}*")
    if isinstance(block, m.Text):
        return _sections(escape(block.text))
    if isinstance(block, m.Quote):
        return _quote(block)
    if isinstance(block, m.Bullets):
        return _sections("\n".join(f"• {escape(item)}" for item in block.items))
    if isinstance(block, m.Fields):
        return _fields(block.pairs)
    if isinstance(block, m.Divider):
        return [DividerBlock()]
    if isinstance(block, m.Image | m.Diagram):
        note = diagram_note if isinstance(block, m.Diagram) else ""
        alt = escape(f"{block.alt} {note}".strip())
        return [
            ContextBlock(elements=[MarkdownTextObject(text=part)])
            for part in _chunks(alt, lim.TEXT_OBJECT.value)
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


def _fits(text: str, limit: lim.Limit) -> str:
    """An id or value the core made: it must fit as it is (a part of it would mean nothing)."""
    if len(text) > limit.value:
        raise ValueError(f"{len(text)} characters, over Slack's {limit.value} {limit.what}")
    return text


def _buttons(actions: tuple[m.Action, ...]) -> list[Block]:
    per_block = lim.ACTIONS_ELEMENTS.value
    out: list[Block] = []
    for start in range(0, len(actions), per_block):
        elements = []
        for i, action in enumerate(actions[start : start + per_block], start=start):
            style = None if action.style == "default" else action.style
            label = _plain(action.label, lim.BUTTON_TEXT.value)
            elements.append(
                ButtonElement(
                    text=PlainTextObject(text=label, emoji=False),
                    # action_id must be unique in a block; the listener reads the part before '#'.
                    action_id=_fits(f"{action.id}#{i}", lim.ACTION_ID),
                    value=_fits(action.value, lim.BUTTON_VALUE),
                    style=style,
                )
            )
        out.append(ActionsBlock(elements=elements))
    return out


def render(message: m.Message, diagram_note: str = "") -> list[list[Dict]]:
    """One or more Slack messages' worth of blocks (as JSON dicts, validated by the models):
    a new message before one would pass 50 blocks or Slack's total text (`MESSAGE_TEXT`)."""
    blocks = [b.to_dict() for item in message.blocks for b in _block(item, diagram_note)]
    out: list[list[Dict]] = [[]]
    size = 0
    for block in blocks:
        cost = lim.text_length(block)  # at most one section's: every block is within that
        full = len(out[-1]) == lim.BLOCKS_PER_MESSAGE.value
        if out[-1] and (full or size + cost > lim.MESSAGE_TEXT.value):
            out.append([])
            size = 0
        out[-1].append(block)
        size += cost
    return out


def fallback_text(message: m.Message) -> str:
    """The notification text that goes with the blocks (every message has one)."""
    return _plain(escape(message.plain_text), lim.FALLBACK_TEXT.value) or "Coulisse"


def _input(
    field: m.TextInput | m.DateInput | m.DateTimeInput | m.Select | m.PeopleInput,
) -> InputBlock:
    element: Any
    if isinstance(field, m.TextInput):
        # Slack refuses a modal whose max_length is above 3,000; the person sees the limit.
        longest = min(field.max_length, lim.TEXT_INPUT_MAX.value)
        element = PlainTextInputElement(
            action_id=field.name,
            multiline=field.multiline,
            max_length=longest,
            # A suggestion the person edits, shortened visibly if it would not fit.
            initial_value=_plain_lines(field.value, longest) or None,
        )
    elif isinstance(field, m.DateInput):
        element = DatePickerElement(action_id=field.name)
    elif isinstance(field, m.PeopleInput):
        element = UserMultiSelectElement(action_id=field.name)
    elif isinstance(field, m.DateTimeInput):
        element = DateTimePickerElement(action_id=field.name)
    else:
        kind = StaticMultiSelectElement if field.multiple else StaticSelectElement
        options = _options(field.options)
        if len(options) <= lim.OPTIONS.value:
            element = kind(action_id=field.name, options=options)
        else:
            element = kind(action_id=field.name, option_groups=_groups(options))
    return InputBlock(
        block_id=_fits(field.name, lim.BLOCK_ID),
        label=PlainTextObject(text=_plain(field.label, lim.INPUT_LABEL.value), emoji=False),
        element=element,
        optional=field.optional,
    )


def _plain_lines(text: str, limit: int) -> str:
    """Like `_plain`, keeping line breaks: text for a field the person edits."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _options(options: Sequence[m.Option]) -> list[Option]:
    return [
        Option(
            value=_fits(o.value, lim.OPTION_VALUE),
            text=PlainTextObject(text=_plain(o.label, lim.OPTION_TEXT.value), emoji=False),
        )
        for o in options
    ]


def _groups(options: list[Option]) -> list[OptionGroup]:
    """More options than a menu holds: in numbered groups of 100, none left out."""
    per = lim.OPTIONS.value
    groups = [
        OptionGroup(
            label=PlainTextObject(text=f"{i + 1}–{min(i + per, len(options))}", emoji=False),
            options=options[i : i + per],
        )
        for i in range(0, len(options), per)
    ]
    if len(groups) > lim.OPTION_GROUPS.value:
        raise ValueError(f"{len(options)} options: more than a Slack menu can hold")
    return groups


def modal(form: m.Form, private_metadata: str = "") -> dict[str, Any]:
    """A form as a modal view. The callback id carries the form id and what it refers to."""
    title = lim.VIEW_TITLE.value
    blocks: list[Block] = []
    if len(form.title) > title:  # the whole title above the fields, shortened in the bar
        blocks += _sections(f"*{escape(form.title)}*")
    blocks += [_input(field) for field in form.fields]
    if len(blocks) > lim.BLOCKS_PER_VIEW.value:
        raise ValueError(f"a form of {len(form.fields)} fields: more than a modal holds")
    view = View(
        type="modal",
        callback_id=_fits(f"{form.id}|{form.context}", lim.CALLBACK_ID),
        title=PlainTextObject(text=_plain(form.title, title), emoji=False),
        submit=PlainTextObject(text=_plain(form.submit, title), emoji=False),
        close=PlainTextObject(text="×", emoji=False),
        blocks=blocks,
        private_metadata=_fits(private_metadata, lim.PRIVATE_METADATA),
    )
    return view.to_dict()


# What the core says instead of the Home's blocks that do not fit (handlers.home.left_out).
LeftOut = Callable[[Sequence[m.Block]], m.Message]


def home(message: m.Message, more: LeftOut | None = None) -> Dict:
    """The App Home tab, up to Slack's 100 blocks. A Home that does not fit shows its first
    neutral blocks and then `more(the rest)`: the core's line about what is left out."""
    limit = lim.BLOCKS_PER_VIEW.value

    def rendered(blocks: Sequence[m.Block]) -> list[Dict]:
        return [b.to_dict() for item in blocks for b in _block(item, "")]

    parts = [rendered((item,)) for item in message.blocks]
    shown = len(parts)
    tail: list[Dict] = []
    while sum(map(len, parts[:shown])) + len(tail) > limit:
        if more is None:
            raise ValueError("a Home larger than Slack shows, and nothing to say instead")
        shown -= 1
        while shown and isinstance(message.blocks[shown - 1], m.Heading):
            shown -= 1  # no heading with nothing under it
        tail = rendered(more(message.blocks[shown:]).blocks)
    blocks = [b for part in parts[:shown] for b in part] + tail
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
