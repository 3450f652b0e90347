"""The web view in a real browser: Debian's Chromium, driven by Playwright (which never
downloads a browser here: tests/browser.py launches it). A coordinator asks for the
link in the chat, opens it, sees My teams, reaches Plan by keyboard alone, plans an async
session, previews and saves it, and finds the same link refused when opened again; the
page keeps to its Content-Security-Policy (no console errors) and fits 320 px. Screenshots go
to .test-artifacts/web/. Without the browser this skips, saying what to install; with CI=true
it fails instead."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.web import make_web_app
from bot.webapp import WebView
from bot.wiring import App
from handlers import dashboard
from handlers.messages import Command, Place
from handlers.model import Commitment, SessionStatus
from prompts.catalog import t
from tests.browser import launch_options, need_chromium
from tests.driver import Driver, team_of
from tests.fake_slack import free_port
from tests.payloads import ARTIFACTS

SHOTS = ARTIFACTS / "web"
SHOTS.mkdir(parents=True, exist_ok=True)


@pytest.fixture
def name(request: pytest.FixtureRequest) -> str:
    """The screenshots' name: the database's parameter (sqlite, postgresql)."""
    return request.node.callspec.id if hasattr(request.node, "callspec") else "run"


@pytest.fixture
async def page(tmp_path: Path) -> AsyncIterator[Any]:
    """A page in Debian's Chromium (tests/browser.py); the browser closes after the test."""
    need_chromium("the browser test")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            **launch_options(tmp_path / "profile")
        )
        try:
            yield await context.new_page()
        finally:
            await context.close()


@pytest.fixture
async def served(app: App) -> AsyncIterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    runner = web.AppRunner(make_web_app(app, None, None, WebView("k" * 40, base)))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield base
    finally:
        await runner.cleanup()
        dashboard.configure(None)


async def test_a_coordinator_signs_in_by_link_sees_their_teams_and_plans_a_session(
    app: App, served: str, page: Any, name: str
) -> None:
    driver = Driver(app)
    await team_of(driver, "Sanne", "Ahmed")
    found = re.search(r"http://\S+/web/in\?t=\S+", await driver.cmd("Sanne", "dashboard"))
    assert found
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    await page.goto(found.group(0))
    assert page.url == f"{served}/web/"  # the link signed in, then went to My teams
    await page.get_by_role("heading", name=t("nl", "web.teams_heading")).wait_for()
    await page.screenshot(path=SHOTS / f"my-teams-{name}.png", full_page=True)
    await page.set_viewport_size({"width": 320, "height": 640})
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 320, width  # no sideways scrolling on a small phone
    await page.set_viewport_size({"width": 1024, "height": 800})
    # By keyboard alone: Tab to the plan link (the skip link first), Enter follows it.
    plan = t("nl", "web.plan_link", team="team-noord")
    for _ in range(12):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.textContent") == plan:
            break
    else:
        raise AssertionError("the plan link cannot be reached with Tab")
    await page.keyboard.press("Enter")
    await page.get_by_role(
        "heading", name=t("nl", "web.plan_heading", team="team-noord")
    ).wait_for()
    await page.get_by_label(t("nl", "sessions.title_label")).fill("Wijk Noord")
    await page.get_by_label(t("nl", "sessions.question_label")).fill("Wat nu?")
    await page.get_by_label(t("nl", "sessions.format_label")).select_option("retro")
    await page.get_by_label(t("nl", "sessions.starts_at_label")).fill("2027-03-15T10:00")
    mode = page.get_by_label(t("nl", "sessions.mode_label"))
    length = page.get_by_label(t("nl", "sessions.round_length_label"))
    await mode.select_option("live")
    assert not await length.is_visible()  # the small script: a live session has none
    await mode.select_option("async")
    await length.select_option("2")
    await page.get_by_role("button", name=t("nl", "web.preview_button")).click()
    await page.get_by_role("heading", name=t("nl", "web.preview_heading")).wait_for()
    assert await driver.count("sessions") == 0  # shown, not stored
    await page.screenshot(path=SHOTS / f"plan-preview-{name}.png", full_page=True)
    await page.get_by_role("button", name=t("nl", "web.save_button")).click()
    await page.get_by_role("heading", name=t("nl", "web.saved_heading")).wait_for()
    await page.screenshot(path=SHOTS / f"plan-saved-{name}.png", full_page=True)
    seen = list(problems)  # before the refused link's own 403, which Chromium logs
    # The same link again, in the same browser: refused, with the way to a new one.
    await page.goto(found.group(0))
    await page.get_by_role("heading", name=t("nl", "web.link_used_heading")).wait_for()
    await page.screenshot(path=SHOTS / f"link-used-{name}.png", full_page=True)
    assert await driver.count("sessions") == 1 and await driver.count("rounds") == 6
    assert not seen, seen  # nothing the CSP blocked, no script errors


async def test_a_municipality_reader_sees_the_trend_but_no_names_and_nothing_to_change(
    app: App, served: str, page: Any, name: str
) -> None:
    driver = Driver(app)
    await team_of(driver, "Sanne", "Ahmed", "Fleur")
    await app.coulisse.handle(Command("help", driver.actor("Mila"), Place("dm")))
    await driver.cmd("Sanne", "reader", "Mila")
    values = {"title": "Wijk Noord", "question": "Wat nu?", "starts_at": "2027-03-16 10:00"}
    reply = await driver.form("Sanne", "new_session", format="retro", recurrence="weekly", **values)
    assert "staat klaar" in reply, reply
    async with app.uow() as uow:
        (session,) = await uow.sessions.for_team(1)
        session.status = SessionStatus.CLOSED
        for n in range(4):
            uow.add(Commitment(session.id or 0, 1, 3, f"Afspraak {n}", date(2027, 3, 1 + n)))
        await uow.commit()
    outcome = await app.coulisse.handle(Command("dashboard", driver.actor("Mila"), Place("dm")))
    found = re.search(r"http://\S+/web/in\?t=\S+", driver.text(outcome.messages))
    assert found
    await page.goto(found.group(0))
    await page.get_by_role("heading", name=t("nl", "web.teams_heading")).wait_for()
    await page.screenshot(path=SHOTS / f"reader-{name}.png", full_page=True)
    text = await page.inner_text("main")
    assert await page.locator("main svg").count() == 1  # the trend, and its table
    assert await page.locator("main table").count() == 1
    assert not {"Sanne", "Ahmed", "Fleur"} & set(re.findall(r"\w+", text))
    assert "Afspraak" not in text  # figures, not what was agreed
    actions = await page.eval_on_selector_all(
        "form", "forms => forms.map(f => f.getAttribute('action'))"
    )
    assert actions == ["/web/out"]  # nothing to change but signing out
