"""`coulisse export`: a session's summary as Markdown, JSON (validated against its schema) or
the commitments as CSV the way Dutch Excel opens it (UTF-8 with BOM, `;`)."""

from __future__ import annotations

import csv
import io
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from bot.export.diagram import write_files
from bot.export.summary import diagram_of, markdown
from prompts.catalog import t

SCHEMA = Path(__file__).with_name("summary.schema.json")
FORMATS = ("md", "json", "csv")


@cache
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA.read_text(encoding="utf-8"))


def as_json(summary: dict[str, Any]) -> str:
    """The summary as JSON; an export that does not match the schema is refused, not written."""
    jsonschema.Draft7Validator(schema()).validate(summary)
    return json.dumps(summary, ensure_ascii=False, indent=2) + "\n"


def commitments_csv(summary: dict[str, Any], lang: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    keys = ("number", "commitment", "owner", "organisation", "due", "mode", "status", "check_ins")
    writer.writerow([t(lang, f"export.csv.{k}") for k in keys])
    for c in summary["commitments"]:
        writer.writerow(
            [
                c["number"],
                c["text"],
                c["owner"],
                c["organisation"],
                c["due_date"],
                c["mode_label"],
                c["status_label"],
                len(c["check_ins"]),
            ]
        )
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def render(summary: dict[str, Any], fmt: str, lang: str) -> bytes:
    if fmt == "md":
        return markdown(summary, lang).encode("utf-8")
    if fmt == "json":
        return as_json(summary).encode("utf-8")
    if fmt == "csv":
        return commitments_csv(summary, lang)
    raise ValueError(f"unknown format {fmt!r}")


def write_summary(summary: dict[str, Any], out_dir: Path, lang: str) -> tuple[Path, Path]:
    """The demo's files: summary.md, summary.json (validated), commitments.csv, the map."""
    md_path, json_path = out_dir / "summary.md", out_dir / "summary.json"
    md_path.write_text(markdown(summary, lang), encoding="utf-8")
    json_path.write_text(as_json(summary), encoding="utf-8")
    (out_dir / "commitments.csv").write_bytes(commitments_csv(summary, lang))
    diagram = diagram_of(summary, t(lang, "export.causal_links"))
    if diagram is not None:
        write_files(diagram, out_dir)
    return md_path, json_path
