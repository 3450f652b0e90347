"""A Document as Word: real heading styles and tables, because municipalities edit these.

Word cannot show SVG, so figures go in as PNG when Graphviz drew one; otherwise their text
alternative stands in their place (the tables and lists beside them carry the same content).
"""

from __future__ import annotations

import io

import docx
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm

from bot.export.document import Document, Figure, Heading, Items, Paragraph, Quotes, Table


def to_docx(doc: Document) -> bytes:
    word = docx.Document()
    word.core_properties.title = doc.title
    word.core_properties.language = doc.lang
    word.core_properties.author = "Coulisse"
    for block in doc.blocks:
        if isinstance(block, Heading):
            word.add_heading(block.text, level=min(block.level, 9))
        elif isinstance(block, Paragraph):
            p = word.add_paragraph()
            if block.label:
                p.add_run(f"{block.label}: ").bold = True
            p.add_run(block.text).italic = block.note
        elif isinstance(block, Items):
            for item in block.items:
                word.add_paragraph(item, style="List Bullet")
        elif isinstance(block, Quotes):
            for quote in block.items:
                word.add_paragraph(f"“{quote}”", style="Quote")
        elif isinstance(block, Table):
            _table(word, block)
        elif isinstance(block, Figure):
            _figure(word, block)
    out = io.BytesIO()
    word.save(out)
    return out.getvalue()


def _table(word: docx.document.Document, table: Table) -> None:
    word.add_paragraph(table.caption, style="Caption")
    grid = word.add_table(rows=1, cols=len(table.header))
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.LEFT
    numeric = table.numeric or (False,) * len(table.header)
    _repeat_first_row(word)
    for cell, text in zip(grid.rows[0].cells, table.header, strict=True):
        cell.paragraphs[0].add_run(text).bold = True
    for row in table.rows:
        cells = grid.add_row().cells
        for i, (cell, text) in enumerate(zip(cells, row, strict=True)):
            cell.text = text
            if numeric[i]:
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT


def _repeat_first_row(word: docx.document.Document) -> None:
    """Marks the last table's first row as its header: Word repeats it on every page and
    screen readers announce it."""
    first_row = word.element.body.xpath("./w:tbl[last()]/w:tr[1]")[0]
    props = first_row.get_or_add_trPr()
    flag = OxmlElement("w:tblHeader")
    flag.set(qn("w:val"), "true")
    props.append(flag)


def _figure(word: docx.document.Document, figure: Figure) -> None:
    picture = figure.png()
    if picture is None:
        word.add_paragraph(figure.alt, style="Caption")
        return
    word.add_picture(io.BytesIO(picture), width=Cm(16))
    # The picture's text alternative (Word's "alt text"), on the drawing just added.
    drawn = word.element.body.xpath(".//wp:docPr")
    drawn[-1].set("descr", figure.alt)
    word.add_paragraph(figure.alt, style="Caption")
