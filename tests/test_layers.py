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


# Adapters translate; the core decides. A platform adapter may open a unit of work only to
# store or read where it reaches people (its conversation references), nothing else.
ADAPTERS = ("bot/slack", "bot/teams", "bot/console")
REFERENCES_ONLY = {"conversations", "commit"}


def units_of_work_misused(source: str) -> list[str]:
    """What an adapter does with a unit of work it opens, beyond platform references."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.AsyncWith):
            continue
        for item in node.items:
            call = item.context_expr
            opened = isinstance(call, ast.Call) and "uow" in ast.unparse(call.func)
            if not opened or not isinstance(item.optional_vars, ast.Name):
                continue
            name = item.optional_vars.id
            for inner in ast.walk(node):
                if (
                    isinstance(inner, ast.Attribute)
                    and isinstance(inner.value, ast.Name)
                    and inner.value.id == name
                    and inner.attr not in REFERENCES_ONLY
                ):
                    found.append(f"{name}.{inner.attr}")
    return found


def test_adapters_open_units_of_work_only_for_platform_references() -> None:
    misuse = {}
    for folder in ADAPTERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if bad := units_of_work_misused(path.read_text(encoding="utf-8")):
                misuse[str(path.relative_to(ROOT))] = bad
    assert misuse == {}


def test_the_adapter_check_sees_a_look_up() -> None:
    source = (
        "async def f(self):\n"
        "    async with self.uow() as uow:\n"
        "        await uow.conversations.find('teams', 'person', 1)\n"
        "        person = await uow.directory.person_by_platform_id(1, 'U1')\n"
        "        await uow.commit()\n"
    )
    assert units_of_work_misused(source) == ["uow.directory"]
