"""The web view by keyboard alone, in Debian's Chromium: a coordinator opens the chat's link,
reaches Plan from My teams with Tab, fills in an async session (text, choices, the date and
time picker), previews it with Enter and saves it with Space; a participant checks in on a
commitment the same way. Every element that takes focus on the way shows it (an outline or a
ring), and the answers are axe-clean. Without the browser or axe-core this skips; with CI=true
it fails instead."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from handlers.commitments import status_label
from handlers.model import Commitment, CommitmentStatus
from prompts.catalog import t
from tests.browser import axe_violations, launch_options, need_axe, need_chromium
from tests.driver import Driver
from tests.payloads import ARTIFACTS
from tests.test_web_access import Web, link_in, site  # noqa: F401 (the fixture)

DONE = CommitmentStatus.DONE
SHOTS = ARTIFACTS / "web" / "keyboard"
SHOTS.mkdir(parents=True, exist_ok=True)

# What has focus now, as a person would see it: its text or label, and whether a focus
# indicator is drawn (an outline, or the ring app.css draws as a box-shadow).
FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const s = getComputedStyle(e);
  const label = e.labels && e.labels.length ? e.labels[0].textContent : e.textContent;
  return {tag: e.tagName, text: label.trim(), name: e.getAttribute("aria-label") || "",
          value: e.value || "", outline: `${s.outlineStyle} ${s.outlineWidth}`, shadow: s.boxShadow,
          ring: (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0)
                || s.boxShadow !== "none"};
}"""


@pytest.fixture
async def page(tmp_path: Path) -> AsyncIterator[Any]:
    need_chromium("the keyboard test")
    from playwright.async_api import async_playwright

    options = launch_options(tmp_path / "profile")
    options["args"] = [*options["args"], "--lang=en-US"]  # the date picker's order: mm/dd/yyyy
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(**options)
        try:
            yield await context.new_page()
        finally:
            await context.close()


async def tab_to(
    page: Any, text: str = "", *, name: str = "", value: str = "", key: str = "Tab"
) -> None:
    """Press Tab (or `key`: Shift+Tab) until the element with this text/label (or aria-label,
    or value) has focus; every element passed on the way must show its focus."""
    for _ in range(80):
        await page.keyboard.press(key)
        focused = await page.evaluate(FOCUSED)
        if focused is None:
            continue
        assert focused["ring"], f"focus not visible on {focused}"
        if (
            (not text or focused["text"] == text)
            and (not name or focused["name"] == name)
            and (not value or focused["value"] == value)
        ):
            return
    raise AssertionError(f"{text or name or value!r} cannot be reached with Tab")


async def choose(page: Any, value: str) -> None:
    """In the focused <select>, move with the arrow keys to the option with this value."""
    for _ in range(20):
        if await page.evaluate("document.activeElement.value") == value:
            return
        await page.keyboard.press("ArrowDown")
    raise AssertionError(f"no option {value!r}")


async def clean(page: Any, axe: str, where: str) -> None:
    found = await axe_violations(page, axe)
    assert not found, (where, found)
    await page.screenshot(path=SHOTS / f"{where}.png", full_page=True)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_plan_a_session_and_check_in_by_keyboard_only(
    site: Web,  # noqa: F811
    page: Any,
) -> None:
    axe = need_axe("the keyboard test")
    south = Driver(site.app, channel="team-zuid")  # Joost coordinates team-zuid, nothing planned
    before = await site.driver.count("sessions")
    await page.goto(link_in(await south.cmd("Joost", "dashboard")))
    await page.get_by_role("heading", name=t("nl", "web.teams_heading")).wait_for()
    await clean(page, axe, "my-teams")
    await tab_to(page, t("nl", "web.plan_link", team="team-zuid"))
    await page.keyboard.press("Enter")
    await page.get_by_role("heading", name=t("nl", "web.plan_heading", team="team-zuid")).wait_for()
    await tab_to(page, t("nl", "sessions.title_label"))
    await page.keyboard.type("Wijk Zuid")
    await tab_to(page, t("nl", "sessions.question_label"))
    await page.keyboard.type("Wat nu?")
    await tab_to(page, t("nl", "sessions.format_label"))
    await choose(page, "retro")
    await tab_to(page, t("nl", "sessions.starts_at_label"))
    await page.keyboard.type("03152027")  # month, day, year
    await page.keyboard.press("ArrowRight")  # on to the hour
    await page.keyboard.type("1000A")  # 10:00 AM
    assert await page.evaluate("document.activeElement.value") == "2027-03-15T10:00"
    await tab_to(page, t("nl", "sessions.mode_label"))
    await choose(page, "async")
    await tab_to(page, t("nl", "sessions.round_length_label"))
    await choose(page, "2")
    await tab_to(page, t("nl", "web.preview_button"))
    await page.keyboard.press("Enter")
    await page.get_by_role("heading", name=t("nl", "web.preview_heading")).wait_for()
    await clean(page, axe, "plan-preview")
    assert await site.driver.count("sessions") == before  # shown, not kept
    await tab_to(page, t("nl", "web.save_button"))
    await page.keyboard.press("Space")
    await page.get_by_role("heading", name=t("nl", "web.saved_heading")).wait_for()
    await clean(page, axe, "plan-saved")
    assert await site.driver.count("sessions") == before + 1

    # A participant checks in on their own commitment: Tab to its "done", Space.
    async with site.app.uow() as uow:
        (session,) = await uow.sessions.for_team(site.ids["north"])
        mine = await uow.store(
            Commitment(session.id or 0, site.ids["north"], site.ids["Fleur"], "Folder",
                       date(2027, 4, 1))
        )  # fmt: skip
        await uow.commit()
    await page.goto(link_in(await site.driver.cmd("Fleur", "dashboard")))
    await page.get_by_role("heading", name=t("nl", "web.teams_heading")).wait_for()
    await tab_to(page, t("nl", "web.work_link", team="team-noord"))
    await page.keyboard.press("Enter")
    await page.get_by_role(
        "heading", name=t("nl", "web.work_heading", team="team-noord")
    ).wait_for()
    await clean(page, axe, "work")
    done = t("nl", "web.checkin_button", status=status_label("nl", DONE), text="Folder")
    await tab_to(page, name=done)
    await page.keyboard.press("Space")
    await page.get_by_role("heading", name=t("nl", "web.saved_heading")).wait_for()
    await clean(page, axe, "checked-in")
    async with site.app.uow() as uow:
        found = await uow.get(Commitment, mine)
        assert found is not None and found.status == DONE
