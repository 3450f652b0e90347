"""`coulisse export` and the chat's export: a session's or a series' summary as Markdown, HTML,
PDF, Word, JSON (validated against its schema in the repo) or the commitments as CSV the way
Dutch Excel opens it (UTF-8 with BOM, `;`)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.export.diagram import write_files
from bot.export.document import Document, series_document, session_document
from bot.export.errors import NothingToExport
from bot.export.html import to_html
from bot.export.markdown import to_markdown
from bot.export.pdf import PdfUnavailable, to_pdf
from bot.export.summary import diagram_of
from handlers.model import Series, Session
from handlers.ports import UnitOfWork
from handlers.reports import build_summary
from handlers.series_report import build_series_summary
from handlers.summary import SeriesSummary, Summary
from prompts.catalog import t

if TYPE_CHECKING:
    import jsonschema

# python-docx (with lxml) and jsonschema are imported by the formats that use them, when they
# are asked for: a server that never exports Word or JSON does not load them.

SCHEMA = Path(__file__).with_name("summary.schema.json")
SERIES_SCHEMA = Path(__file__).with_name("series.schema.json")
FORMATS = ("md", "html", "pdf", "docx", "csv", "json")
MEDIA_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}

ExportData = Summary | SeriesSummary  # what `gather` finds; `as_dict` is its JSON


@dataclass(frozen=True)
class ExportTarget:
    kind: str  # "session" or "series"
    id: int

    @classmethod
    def parse(cls, text: str) -> ExportTarget:
        """`12` is session 12; `series:3` (or `reeks:3`) is series 3."""
        kind, _, number = text.strip().lower().rpartition(":")
        if kind in ("", "session", "sessie"):
            return cls("session", int(number))
        if kind in ("series", "reeks"):
            return cls("series", int(number))
        raise ValueError(text)


@dataclass(frozen=True)
class ExportFile:
    filename: str
    media_type: str
    data: bytes


@cache
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA.read_text(encoding="utf-8"))


@cache
def _session_validator() -> jsonschema.Draft7Validator:
    import jsonschema

    return jsonschema.Draft7Validator(schema())


@cache
def _series_validator() -> jsonschema.Draft7Validator:
    import jsonschema
    from referencing import Registry, Resource

    session = Resource.from_contents(schema())
    registry = Registry().with_resource(schema()["$id"], session)
    series = json.loads(SERIES_SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(series, registry=registry)


def is_series(data: ExportData) -> bool:
    return isinstance(data, SeriesSummary)


def as_json(data: dict[str, Any]) -> str:
    """The summary as JSON (its `as_dict`); an export that does not match the schema is refused,
    not written."""
    if "series" in data:
        _series_validator().validate(data)
    else:
        _session_validator().validate(data)
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def commitments_csv(data: ExportData, lang: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    keys = ("number", "commitment", "owner", "organisation", "due", "mode", "status", "check_ins")
    sessions = data.sessions if isinstance(data, SeriesSummary) else (data,)
    lead = [t(lang, "export.csv.session")] if is_series(data) else []
    writer.writerow(lead + [t(lang, f"export.csv.{k}") for k in keys])
    for summary in sessions:
        session = [inert(summary.session.title)] if is_series(data) else []
        for c in summary.commitments:
            row = [c.number, inert(c.text), inert(c.owner), inert(c.organisation)]
            writer.writerow(
                [*session, *row, c.due_date, c.mode_label, c.status_label, len(c.check_ins)]
            )
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def inert(text: str) -> str:
    """Excel runs a cell that starts with = + - @ (or a tab or carriage return) as a formula:
    such text gets a leading apostrophe, which Excel shows as text (OWASP's advice)."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def document(data: ExportData, lang: str) -> Document:
    if isinstance(data, SeriesSummary):
        return series_document(data, lang)
    return session_document(data, lang)


def render(data: ExportData, fmt: str, lang: str) -> bytes:
    """One export of a session (`build_summary`) or series (`build_series_summary`)."""
    if fmt == "json":
        return as_json(data.as_dict()).encode("utf-8")
    if fmt == "csv":
        return commitments_csv(data, lang)
    if fmt == "md":
        return to_markdown(document(data, lang)).encode("utf-8")
    if fmt == "html":
        return to_html(document(data, lang)).encode("utf-8")
    if fmt == "pdf":
        return to_pdf(document(data, lang))
    if fmt == "docx":
        from bot.export.docx import to_docx

        return to_docx(document(data, lang))
    raise ValueError(f"unknown format {fmt!r}")


def filename(data: ExportData, fmt: str) -> str:
    if fmt == "csv":
        return "commitments.csv"
    stem = f"series-{data.series.id}" if isinstance(data, SeriesSummary) else "summary"
    return f"{stem}.{fmt}"


async def gather(
    uow: UnitOfWork,
    target: ExportTarget,
    lang: str | None,
    today: date,
    *,
    names: bool = False,
) -> ExportData:
    """The data an export shows; NothingToExport when the target does not exist (yet)."""
    if target.kind == "series":
        series = await uow.get(Series, target.id)
        data = (
            await build_series_summary(uow, series, today, lang, with_names=names)
            if series is not None
            else None
        )
        if data is None:
            raise NothingToExport(target)
        return data
    session = await uow.get(Session, target.id)
    if session is None:
        raise NothingToExport(target)
    return await build_summary(uow, session, lang, with_names=names)


async def export_file(
    uow: UnitOfWork,
    target: ExportTarget,
    fmt: str,
    lang: str | None,
    today: date,
    *,
    names: bool = False,
) -> ExportFile:
    data = await gather(uow, target, lang, today, names=names)
    shown_in = language_of(data)
    return ExportFile(filename(data, fmt), MEDIA_TYPES[fmt], render(data, fmt, shown_in))


def language_of(data: ExportData) -> str:
    return data.series.language if isinstance(data, SeriesSummary) else data.session.language


def title_of(data: ExportData) -> str:
    return data.series.title if isinstance(data, SeriesSummary) else data.session.title


def write_summary(summary: Summary, out_dir: Path, lang: str) -> tuple[list[Path], str]:
    """The demo's files: the summary in every format, the commitments, the map's pictures.
    Returns what was written and, when a format could not be made here, why."""
    written, missing = [], ""
    for fmt in FORMATS:
        path = out_dir / filename(summary, fmt)
        try:
            path.write_bytes(render(summary, fmt, lang))
        except PdfUnavailable as error:
            missing = str(error)
            continue
        written.append(path)
    diagram = diagram_of(summary, t(lang, "export.causal_map"))
    if diagram is not None:
        written += write_files(diagram, out_dir)
    return written, missing
