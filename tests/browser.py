"""Debian's Chromium for the tests that drive a real browser through Playwright (the web view,
Microsoft's card renderer). Playwright never downloads a browser here: it is handed Debian's.
Without the browser such a test skips, saying what to install; with CI=true it fails instead."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, NoReturn

import pytest

from tests.conftest import IN_CI

CHROMIUM = Path("/usr/bin/chromium")
# As root in a closed network: no sandbox, and nothing that calls out at start.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def unavailable(what: str, who: str) -> NoReturn:
    """Skip with what to install; in CI `who` (these tests) must run, so it fails instead."""
    if IN_CI:
        pytest.fail(f"{what} (CI=true: {who} must run)")
    pytest.skip(what)


def need_chromium(who: str) -> None:
    """Debian's Chromium and Python's playwright, or skip (fail in CI) saying what is missing."""
    if not CHROMIUM.exists():
        unavailable(
            "Debian's chromium is missing: apt-get install chromium (make test does, as root)", who
        )
    if importlib.util.find_spec("playwright") is None:
        unavailable("Python playwright is missing: pip install -e '.[dev]' (make test does)", who)


def launch_options(profile: Path) -> dict[str, Any]:
    """For `playwright.chromium.launch_persistent_context(**…)`, sync or async alike: Debian's
    browser, headless, in a fresh profile (its --user-data-dir)."""
    return {"user_data_dir": profile, "executable_path": CHROMIUM, "args": FLAGS, "headless": True}


# --- accessibility: axe-core (npm, pinned in package-lock.json) in the page ------------------

AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def need_axe(who: str) -> str:
    """axe-core's script from node_modules, or skip (fail in CI) saying how to get it."""
    if not AXE.exists():
        unavailable("axe-core is missing: run `npm ci` (make test does)", who)
    return AXE.read_text(encoding="utf-8")


async def axe_violations(page: Any, axe_source: str) -> list[str]:
    """axe-core's WCAG 2.1 A and AA violations on the page as it is now, one line each (rule,
    impact, the first elements). Run through DevTools (page.evaluate), not a <script> element,
    so the page keeps its own Content-Security-Policy."""
    if not await page.evaluate("typeof window.axe === 'object'"):
        await page.evaluate(axe_source + "\n;0")
    found = await page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
        ".then(r => r.violations.map(v => [v.id, v.impact, v.help,"
        " v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' ' + n.failureSummary)]))",
        WCAG_21_AA,
    )
    return [f"{rule} ({impact}): {why} — {nodes}" for rule, impact, why, nodes in found]


async def scroll_width(page: Any) -> int:
    """How wide the page is, as laid out (more than the viewport: sideways scrolling)."""
    width: int = await page.evaluate("document.documentElement.scrollWidth")
    return width


async def submit(page: Any, action: str, fields: dict[str, str]) -> int:
    """POST `fields` to `action` from the page as its own form would (a real navigation, so the
    answer is rendered with its own headers), and the answer's status."""
    async with page.expect_navigation() as answer:
        await page.evaluate(
            """([action, fields]) => {
              const form = document.createElement("form");
              form.method = "post";
              form.action = action;
              for (const [name, value] of Object.entries(fields)) {
                const input = document.createElement("input");
                input.type = "hidden";
                input.name = name;
                input.value = value;
                form.appendChild(input);
              }
              document.body.appendChild(form);
              form.submit();
            }""",
            [action, fields],
        )
    response = await answer.value
    status: int = response.status
    return status


async def page_problems(page: Any, axe_source: str, lang: str, width: int = 320) -> list[str]:
    """What is wrong with the page as it is now: the wrong language, axe's WCAG 2.1 A/AA
    violations, or wider than `width` (sideways scrolling)."""
    problems = await axe_violations(page, axe_source)
    found = await page.get_attribute("html", "lang")
    if found != lang:
        problems.append(f"lang {found!r}, not {lang!r}")
    wide = await scroll_width(page)
    if wide > width:
        problems.append(f"{wide} px wide at {width} px")
    return problems
