"""The documents for the municipality's officers say only what is true: every table of the schema
is in DATA_PROTECTION.md (and nothing else is), the settings they name exist with the defaults
they give, the files they name exist, the fixed periods are the code's, the secrets they list
are the ones hidden from the settings' repr, the backup commands are the test's, and
publiccode.yml validates against the standard's schema with the package's version and licence.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from bot.config import Settings
from prompts.catalog import LANGUAGES
from storage import tables

ROOT = Path(__file__).resolve().parent.parent
OWN = [
    "SECURITY.md",
    "docs/SECURITY.md",
    "docs/DATA_PROTECTION.md",
    "docs/BIO2.md",
    "docs/DEPLOY.md",
]
DOCUMENTS = [*OWN, "README.md"]
DATA_PROTECTION = "docs/DATA_PROTECTION.md"
# What the documented steps make on the operator's machine (DEPLOY.md, Compose): never in the
# repository, and ignored by git so a secret cannot be committed.
MADE_BY_THE_OPERATOR = {"deploy/secrets/", "deploy/coulisse.env"}
# Settings read by the tests and benchmarks, not by Coulisse.
NOT_COULISSE = {
    "COULISSE_TEST_POSTGRES_URL": "tests/conftest.py",
    "COULISSE_BENCH_POSTGRES_URL": "bench",
}
SETTING = re.compile(r"\b((?:COULISSE|SLACK|MICROSOFT|OPENAI)_[A-Z0-9_]*[A-Z0-9])\b")
UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}


def read(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def settings() -> dict[str, tuple[Any, bool]]:
    """Each setting's environment variable: its default and whether repr shows it."""
    return {f.metadata["env"]: (f.default, f.repr) for f in dataclasses.fields(Settings)}


def rows(text: str) -> list[list[str]]:
    """The cells of every Markdown table row (header and separator rows included)."""
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.lstrip().startswith("|")
    ]


def section(text: str, heading: str) -> str:
    """From a heading (or a line starting so) to the next heading, fenced code skipped."""
    lines = text[text.index(heading) :].splitlines()
    fenced = False
    for n, line in enumerate(lines[1:], 1):
        fenced ^= line.startswith("```")
        if not fenced and re.match(r"#{1,6} ", line):
            return "\n".join(lines[:n])
    return "\n".join(lines)


def code(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def table_rows() -> dict[str, tuple[str, list[str]]]:
    """DATA_PROTECTION.md's table of tables: name -> (personal data yes/no, its columns)."""
    found = {}
    for cells in rows(section(read(DATA_PROTECTION), "## 3. Every table")):
        if len(cells) == 5 and re.fullmatch(r"`\w+`", cells[0]):
            found[cells[0].strip("`")] = (cells[1], code(cells[2]))
    return found


def points_at_people(table: Any) -> list[str]:
    return [
        c.name
        for c in table.columns
        if any(fk.column.table is tables.people for fk in c.foreign_keys)
    ]


def test_every_table_of_the_schema_is_in_the_data_protection_document_and_only_those() -> None:
    named = table_rows()
    assert set(named) == set(tables.metadata.tables), (
        f"missing from {DATA_PROTECTION}: {sorted(set(tables.metadata.tables) - set(named))}; "
        f"no such table: {sorted(set(named) - set(tables.metadata.tables))}"
    )


def test_tables_that_point_at_a_person_are_marked_personal_with_those_columns() -> None:
    named = table_rows()
    for name, table in tables.metadata.tables.items():
        personal, columns = named[name]
        assert personal in ("yes", "no"), (name, personal)
        assert set(columns) <= set(table.columns.keys()), (name, columns)
        assert (personal == "yes") == bool(columns), f"{name}: 'yes' lists columns, 'no' none"
        people = points_at_people(table)
        if people or table is tables.people:
            assert personal == "yes", f"{name} holds people's ids ({people}) but is marked no"
            assert set(people) <= set(columns), f"{name}: list {people} among its columns"


def test_every_setting_the_documents_name_exists() -> None:
    known = settings()
    for name in DOCUMENTS:
        for setting in sorted(set(SETTING.findall(read(name)))):
            if setting in NOT_COULISSE:
                assert setting in read_tree(NOT_COULISSE[setting]), setting
                continue
            base = setting.removesuffix("_FILE")
            assert base in known, f"{name} names {setting}, which bot/config.py does not read"


def read_tree(path: str) -> str:
    where = ROOT / path
    files = [where] if where.is_file() else sorted(where.rglob("*.py"))
    return "".join(f.read_text(encoding="utf-8") for f in files)


def number(text: str) -> float:
    return float(text.strip("`").replace(",", ""))


def test_the_defaults_the_documents_give_are_the_settings_defaults() -> None:
    known = settings()
    checked = set()
    for name in DOCUMENTS:
        text = read(name)
        # Table rows "| `SETTING` | 730 |", prose "`SETTING` (730" and "`SETTING`, default 730".
        given = [
            (cells[0].strip("`"), cells[1])
            for cells in rows(text)
            if len(cells) >= 2
            and re.fullmatch(r"`[A-Z0-9_]+`", cells[0])
            and re.fullmatch(r"`?[0-9][0-9,.]*`?", cells[1])
        ]
        given += re.findall(r"`([A-Z0-9_]+)`,? \((?:default )?([0-9][0-9,.]*)\b", text)
        given += re.findall(r"`([A-Z0-9_]+)`,? default ([0-9][0-9,.]*)\b", text)
        for setting, figure in given:
            default, _ = known[setting]
            assert number(figure) == float(default), f"{name}: {setting} {figure}, code {default}"
            checked.add(setting)
    # The periods of the data-protection text are among them.
    assert {"COULISSE_RETENTION_DAYS", "COULISSE_PURGE_HOURS", "COULISSE_MEDIA_DAYS"} <= checked


def test_the_fixed_periods_are_the_codes() -> None:
    text = section(read(DATA_PROTECTION), "Fixed periods in the code:")
    found = [cells for cells in rows(text) if len(cells) == 3 and code(cells[2])]
    assert len(found) >= 3, found
    for what, figure, where in found:
        path, constant = code(where)
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        value = getattr(module, constant)
        amount, unit = figure.split()
        step = UNITS[unit.rstrip("s")]
        if not isinstance(value, timedelta):  # a plain number: its name says the unit
            assert unit.rstrip("s").upper() in constant, f"{what}: {figure}, but {constant}"
            value = value * step
        measured = value / step
        assert measured == int(amount), f"{what}: the document says {figure}, {constant} is {value}"


def paths_in(name: str, text: str) -> list[str]:
    """Repository paths in backticks (a top-level entry, then a slash; in the officers'
    documents also a bare top-level file), and Markdown link targets (from the document)."""
    # What a run makes (.test-artifacts/, coulisse-demo/: ignored by git) is output, not a claim.
    made = {line.strip("/") for line in read(".gitignore").splitlines() if line.count("/") == 1}
    top = {p.name for p in ROOT.iterdir()} - made
    found = []
    for token in re.findall(r"`([^`\s<>…$]+)`", text):
        first = token.split("/")[0]
        if first in top and ("/" in token or (name in OWN and "." in token)):
            found.append(token)
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if not re.match(r"[a-z]+:", target):
            found.append(str((ROOT / name).parent.joinpath(target).resolve().relative_to(ROOT)))
    return found


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_file_the_documents_name_exists(name: str) -> None:
    ignored = read(".gitignore").splitlines()
    for path in paths_in(name, read(name)):
        if path in MADE_BY_THE_OPERATOR:
            assert path in ignored, f"{path} must be in .gitignore"
            continue
        pattern = re.sub(r"\{([^}]*)\}", lambda m: "[" + "".join(m[1].split(",")) + "]", path)
        if "{" in path:  # prompts/{nl,en}/*.yaml: each alternative
            options = re.search(r"\{([^}]*)\}", path)[1].split(",")  # type: ignore[index]
            globs = [re.sub(r"\{[^}]*\}", o, path) for o in options]
        else:
            globs = [pattern]
        for glob in globs:
            assert list(ROOT.glob(glob.rstrip("/"))), f"{name} names {path}, which is not there"


def test_the_secrets_the_security_document_lists_are_the_ones_repr_hides() -> None:
    listed = set(secrets_listed())
    hidden = {env for env, (_, shown) in settings().items() if not shown}
    assert listed == hidden, (
        f"hidden but not listed: {sorted(hidden - listed)}; "
        f"listed but shown: {sorted(listed - hidden)}"
    )


def test_the_backup_commands_of_the_deploy_document_are_the_ones_the_test_runs() -> None:
    deploy, backup = read("docs/DEPLOY.md"), read("tests/test_backup.py")
    block = section(deploy, "## 8. Backup and restore")
    for tool in ("pg_dump", "pg_restore"):
        line = next(li for li in block.splitlines() if li.startswith(tool))
        options = [w for w in line.split() if w.startswith("--") and "=" not in w]
        options += [w.split("=")[0] + "=" for w in line.split() if w.startswith("--") and "=" in w]
        assert options, line
        call = next(li for li in backup.splitlines() if f"[{tool}," in li)
        for option in options:
            assert option in call, f"DEPLOY.md runs {tool} {option}, tests/test_backup.py not"


# --- publiccode.yml ---------------------------------------------------------------------------

SCHEMA = ROOT / "tests/specs/publiccode/schemastore-publiccode.json"
URL_KEYS = ("url", "landingURL", "roadmap", "documentation", "apiDocumentation", "uri", "website")


def publiccode() -> dict[str, Any]:
    return yaml.safe_load(read("publiccode.yml"))


def project() -> dict[str, Any]:
    return tomllib.loads(read("pyproject.toml"))["project"]


def urls(value: Any) -> list[str]:
    if isinstance(value, dict):
        here = [v for k, v in value.items() if k in URL_KEYS and isinstance(v, str)]
        return here + [u for v in value.values() for u in urls(v)]
    if isinstance(value, list):
        return [u for v in value for u in urls(v)]
    return []


def test_publiccode_validates_against_the_standards_schema() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    checker = jsonschema.Draft7Validator.FORMAT_CHECKER
    errors = list(
        jsonschema.Draft7Validator(schema, format_checker=checker).iter_errors(publiccode())
    )
    assert not errors, [f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors]
    # The schema checks `uri` only with an RFC 3987 package installed: checked here instead.
    for url in urls(publiccode()):
        parts = urlsplit(url)
        assert parts.scheme == "https" and parts.netloc, url


def test_publiccode_says_what_pyproject_and_the_catalog_say() -> None:
    code, package = publiccode(), project()
    assert code["softwareVersion"] == package["version"]
    assert code["legal"]["license"] == package["license"]["text"]
    assert code["localisation"]["availableLanguages"] == list(LANGUAGES)
    assert set(code["description"]) == set(LANGUAGES)
    python = next(d for d in code["dependsOn"]["open"] if d["name"] == "Python")
    assert package["requires-python"] == f">={python['versionMin']}"


def test_a_placeholder_repository_url_is_marked_as_one() -> None:
    """No public repository yet: the URL the standard requires is one that can never resolve,
    and the file says so next to it."""
    url = publiccode()["url"]
    if urlsplit(url).hostname == "example.invalid":
        before = read("publiccode.yml").split("\nurl:")[0].rsplit("\n\n", 1)[-1]
        assert "PLACEHOLDER" in before, before


def secrets_listed() -> list[str]:
    text = read("docs/SECURITY.md")
    bullet = text[text.index("- **Configuration secrets**") :]
    return sorted(set(SETTING.findall(bullet[: bullet.index("are left out")])))


@pytest.mark.parametrize("env", secrets_listed())
def test_each_secret_the_security_document_lists_can_come_from_a_file(
    env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    field = next(f for f in dataclasses.fields(Settings) if f.metadata["env"] == env)
    secret = tmp_path / "secret"
    secret.write_text("from-a-mounted-secret\n", encoding="utf-8")
    monkeypatch.delenv(env, raising=False)
    monkeypatch.setenv(f"{env}_FILE", str(secret))
    assert getattr(Settings(_env_file=None), field.name) == "from-a-mounted-secret"
    monkeypatch.setenv(env, "from-the-environment")  # the variable itself wins
    assert getattr(Settings(_env_file=None), field.name) == "from-the-environment"


def test_every_setting_the_officers_documents_name_is_in_the_readmes_configuration_table() -> None:
    table = section(read("README.md"), "## Configuration")
    listed = {s for cells in rows(table) if cells for s in SETTING.findall(cells[0])}
    for name in OWN:
        named = {s.removesuffix("_FILE") for s in SETTING.findall(read(name))}
        assert named <= listed, f"{name} names {sorted(named - listed)}, not in the README's table"
