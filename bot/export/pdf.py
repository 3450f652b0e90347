"""A Document as a tagged PDF (PDF/UA-1), typeset by Typst (the `typst` wheel, no system
libraries).

The layout is TEMPLATE below, Typst's version of html.py's STYLE (the same fonts, colours,
headings, tables and page numbers). The content goes in as JSON through `sys.inputs`, so what
people typed is only ever data, never Typst markup. Typst tags what it lays out (headings,
paragraphs, lists, quotations, tables with their caption and header cells, figures with their
text alternative, the language) and checks PDF/UA-1's rules itself; WeasyPrint, which printed
the HTML before, took 10 s for a series of ten sessions and tagged nothing.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from typing import Any

from bot.export.document import Block, Document, Figure, Heading, Items, Paragraph, Quotes, Table

INSTALL_HINT = "PDF export needs the typst package (pip install typst)"


class PdfUnavailable(RuntimeError):
    pass


TEMPLATE = r"""
#let doc = json(bytes(sys.inputs.document))
#let ink = rgb("#1f2328")
#let accent = rgb("#0b4f8a")
#let muted = rgb("#424a53")
#let rule = rgb("#d0d7de")

#set document(title: doc.title, author: "Coulisse")
#set text(lang: doc.lang, font: ("DejaVu Sans", "Libertinus Serif"), size: 11pt, fill: ink)
#set par(leading: 0.72em, spacing: 1em)
// The margins are STYLE's @page: the HTML printed and this PDF share a page.
#set page(paper: "a4", margin: (top: 18mm, bottom: 20mm, x: 16mm), footer: context align(
  right, text(9pt, fill: rgb("#57606a"))[#counter(page).display() / #counter(page).final().first()],
))
#show heading: set block(above: 1.4em, below: 0.8em)
// Typst scales headings itself (level 1 by 1.4, level 2 by 1.2): these make 1.7 and 1.3 × 11 pt.
#show heading.where(level: 1): set text(size: 1.7em / 1.4, fill: accent)
#show heading.where(level: 1): set block(above: 0em, below: 1em)
#show heading.where(level: 2): set text(size: 1.3em / 1.2, fill: accent)
#show heading.where(level: 2): it => block(
  width: 100%, stroke: (bottom: 0.75pt + rule), inset: (bottom: 0.25em), above: 2em, it,
)
#show heading.where(level: 3): set text(size: 1.1em)
#show heading.where(level: 4): set block(above: 1.1em)
#set quote(block: true)
#show quote: it => block(
  stroke: (left: 3pt + rgb("#8c959f")), inset: (left: 0.8em, y: 0.2em),
  above: 0.6em, below: 0.6em, it.body,
)
#set figure.caption(position: top)
#show figure: set block(breakable: true, above: 0.9em, below: 1.2em)
#show figure.where(kind: table): set figure.caption(position: top)
#show figure.caption: set align(left)
#show figure.where(kind: table): it => { show figure.caption: strong; it }
#set table(stroke: 0.75pt + rule, inset: (x: 0.5em, y: 0.3em))
#set table.cell(breakable: false)
// Tables a little smaller than on screen (0.95 em there): a series of ten sessions takes 38
// pages instead of 63, and table cells are most of Typst's time.
#show table: set text(size: 0.85em)

#for b in doc.blocks {
  if b.kind == "heading" {
    heading(level: b.level, b.text)
  } else if b.kind == "paragraph" {
    let body = if b.label != "" [#strong(b.label + ":") #b.text] else [#b.text]
    if b.note { par(text(style: "italic", fill: muted, body)) } else { par(body) }
  } else if b.kind == "items" {
    list(..b.items)
  } else if b.kind == "quotes" {
    for q in b.items { quote(q) }
  } else if b.kind == "records" {
    par(strong(b.caption))
    list(..b.items.map(((first, details)) => [#first \ #text(fill: muted, details)]))
  } else if b.kind == "table" {
    figure(
      kind: table, supplement: none, numbering: none, caption: b.caption,
      table(
        // Fractions, not auto: Typst would lay every cell out once more to measure it.
        columns: b.widths.map(w => w * 1fr),
        align: b.numeric.map(n => if n { right } else { left }),
        table.header(..b.header.map(h => table.cell(fill: rgb("#f3f6f9"), strong(h)))),
        ..b.rows.flatten(),
      ),
    )
  } else if b.kind == "figure" {
    figure(
      image(bytes(b.svg), format: "svg", alt: b.alt, width: b.width * 100%),
      supplement: none, numbering: none,
      caption: figure.caption(position: bottom, text(0.9em, fill: muted, b.alt)),
    )
  }
}
"""


def to_pdf(doc: Document) -> bytes:
    try:
        import typst
    except ImportError as error:  # a platform without a typst wheel
        raise PdfUnavailable(f"{INSTALL_HINT} ({error})") from error
    # The figures are drawn on a thread of their own (Graphviz is a process of its own) while the
    # rest is turned into data.
    with ThreadPoolExecutor(max_workers=1) as drawing:
        drawn = {id(b): drawing.submit(b.svg) for b in doc.blocks if isinstance(b, Figure)}
        blocks = [_data(b, drawn) for b in doc.blocks]
    data = {"title": doc.title, "lang": doc.lang, "blocks": blocks}
    return typst.compile(
        TEMPLATE.encode(),
        font_paths=fonts(),
        sys_inputs={"document": json.dumps(data, ensure_ascii=False)},
        pdf_standards="ua-1",
    )


@cache
def fonts() -> Any:
    """The system's fonts (DejaVu Sans) and Typst's own, looked up once per process."""
    import typst

    return typst.Fonts(include_system_fonts=True, include_embedded_fonts=True)


def _data(block: Block, drawn: dict[int, Future[str]]) -> dict[str, Any]:
    if isinstance(block, Heading):
        return {"kind": "heading", "text": _t(block.text), "level": min(block.level, 6)}
    if isinstance(block, Paragraph):
        return {"kind": "paragraph", "text": _t(block.text), "label": _t(block.label),
                "note": block.note}  # fmt: skip
    if isinstance(block, Items | Quotes):
        kind = "items" if isinstance(block, Items) else "quotes"
        return {"kind": kind, "items": [_t(item) for item in block.items]}
    if isinstance(block, Table) and block.records:
        # Laid out as a list it also takes Typst a third less time than as a table.
        labels = block.header[1:]
        items = [
            (_t(first), _t("; ".join(f"{h}: {c}" for h, c in zip(labels, rest, strict=True))))
            for first, *rest in block.rows
        ]
        return {"kind": "records", "caption": _t(block.caption), "items": items}
    if isinstance(block, Table):
        numeric = block.numeric or (False,) * len(block.header)
        return {"kind": "table", "caption": _t(block.caption), "numeric": numeric,
                "header": [_t(h) for h in block.header], "widths": widths(block),
                "rows": [[_t(cell) for cell in row] for row in block.rows]}  # fmt: skip
    if isinstance(block, Figure):
        picture = drawn[id(block)].result()
        return {"kind": "figure", "alt": _t(block.alt), "svg": picture, "width": share(picture)}
    raise TypeError(f"no PDF for {type(block).__name__}")


def _t(text: str) -> str:
    """A tab typed into an answer as a space (Typst would set it as a gap that copied text
    and screen readers lose); line breaks stay."""
    return text.replace("\t", " ")


_SVG_SIZE = re.compile(r'<svg\b[^>]*?\bwidth="([\d.]+)[a-z]*"[^>]*?\bheight="([\d.]+)[a-z]*"')
TEXT_WIDTH_MM, PICTURE_HEIGHT_MM = 178, 200  # A4 less the margins; most of a page's height
# A table line holds about 96 letters of DejaVu Sans at 0.85 × 11 pt (0.56 em on average; a
# digit, 0.64 em, counts 1.15); a cell's padding takes about two.
LINE_CHARACTERS, PADDING = 96, 2.0


def share(svg: str) -> float:
    """How much of the text width a picture takes: all of it (as max-width: 100%), less when
    it would then be taller than a page. Worked out here, from the SVG's size: letting Typst
    measure the picture first made the map cost twice."""
    size = _SVG_SIZE.search(svg)
    if size is None:
        return 1.0
    width, height = float(size.group(1)), float(size.group(2))
    if width <= 0 or height <= 0:
        return 1.0
    return min(1.0, PICTURE_HEIGHT_MM / (TEXT_WIDTH_MM * height / width))


def widths(table: Table) -> list[float]:
    """Column widths as a browser's automatic table layout finds them, counted in characters:
    each column at least as wide as its longest word, the room that is left shared by how much
    more each column's longest text would take. (Typst's own automatic columns measure every
    cell once more; on a series of ten sessions that was a third of the PDF's time.)"""
    columns = list(zip(table.header, *table.rows, strict=True))
    least = [max(_width(max(cell.split() or [""], key=len)) for cell in col) + PADDING
             for col in columns]  # fmt: skip
    most = [max(_width(cell) for cell in col) + PADDING for col in columns]
    room = LINE_CHARACTERS - sum(least)
    wanted = sum(most) - sum(least)
    if room <= 0 or wanted <= 0:
        return least if room <= 0 else most
    return [lo + (hi - lo) * min(1.0, room / wanted) for lo, hi in zip(least, most, strict=True)]


_NO_DIGITS = str.maketrans("", "", "0123456789")


def _width(text: str) -> float:
    return len(text) + 0.15 * (len(text) - len(text.translate(_NO_DIGITS)))
