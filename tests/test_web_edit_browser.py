"""Changing things on the web, in Debian's Chromium (Playwright; tests/browser.py): the
coordinator follows the chat's link, opens the planned session from Plan, moves it with the
date and time picker, sees the change before saving and the same words after, and the team's
channel hears of it; then hands a commitment over to a team member, who hears of it in the
chat, and asks to cancel the session, which asks once more. Screenshots go to
.test-artifacts/web/edit/. Without the browser this skips, saying what to install; with
CI=true it fails instead."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from handlers.model import Commitment
from handlers.plan import moment_text
from prompts.catalog import t
from tests.browser import launch_options, need_chromium
from tests.payloads import ARTIFACTS
from tests.test_web_access import Web, link_in, site

__all__ = ["site"]  # the fixture: two teams, a planned weekly series, Fleur's commitments
SHOTS = ARTIFACTS / "web" / "edit"
SHOTS.mkdir(parents=True, exist_ok=True)


@pytest.fixture
async def page(tmp_path: Path) -> AsyncIterator[Any]:
    need_chromium("the web editing test")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            **launch_options(tmp_path / "profile")
        )
        try:
            yield await context.new_page()
        finally:
            await context.close()


async def test_a_coordinator_moves_a_session_and_hands_over_a_commitment_in_the_browser(
    site: Web, page: Any, request: pytest.FixtureRequest
) -> None:
    name = request.node.callspec.id
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    await page.goto(link_in(await site.driver.cmd("Sanne", "dashboard")))
    north = site.ids["north"]
    await page.goto(f"{site.base}/web/teams/{north}/plan")
    heading = t("nl", "web.edit_session_heading", title="Wijk Noord")
    await page.get_by_role("link", name=heading, exact=True).click()
    await page.get_by_role("heading", name=t("nl", "web.edit_session_heading",
                                             title="Wijk Noord")).wait_for()  # fmt: skip
    when = page.get_by_label(t("nl", "sessions.edit_starts_at_label"))
    assert await when.input_value() == "2027-03-16T10:00"  # in Sanne's zone
    await when.fill("2027-03-18T14:00")
    await site.driver.deliver()
    await page.get_by_role("button", name=t("nl", "web.edit_preview_button")).click()
    await page.get_by_role("heading", name=t("nl", "web.edit_preview_heading")).wait_for()
    await page.screenshot(path=SHOTS / f"session-preview-{name}.png", full_page=True)
    preview = await page.locator(".outcome li").all_inner_texts()
    assert t("nl", "sessions.changed", title="Wijk Noord") in preview
    assert [s for s in await site.driver.deliver() if s.to.kind == "channel"] == []
    await page.get_by_role("button", name=t("nl", "web.edit_save_button")).click()
    await page.get_by_role("heading", name=t("nl", "web.saved_heading")).wait_for()
    await page.screenshot(path=SHOTS / f"session-saved-{name}.png", full_page=True)
    assert await page.locator("main p").all_inner_texts() == [*preview,
        t("nl", "web.back_to_plan", team="team-noord")]  # fmt: skip
    moved = datetime(2027, 3, 18, 14, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))
    announced = t("nl", "sessions.changed_announce", title="Wijk Noord",
                  when=moment_text("nl", moved, "Europe/Amsterdam"),
                  mode=t("nl", "sessions.mode_names.live"))  # fmt: skip
    sent = await site.driver.deliver()
    assert [s.text for s in sent if s.to.kind == "channel"] == [announced]

    # A commitment of Fleur's, handed over to Ahmed: he hears of it in the chat.
    async with site.app.uow() as uow:
        first = (await uow.commitments.for_team(north))[0]
    await page.goto(f"{site.base}/web/commitments")
    await page.get_by_role("link", name=t("nl", "web.commitment_edit_link",
                                          number=first.id)).click()  # fmt: skip
    await page.get_by_label(t("nl", "web.commitment_owner_label")).fill("Ahmed")
    await page.get_by_role("button", name=t("nl", "web.commitment_save_button")).click()
    await page.get_by_role("heading", name=t("nl", "web.saved_heading")).wait_for()
    await page.screenshot(path=SHOTS / f"commitment-handed-over-{name}.png", full_page=True)
    assert "Ahmed" not in await page.inner_text("main")  # the page names nobody
    async with site.app.uow() as uow:
        handed = await uow.get(Commitment, first.id or 0)
    assert handed is not None and handed.owner_id == site.ids["Ahmed"]
    sent = await site.driver.deliver()
    to_ahmed = [s.text for s in sent if s.to.kind == "dm" and s.to.id == site.ids["Ahmed"]]
    now_yours = t("nl", "commitments.now_yours", text=handed.text, number=handed.id)
    assert [text for text in to_ahmed if now_yours in text], to_ahmed

    # Cancelling asks once more on a page of its own; leaving it there changes nothing.
    async with site.app.uow() as uow:
        (session,) = await uow.sessions.for_team(north)
    await page.goto(f"{site.base}/web/teams/{north}/sessions/{session.id}")
    await page.get_by_role("button", name=t("nl", "web.cancel_button")).click()
    await page.get_by_role("button", name=t("nl", "web.cancel_yes")).wait_for()
    await page.screenshot(path=SHOTS / f"cancel-asked-{name}.png", full_page=True)
    async with site.app.uow() as uow:
        assert [s.id for s in await uow.sessions.for_team(north)] == [session.id]
    assert not problems, problems
