"""`coulisse export`: Markdown, JSON against its schema, CSV for Dutch Excel; pseudonymised."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.export.files import as_json, schema

NAMES = ("Sanne", "Ahmed", "Fleur", "Joost", "Noor")
runner = CliRunner()


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("demo")
    assert runner.invoke(app, ["demo", "--out", str(out)]).exit_code == 0
    return {"COULISSE_DATABASE_URL": f"sqlite:///{out / 'coulisse-demo.db'}"}


def export(env: dict[str, str], *args: str) -> bytes:
    result = runner.invoke(app, ["export", "1", *args], env=env)
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


@pytest.mark.parametrize("fmt", ["md", "json", "csv"])
def test_no_name_or_id_in_any_format(demo_db: dict[str, str], fmt: str) -> None:
    text = export(demo_db, "--format", fmt).decode("utf-8-sig")
    for name in NAMES:
        assert not re.search(rf"\b{name}\b", text), (fmt, name)
        assert not re.search(rf"\b{name.lower()}\b", text), (fmt, name)  # console platform ids


def test_json_validates_against_the_schema_in_the_repo(demo_db: dict[str, str]) -> None:
    data = json.loads(export(demo_db, "--format", "json"))
    jsonschema.Draft7Validator(schema()).validate(data)
    broken = {**data, "commitments": [{**data["commitments"][0], "mode": "whenever"}]}
    with pytest.raises(jsonschema.ValidationError):
        as_json(broken)  # an export that does not fit the schema is refused


def test_csv_opens_the_way_dutch_excel_expects(demo_db: dict[str, str]) -> None:
    raw = export(demo_db, "--format", "csv")
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [
        "Nummer",
        "Afspraak",
        "Wie",
        "Organisatie",
        "Klaar op",
        "Hoe",
        "Stand",
        "Check-ins",
    ]
    assert (
        len(rows) == 5
        and re.fullmatch(r"Deelnemer [0-9A-Z]{4}", rows[1][2])
        and rows[1][5] == "samen maken"
    )


def test_names_only_for_commitment_owners(demo_db: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "named.md"
    export(demo_db, "--format", "md", "--names", "--out", str(out))
    text = out.read_text(encoding="utf-8")
    assert "Ahmed" in text  # he owns commitments
    assert "Fleur" not in text  # she only answered and co-owned: never named as an author
    missing = runner.invoke(app, ["export", "99"], env=demo_db)
    assert missing.exit_code == 2
    wrong = runner.invoke(app, ["export", "1", "--format", "pdfx"], env=demo_db)
    assert wrong.exit_code == 2
