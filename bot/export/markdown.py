"""A Document as Markdown: user text escaped so it stays literal; the map as Mermaid source
(which GitHub and many wikis draw) with its description, since a Markdown file that travels
alone cannot count on a picture file beside it."""

from __future__ import annotations

import re

from bot.export.document import Document, Figure, Heading, Items, Paragraph, Quotes, Table

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#~])")
_LINE_START = re.compile(r"^(\d*)([-+=.)])")  # "- ", "1. ", "=": a list or a heading


def md_escape(text: str) -> str:
    """User text as literal Markdown: no markup, no raw HTML, one line."""
    text = " ".join(text.split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _LINE_START.sub(r"\1\\\2", _MD_SPECIAL.sub(r"\\\1", text))


def to_markdown(doc: Document) -> str:
    lines: list[str] = []
    for block in doc.blocks:
        if isinstance(block, Heading):
            lines += [f"{'#' * block.level} {md_escape(block.text)}", ""]
        elif isinstance(block, Paragraph):
            text = md_escape(block.text)
            if block.label:
                text = f"**{md_escape(block.label)}:** {text}"
            lines += [f"_{text}_" if block.note else text, ""]
        elif isinstance(block, Items):
            lines += [f"- {md_escape(item)}" for item in block.items] + [""]
        elif isinstance(block, Quotes):
            lines += [f"> “{md_escape(item)}”  " for item in block.items] + [""]
        elif isinstance(block, Table):
            lines += _table(block)
        elif isinstance(block, Figure):
            lines += [f"_{md_escape(block.alt)}_", ""]
            if block.mermaid:
                lines += ["```mermaid", block.mermaid.rstrip(), "```", ""]
    return "\n".join(lines)


def _table(table: Table) -> list[str]:
    numeric = table.numeric or (False,) * len(table.header)
    align = ["---:" if right else "---" for right in numeric]
    return [
        "| " + " | ".join(md_escape(h) for h in table.header) + " |",
        "|" + "|".join(align) + "|",
        *("| " + " | ".join(md_escape(cell) for cell in row) + " |" for row in table.rows),
        "",
    ]
