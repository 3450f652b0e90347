"""handlers/ (and prompts/) stay platform-free: the import rule of DESIGN.md."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "slack_bolt", "slack_sdk", "botbuilder", "aiohttp", "sqlalchemy", "apscheduler", "openai",
    "alembic", "bot", "storage",
}  # fmt: skip


def imported_roots(source: str) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def violations(folder: str) -> dict[str, set[str]]:
    found = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        bad = imported_roots(path.read_text(encoding="utf-8")) & FORBIDDEN
        if bad:
            found[str(path.relative_to(ROOT))] = bad
    return found


def test_handlers_import_no_platform_or_infrastructure_package() -> None:
    assert list((ROOT / "handlers").rglob("*.py"))
    assert violations("handlers") == {}


def test_prompts_import_nothing_of_ours_but_prompts() -> None:
    assert violations("prompts") == {}


def test_the_check_sees_imports_anywhere_in_a_module() -> None:
    source = (
        "import os\ndef f():\n    from sqlalchemy.orm import Session\n    import slack_sdk.web\n"
    )
    assert imported_roots(source) & FORBIDDEN == {"sqlalchemy", "slack_sdk"}
