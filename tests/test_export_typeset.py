"""The PDF (Typst) and Word renderers on a Document built here: what an assistive technology
needs is in the files (tags, header cells, alternatives, language), and whatever people typed
comes out as they typed it, never as markup."""

from __future__ import annotations

import io
import re
import subprocess
import zipfile
from pathlib import Path

import docx
import pytest

from bot.export.chart import follow_through_svg
from bot.export.document import Document, Figure, Heading, Items, Paragraph, Quotes, Table
from bot.export.docx import to_docx
from bot.export.pdf import LINE_CHARACTERS, share, to_pdf, widths
from handlers.series_report import FOLLOW_THROUGH
from handlers.summary import FollowThrough
from tests.test_export_formats import require

# Typst markup, code and escapes, and Word's own characters: all of it must stay text.
TYPED = (
    '#panic("kapot") *vet* _schuin_ $x^2$ `code` @ref <label> ] [ \\ "aanhalingstekens"',
    "= geen kop",
    "- geen lijst",
    "regel één\nregel twee\tna een tab",
)


def a_document() -> Document:
    rows = (FollowThrough(1, "Sessie 1", "2027-01-11", 2, 1, 1, 0, 0, 0),)
    labels = {key: key for key in FOLLOW_THROUGH}
    doc = Document("Samenvatting: toets", "nl")
    doc.add(
        Heading(doc.title, 1),
        Paragraph(TYPED[0], label="Vraagstuk"),
        Heading("Rondes", 2),
        Heading("1. Start, stop, doorgaan", 3),
        Paragraph("Wat vond je?", note=True),
        Quotes((TYPED[1], TYPED[3])),
        Items((TYPED[2], "gewoon een punt")),
        Table(
            "Afspraken",
            ("afspraak", "aantal"),
            (("bellen " * 20, "3"), (TYPED[0], "12")),
            (False, True),
        ),
        Figure(
            "follow-through",
            "Staafdiagram van de afspraken",
            lambda: follow_through_svg(rows, labels, "Afspraken"),
        ),
    )
    return doc


def pdf_text(pdf: bytes, folder: Path) -> str:
    (folder / "t.pdf").write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(folder / "t.pdf"), "-"], capture_output=True, check=True)
    return " ".join(out.stdout.decode().split())


def pdf_structure(pdf: bytes, folder: Path) -> tuple[str, str, str]:
    (folder / "s.pdf").write_bytes(pdf)
    info, struct, meta = (
        subprocess.run(["pdfinfo", *flag, str(folder / "s.pdf")], capture_output=True).stdout
        for flag in ([], ["-struct-text"], ["-meta"])
    )
    return info.decode(), struct.decode(), meta.decode()


def test_the_pdf_is_tagged_for_assistive_technology(tmp_path: Path) -> None:
    require("pdfinfo")
    pdf = to_pdf(a_document())
    info, struct, meta = pdf_structure(pdf, tmp_path)
    assert re.search(r"^Tagged:\s+yes", info, re.MULTILINE)
    assert re.search(r"^Title:\s+Samenvatting: toets", info, re.MULTILINE)
    assert "<pdfuaid:part>1</pdfuaid:part>" in meta  # Typst checked PDF/UA-1's rules
    assert "<dc:language><rdf:Bag><rdf:li>nl</rdf:li>" in meta
    tags = [line.split()[0].rstrip(":") for line in struct.splitlines() if line.strip()]
    for tag in ("H1", "H2", "H3", "P", "BlockQuote", "L", "LI", "Table", "Caption", "TH", "TD"):
        assert tag in tags, tag
    assert struct.count("/Scope /Column") == 2  # the header cells head their columns
    assert "Figure" in tags and pdf.count(b"/Alt") == 1  # with its text alternative


def test_what_people_typed_is_printed_as_typed(tmp_path: Path) -> None:
    require("pdftotext")
    text = pdf_text(to_pdf(a_document()), tmp_path)
    for typed in TYPED:
        assert " ".join(typed.split()) in text, typed
    assert "Vraagstuk:" in text and text.count("bellen") == 20  # the long cell wraps, whole


def test_records_are_printed_as_a_list_with_each_detail_labelled(tmp_path: Path) -> None:
    require("pdfinfo")
    rows = (("bellen " * 12, TYPED[0], "2027-01-25"), ("delen", "Deelnemer 2", "2027-02-01"))
    doc = Document("Afspraken", "nl")
    doc.add(Table("Afspraken", ("afspraak", "wie", "klaar op"), rows, records=True))
    pdf = to_pdf(doc)
    text = pdf_text(pdf, tmp_path)
    details = f"wie: {' '.join(TYPED[0].split())}; klaar op: 2027-01-25"
    assert f"• {'bellen ' * 11}bellen {details} • delen wie: Deelnemer 2" in text
    struct = pdf_structure(pdf, tmp_path)[1]
    tags = [line.split()[0].rstrip(":") for line in struct.splitlines() if line.strip()]
    assert tags.count("LI") == 2 and "Table" not in tags


def test_word_keeps_breaks_tabs_header_rows_and_alternatives() -> None:
    word = docx.Document(io.BytesIO(to_docx(a_document())))
    styles = [(p.style.name, p.text) for p in word.paragraphs if p.text]
    assert styles[0] == ("Heading 1", "Samenvatting: toets")
    assert ("Heading 3", "1. Start, stop, doorgaan") in styles
    assert ("List Bullet", TYPED[2]) in styles and ("Quote", f"“{TYPED[1]}”") in styles
    assert ("Quote", f"“{TYPED[3]}”") in styles  # python-docx reads <w:br/> and <w:tab/> back
    label, said = word.paragraphs[1].runs[:2]
    assert (label.text, label.bold, said.text) == ("Vraagstuk: ", True, TYPED[0])
    note = next(p for p in word.paragraphs if p.text == "Wat vond je?")
    assert note.runs[0].italic
    table = word.tables[0]
    assert table.style.name == "Table Grid" and table.rows[2].cells[0].text == TYPED[0]
    header = table.rows[0]._tr  # the header flag has no python-docx API
    assert header.xpath("./w:trPr/w:tblHeader/@w:val") == ["true"]
    assert [c.paragraphs[0].alignment for c in table.rows[1].cells] == [None, 2]  # RIGHT
    assert all(r.bold for r in table.rows[0].cells[0].paragraphs[0].runs)
    picture = word.inline_shapes[0]._inline
    assert picture.docPr.get("descr") == "Staafdiagram van de afspraken"
    assert ("Caption", "Staafdiagram van de afspraken") in styles


def test_word_defines_the_styles_it_uses_and_carries_none_of_the_templates_extras() -> None:
    data = to_docx(a_document())
    parts = zipfile.ZipFile(io.BytesIO(data)).namelist()
    extras = ("docProps/thumbnail", "word/stylesWithEffects", "customXml/")
    assert not [part for part in parts if part.startswith(extras)]
    word = docx.Document(io.BytesIO(data))
    defined = {style.style_id for style in word.styles}
    used = set(word.element.body.xpath(".//w:pStyle/@w:val | .//w:tblStyle/@w:val"))
    assert {"Heading1", "Caption", "TableGrid"} <= used <= defined
    listed = set(word.part.numbering_part.element.xpath(".//w:pStyle/@w:val"))
    assert "ListNumber" in listed and listed <= defined  # the styles Word's lists name
    assert len(defined) < 40  # not python-docx's 164


def test_columns_are_as_wide_as_their_longest_word_and_share_the_rest() -> None:
    sentence = "een lange zin over bellen en delen " * 4
    text, date = widths(Table("t", ("afspraak", "klaar op"), ((sentence, "2027-01-25"),)))
    assert date >= len("2027-01-25") + 2  # a date is never broken
    assert text + date == pytest.approx(LINE_CHARACTERS)  # the rest of the line is the text's
    assert text < len(sentence)  # so the sentence wraps
    assert widths(Table("t", ("a", "b"), (("ja", "nee"),))) == [4, 5]  # all fits: as wide as it is


@pytest.mark.parametrize(
    ("svg", "expected"),
    [
        ('<svg width="2690pt" height="2126pt" viewBox="0 0 1 1">', 1.0),  # wide: full width
        ('<svg width="100" height="400">', 200 / (178 * 4)),  # tall: as high as a page allows
        ('<svg viewBox="0 0 1 1">', 1.0),
    ],
)
def test_a_picture_is_never_taller_than_a_page(svg: str, expected: float) -> None:
    assert share(svg) == pytest.approx(expected)
