"""Every export format, for a session and for a series: structure checked in each medium
(HTML parsed, PDF rendered by poppler, Word reopened with python-docx, JSON against the schema,
CSV with the csv module), and no participant's name or platform id in any of them."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import re
import shutil
import subprocess
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import docx
import pytest
from click.testing import Result
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.clock import ManualClock
from bot.export.files import FORMATS, ExportTarget, NothingToExport, export_file
from bot.export.markdown import md_escape
from bot.wiring import App
from handlers.model import Person, Series
from handlers.pseudonyms import NameScrubber, Pseudonyms
from tests.driver import Driver, started_session, team_of

NAMES = ("Sanne", "Ahmed", "Fleur", "Joost")
ORGANISATIONS = {"Sanne": "gemeente", "Ahmed": "wijkteam", "Fleur": "wijkteam", "Joost": "GGD"}


async def a_series(app: App, clock: ManualClock) -> None:
    """Two sessions of one series; people mention each other by name in what they write."""
    d = Driver(app, organisations=ORGANISATIONS)
    await started_session(d, fmt="custom", rounds="start-stop-continue group vote commit")
    await d.cmd("Fleur", "add", "stop: Ahmed belt elke familie drie keer")
    await d.cmd("Joost", "add", "start: vraag het @sanne of <@ahmed> eerst")
    await d.cmd("Ahmed", "add", "continue: samen lunchen met de school")
    for _ in range(3):
        await d.cmd("Sanne", "next")
    due = (clock.now() + timedelta(days=7)).date().isoformat()
    later = (clock.now() + timedelta(days=60)).date().isoformat()
    await d.form("Ahmed", "commit", text="Eén intake, met Fleur erbij", due=due, mode="co-create")
    await d.form("Fleur", "commit", text="Lunch plannen", due=later, mode="co-produce")
    await d.form("Joost", "commit", text="Wachtlijst delen", due=due, mode="co-produce")
    await d.action("Ahmed", "checkin", "1:done")
    await d.action("Fleur", "checkin", "2:in_progress")
    assert "is gesloten" in await d.cmd("Sanne", "end")

    clock.advance(timedelta(days=14))  # commitment 3 is now overdue
    reply = await d.form(
        "Sanne", "new_session", format="custom", title="Wijk Noord 2", question="En nu?",
        rounds="start-stop-continue commit",
    )  # fmt: skip
    assert "staat klaar" in reply
    await d.cmd("Sanne", "start")
    await d.cmd("Joost", "add", "start: Joost van de GGD sluit aan")
    await d.cmd("Sanne", "next")
    await d.form("Ahmed", "commit", text="Terugbellen binnen een week", due=later, mode="co-create")
    await d.action("Ahmed", "checkin", "4:stuck")
    assert "is gesloten" in await d.cmd("Sanne", "end")
    async with app.uow() as uow:
        series = Series(1, "Wijk Noord", "custom")
        uow.add(series)
        await uow.flush()
        for session in await uow.sessions.for_team(1):
            session.series_id = series.id
        await uow.commit()


def text_of(fmt: str, data: bytes, tmp_path: Path) -> str:
    if fmt == "pdf":
        (tmp_path / "x.pdf").write_bytes(data)
        out = subprocess.run(
            ["pdftotext", str(tmp_path / "x.pdf"), "-"], capture_output=True, check=True
        )
        return out.stdout.decode()
    if fmt == "docx":
        word = docx.Document(io.BytesIO(data))
        cells = [c.text for t in word.tables for row in t.rows for c in row.cells]
        return "\n".join([p.text for p in word.paragraphs] + cells)
    return data.decode("utf-8-sig")


def rendered_pages(pdf: bytes, folder: Path) -> list[Path]:
    (folder / "s.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(folder / "s.pdf"), str(folder / "p")],
                   check=True)  # fmt: skip
    return sorted(folder.glob("p-*.png"))


def require(tool: str) -> None:
    """poppler-utils comes with `make`; a machine without it skips, CI must not."""
    if shutil.which(tool) is None:
        missing = f"{tool} is not installed (poppler-utils; `make system-deps` installs it)"
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", ["session", "series"])
async def test_no_name_or_platform_id_in_any_export(
    app: App, clock: ManualClock, tmp_path: Path, fmt: str, kind: str
) -> None:
    if fmt == "pdf":
        require("pdftotext")
    await a_series(app, clock)
    async with app.uow() as uow:
        made = await export_file(uow, ExportTarget(kind, 1), fmt, None, clock.now().date())
    text = " ".join(text_of(fmt, made.data, tmp_path).split())  # PDF table cells wrap
    for name in NAMES:
        assert not re.search(rf"\b{name}\b", text, re.IGNORECASE), (fmt, name)
    if fmt != "csv":  # the CSV holds the commitments only
        assert "[naam] belt elke familie" in text.replace("\\[naam\\]", "[naam]")
        assert "samen lunchen" in text
    assert "Lunch plannen" in text


async def test_html_is_one_accessible_self_contained_file(app: App, clock: ManualClock) -> None:
    await a_series(app, clock)
    async with app.uow() as uow:
        made = await export_file(uow, ExportTarget("series", 1), "html", None, clock.now().date())
    page = Page()
    page.feed(made.data.decode())
    assert page.lang == "nl" and page.title.startswith("Samenvatting van de reeks")
    assert page.external == [], "the file must not fetch anything"
    assert page.headings[0] == 1 and page.headings.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(page.headings, page.headings[1:], strict=False))
    assert page.tables and all(t["caption"] and t["th_scope"] for t in page.tables)
    assert page.figures and all(page.figures), "every picture has a text alternative"
    assert "<svg" in made.data.decode() and "@page" in made.data.decode()  # inline + printable


async def test_pdf_has_pages(app: App, clock: ManualClock, tmp_path: Path) -> None:
    require("pdftoppm")
    await a_series(app, clock)
    async with app.uow() as uow:
        made = await export_file(uow, ExportTarget("series", 1), "pdf", None, clock.now().date())
    assert made.data.startswith(b"%PDF-") and made.media_type == "application/pdf"
    pages = rendered_pages(made.data, tmp_path)
    assert len(pages) >= 2 and all(p.stat().st_size > 1000 for p in pages)


async def test_word_has_real_headings_and_tables(app: App, clock: ManualClock) -> None:
    await a_series(app, clock)
    async with app.uow() as uow:
        made = await export_file(uow, ExportTarget("series", 1), "docx", None, clock.now().date())
    word = docx.Document(io.BytesIO(made.data))
    headings = [(p.style.name, p.text) for p in word.paragraphs if p.style.name.startswith("Head")]
    assert headings[0] == ("Heading 1", "Samenvatting van de reeks: Wijk Noord")
    assert ("Heading 2", "Sessie: Wijk Noord 2") in headings
    assert ("Heading 2", "Wat er van de afspraken terechtkwam") in headings
    follow = next(t for t in word.tables if t.rows[0].cells[0].text == "Sessie")
    assert [c.text for c in follow.rows[0].cells][1:] == [
        "gedaan", "op koers", "vast", "losgelaten", "over tijd", "nog niet gemeld",
    ]  # fmt: skip
    # Session 1: done, on track, overdue; session 2: stuck.
    assert [c.text for c in follow.rows[1].cells][1:] == ["1", "1", "0", "0", "1", "0"]
    assert [c.text for c in follow.rows[2].cells][1:] == ["0", "0", "1", "0", "0", "0"]
    assert follow.rows[0].cells[0].paragraphs[0].runs[0].bold
    assert word.core_properties.language == "nl"


async def test_series_json_and_csv(app: App, clock: ManualClock) -> None:
    await a_series(app, clock)
    async with app.uow() as uow:
        js = await export_file(uow, ExportTarget("series", 1), "json", "en", clock.now().date())
        table = await export_file(uow, ExportTarget("series", 1), "csv", None, clock.now().date())
    data = json.loads(js.data)  # validated against series.schema.json on the way out
    assert [s["session"]["title"] for s in data["sessions"]] == ["Wijk Noord", "Wijk Noord 2"]
    assert data["series"]["language"] == "en"
    owners = [c["owner"] for s in data["sessions"] for c in s["commitments"]]
    # One key per export: Ahmed is the same pseudonym in both sessions, the others differ.
    assert owners[0] == owners[3] and len(set(owners)) == 3
    rows = list(csv.reader(io.StringIO(table.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:2] == ["Sessie", "Nummer"] and len(rows) == 5
    assert table.data.startswith(b"\xef\xbb\xbf") and table.filename == "commitments.csv"


async def test_two_exports_cannot_be_joined_on_pseudonyms(app: App, clock: ManualClock) -> None:
    await a_series(app, clock)
    async with app.uow() as uow:
        first = await export_file(uow, ExportTarget("session", 1), "json", None, clock.now().date())
        again = await export_file(uow, ExportTarget("session", 1), "json", None, clock.now().date())
    owners = [[c["owner"] for c in json.loads(x.data)["commitments"]] for x in (first, again)]
    assert all(re.fullmatch(r"Deelnemer [0-9A-HJKMNP-TV-Z]{4}", o) for o in owners[0])
    assert not set(owners[0]) & set(owners[1])


def test_pseudonyms_stay_distinct_when_codes_clash() -> None:
    alias = Pseudonyms("en", key=b"k")
    given = [alias(i) for i in range(3000)]
    assert len(set(given)) == 3000 and alias(7) == given[7]
    assert Pseudonyms("en", key=b"k")(7) == given[7] != Pseudonyms("en", key=b"other")(7)


async def test_nothing_to_export(app: App, clock: ManualClock) -> None:
    async with app.uow() as uow:
        for target in (ExportTarget("session", 99), ExportTarget("series", 99)):
            with pytest.raises(NothingToExport):
                await export_file(uow, target, "md", None, clock.now().date())


async def test_cli_exports_a_series(sqlite_app: App, sqlite_url: str, clock: ManualClock) -> None:
    await a_series(sqlite_app, clock)
    env = {"COULISSE_DATABASE_URL": sqlite_url}
    runner = CliRunner()

    def run(*args: str) -> Result:  # the CLI runs its own event loop: not on this one
        return runner.invoke(cli, list(args), env=env)

    made = await asyncio.to_thread(run, "export", "series:1", "--format", "md")
    assert made.exit_code == 0, made.output
    assert "# Samenvatting van de reeks: Wijk Noord" in made.stdout
    named = await asyncio.to_thread(run, "export", "reeks:1", "--format", "csv", "--names")
    assert "Ahmed" in named.stdout and "Fleur" in named.stdout  # owners by name, on request
    for bad, problem in (("series:x", "not a session or series"), ("7", "no session 7")):
        refused = await asyncio.to_thread(run, "export", bad)
        assert refused.exit_code == 2 and problem in refused.stderr


class Page(HTMLParser):
    """What an accessibility and self-containment check needs from an HTML file."""

    def __init__(self) -> None:
        super().__init__()
        self.lang, self.title, self._in_title = "", "", False
        self.headings: list[int] = []
        self.external: list[str] = []
        self.tables: list[dict[str, bool]] = []
        self.figures: list[bool] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang") or ""
        if tag == "title":
            self._in_title = True
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag in ("link", "script", "img", "iframe", "object", "embed"):
            self.external.append(tag)
        for name in ("src", "href", "xlink:href"):
            value = a.get(name)
            if value and not value.startswith("#"):
                self.external.append(value)
        if a.get("style") and "url(" in (a.get("style") or ""):
            self.external.append(a["style"] or "")
        if tag == "table":
            self.tables.append({"caption": False, "th_scope": False})
        if tag == "caption":
            self.tables[-1]["caption"] = True
        if tag == "th" and a.get("scope") == "col":
            self.tables[-1]["th_scope"] = True
        if tag == "div" and a.get("role") == "img":
            self.figures.append(bool(a.get("aria-label")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


@pytest.mark.parametrize(
    ("typed", "exported"),
    [
        ("vraag <@U07AHMED> eerst", "vraag [naam] eerst"),
        ("@ahmed el amrani belt", "[naam] belt"),
        ("Ahmed belt, ahmed. AHMED!", "[naam] belt, [naam]. [naam]!"),
        ("Ahmedabad en Ahmedov blijven", "Ahmedabad en Ahmedov blijven"),
        ("niemand genoemd", "niemand genoemd"),
    ],
)
def test_names_typed_into_text_are_scrubbed(typed: str, exported: str) -> None:
    scrub = NameScrubber([Person(1, "U07AHMED", "Ahmed El Amrani")], "[naam]")
    assert scrub(typed) == exported


async def test_a_team_of_two_exports_valid_json(app: App, clock: ManualClock) -> None:
    """Two people from one organisation: counted as "other organisations" (2), still valid."""
    d = Driver(app, organisations={"Sanne": "GGD", "Ahmed": "GGD"})
    await team_of(d, "Sanne", "Ahmed")
    await d.form("Sanne", "new_session", format="retro", title="Klein", question="Wat nu?")
    async with app.uow() as uow:
        made = await export_file(uow, ExportTarget("session", 1), "json", None, clock.now().date())
    assert json.loads(made.data)["participants"]["by_organisation"] == {"overige organisaties": 2}


async def test_csv_cells_never_run_as_excel_formulas(app: App, clock: ManualClock) -> None:
    d = Driver(app, organisations=ORGANISATIONS)
    await started_session(d, fmt="custom", rounds="commit")
    due = (clock.now() + timedelta(days=7)).date().isoformat()
    typed = ['=HYPERLINK("http://evil.example";"klik")', "+31 bellen", "-  lijst", "@1+1"]
    for text in typed:
        await d.form("Ahmed", "commit", text=text, due=due, mode="co-create")
    await d.form("Fleur", "commit", text="gewoon bellen", due=due, mode="co-create")
    async with app.uow() as uow:
        made = await export_file(uow, ExportTarget("session", 1), "csv", None, clock.now().date())
    rows = list(csv.reader(io.StringIO(made.data.decode("utf-8-sig")), delimiter=";"))
    cells = [row[1] for row in rows[1:]]
    assert cells[-1] == "gewoon bellen"
    assert len(cells) == 5 and all(c.startswith("'") for c in cells[:4]), cells


async def test_names_in_titles_odd_characters_and_markup_stay_harmless(
    app: App, clock: ManualClock
) -> None:
    d = Driver(app, organisations=ORGANISATIONS)
    await team_of(d, "Sanne", "Ahmed", "Fleur", "Joost")
    reply = await d.form(
        "Sanne", "new_session", format="custom", rounds="start-stop-continue causal",
        title="Terugblik met Fleur", question="Wat vindt Joost?",
    )  # fmt: skip
    assert "staat klaar" in reply
    await d.cmd("Sanne", "start")
    await d.cmd("Ahmed", "add", "start: regel één\x0bregel twee")  # a Word line break
    await d.cmd("Ahmed", "add", "stop: - 1. = geen lijst")  # inside a quotation: literal
    await d.cmd("Sanne", "next")
    await d.cmd("Fleur", "add", "```x -> +<img src=x onerror=alert(1)>")
    async with app.uow() as uow:
        files = {
            fmt: await export_file(uow, ExportTarget("session", 1), fmt, None, clock.now().date())
            for fmt in ("md", "docx", "html", "json")
        }
    word = docx.Document(io.BytesIO(files["docx"].data))
    assert word.core_properties.title == "Samenvatting: Terugblik met [naam]"
    assert word.core_properties.created.year >= 2026 and not word.core_properties.comments
    assert "regel één regel twee" in text_of("docx", files["docx"].data, Path())
    md = files["md"].data.decode()
    assert "> “Stop: - 1. = geen lijst”" in md
    fence = md.split("```mermaid", 1)[1].split("\n```", 1)[0]
    assert "`" not in fence and "<img" not in fence and "onerror" in fence
    for fmt, made in files.items():
        text = made.data.decode("utf-8", "replace") if fmt != "docx" else ""
        assert "Fleur" not in text and "Joost" not in text, fmt


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("- lijst", "\\- lijst"),
        ("1. een", "1\\. een"),
        ("12) twee", "12\\) twee"),
        ("=== kop", "\\=== kop"),
        ("> quote", "&gt; quote"),
        ("*vet* [link](x)", "\\*vet\\* \\[link\\](x)"),
        ("gewoon - niet", "gewoon - niet"),
    ],
)
def test_markdown_keeps_user_text_literal(text: str, escaped: str) -> None:
    assert md_escape(text) == escaped
