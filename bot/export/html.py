"""A Document as one self-contained HTML file: inline CSS and SVG, nothing fetched from
elsewhere, printable (the PDF is printed from it), and readable with a screen reader: real
headings, table captions and header cells, and every picture has a text alternative."""

from __future__ import annotations

import re
from html import escape

from bot.export.document import Document, Figure, Heading, Items, Paragraph, Quotes, Table

# Body text #1f2328 on white is 15.9:1 and the accent #0b4f8a 8.6:1 (WCAG AAA asks for 7:1).
STYLE = """
@page { size: A4; margin: 18mm 16mm 20mm;
  @bottom-right { content: counter(page) " / " counter(pages); font-size: 9pt; color: #57606a; } }
html { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; font-size: 11pt;
  line-height: 1.45; color: #1f2328; background: #fff; }
main { max-width: 52rem; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.7rem; color: #0b4f8a; margin: 0 0 1rem; }
h2 { font-size: 1.3rem; color: #0b4f8a; border-bottom: 1px solid #d0d7de; margin-top: 2rem; }
h3 { font-size: 1.1rem; margin-top: 1.4rem; }
h4 { font-size: 1rem; margin-top: 1.1rem; }
h2, h3, h4 { break-after: avoid; }
p.note { font-style: italic; color: #424a53; }
blockquote { margin: .4rem 0 .4rem 1rem; padding-left: .8rem; border-left: 3px solid #8c959f; }
table { border-collapse: collapse; width: 100%; margin: .6rem 0 1rem; font-size: .95rem; }
caption { text-align: left; font-weight: bold; padding-bottom: .3rem; }
th, td { border: 1px solid #d0d7de; padding: .3rem .5rem; vertical-align: top; text-align: left; }
th { background: #f3f6f9; }
td.num, th.num { text-align: right; }
tr { break-inside: avoid; }
figure { margin: 1rem 0; break-inside: avoid; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-size: .9rem; color: #424a53; }
"""

_SVG_PROLOGUE = re.compile(r"^.*?(?=<svg\b)", re.DOTALL)
_SVG_COMMENTS = re.compile(r"<!--.*?-->", re.DOTALL)


def to_html(doc: Document) -> str:
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{escape(doc.lang)}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(doc.title)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        "<main>",
    ]
    parts += [_block(block) for block in doc.blocks]
    parts += ["</main>", "</body>", "</html>", ""]
    return "\n".join(parts)


def _block(block: object) -> str:
    if isinstance(block, Heading):
        level = min(block.level, 6)
        return f"<h{level}>{escape(block.text)}</h{level}>"
    if isinstance(block, Paragraph):
        label = f"<strong>{escape(block.label)}:</strong> " if block.label else ""
        css = ' class="note"' if block.note else ""
        return f"<p{css}>{label}{escape(block.text)}</p>"
    if isinstance(block, Items):
        return "<ul>" + "".join(f"<li>{escape(i)}</li>" for i in block.items) + "</ul>"
    if isinstance(block, Quotes):
        return "".join(f"<blockquote><p>{escape(q)}</p></blockquote>" for q in block.items)
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Figure):
        return _figure(block)
    raise TypeError(f"no HTML for {type(block).__name__}")


def _table(table: Table) -> str:
    numeric = table.numeric or (False,) * len(table.header)

    def cls(i: int) -> str:
        return ' class="num"' if numeric[i] else ""

    head = "".join(f'<th scope="col"{cls(i)}>{escape(h)}</th>' for i, h in enumerate(table.header))
    rows = "".join(
        "<tr>" + "".join(f"<td{cls(i)}>{escape(c)}</td>" for i, c in enumerate(row)) + "</tr>"
        for row in table.rows
    )
    return (
        f"<table><caption>{escape(table.caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    )


def _figure(figure: Figure) -> str:
    """The SVG inline as an image with its text alternative (Graphviz's own title would
    otherwise be read out as the label)."""
    picture = _SVG_COMMENTS.sub("", _SVG_PROLOGUE.sub("", figure.svg(), count=1)).strip()
    alt = escape(figure.alt, quote=True)
    return (
        f'<figure><div role="img" aria-label="{alt}">{picture}</div>'
        f"<figcaption>{escape(figure.alt)}</figcaption></figure>"
    )
