"""Neutral messages as plain terminal text."""

from __future__ import annotations

import textwrap
from collections.abc import Callable

from handlers.conversation import short_label
from handlers.messages import (
    Bullets,
    Choices,
    DateInput,
    DateTimeInput,
    Diagram,
    Divider,
    Fields,
    Form,
    Heading,
    Image,
    Message,
    Quote,
    Select,
    Text,
    TextInput,
)
from handlers.router import CONVERSATION
from prompts.catalog import has, t, words

WIDTH = 96


def _wrap(text: str, indent: str = "  ") -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines += textwrap.wrap(
            paragraph, WIDTH, initial_indent=indent, subsequent_indent=indent
        ) or [indent]
    return lines


def _form(lang: str, form: Form) -> list[str]:
    """How to type the form out: the command that shows it, its fields in order."""
    command = CONVERSATION.form_of_command(form.id)
    spec = CONVERSATION.forms.get(form.id)
    if command is None or spec is None:
        return _wrap(t(lang, "console.reply_hint"))
    placeholders = []
    shown = spec.typed_fields or None
    for field in form.fields:
        if shown is not None and field.name not in shown:
            continue
        label = f"<{field.label}>"
        if isinstance(field, TextInput) and field.value:
            label = field.value
        elif isinstance(field, Select):
            # The choices in the person's words; the core reads a label as its option.
            label = "<" + "|".join(short_label(o.label) for o in field.options) + ">"
        elif isinstance(field, DateInput):
            label = f"<{t(lang, 'when.date_example')}>"
        elif isinstance(field, DateTimeInput):
            label = f"<{field.label}, {t(lang, 'when.moment_example')}>"
        if field.optional:
            label = f"[{label}]"
        placeholders.append(label)
    return _wrap(
        t(
            lang,
            "console.form_hint",
            title=form.title,
            usage=f"/{_word(lang, command.name)} " + " ; ".join(placeholders),
        )
    )


def _word(lang: str, name: str) -> str:
    """A command as the person would type it: `afspraak` in Dutch, `commit` in English (the
    canonical names are English)."""
    key = f"commands.aliases.{name}"
    own = words(lang, key) if has(key) and lang != "en" else []
    return own[0] if own else name


Draw = Callable[[Diagram], str]


def render(message: Message, lang: str, draw: Draw | None = None) -> list[str]:
    """Plain lines; `draw` saves a diagram and says where (the console shows a file path)."""
    lines: list[str] = []
    for block in message.blocks:
        if isinstance(block, Heading):
            lines.append(f"  ▌ {block.text}")
        elif isinstance(block, Text):
            lines += _wrap(block.text)
        elif isinstance(block, Quote):
            suffix = f" — {block.label}" if block.label else ""
            lines += _wrap(f"“{block.text}”{suffix}", "    ")
        elif isinstance(block, Bullets):
            for item in block.items:
                lines += _wrap(f"• {item}", "    ")
        elif isinstance(block, Fields):
            for label, value in block.pairs:
                lines += _wrap(f"{label}: {value}")
        elif isinstance(block, Divider):
            lines.append("  " + "─" * 40)
        elif isinstance(block, Image):
            lines.append(f"  [{block.alt}: {block.path}]")
        elif isinstance(block, Diagram):
            lines += _wrap(f"[{block.alt}]")
            if draw:
                lines.append(f"  → {draw(block)}")
        elif isinstance(block, Choices):
            buttons = [f"[{a.label} → /{a.id} {a.value}]" for a in block.actions]
            lines += _wrap("  ".join(buttons))
        elif isinstance(block, Form):
            lines += _form(lang, block)
    return lines
