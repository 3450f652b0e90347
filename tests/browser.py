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
