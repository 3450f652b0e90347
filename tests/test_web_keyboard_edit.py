"""Changing things on the web by keyboard alone, in Debian's Chromium: a coordinator moves a
planned session with the date and time picker (preview, then save), cancels the next one
through its question, changes the series' repetition, and signs out; a participant changes
her commitment's text and date and hands it over to a team member. Only Tab, Shift+Tab, the
arrows, Enter, Space and typing; every element that takes focus on the way shows it (the
helpers of tests/test_web_keyboard.py), each page on the way is axe-clean, and each change is
checked where it lands: the database and the chat's messages. Screenshots:
.test-artifacts/web/keyboard/. Without the browser or axe-core this skips; with CI=true it
fails instead."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.clock import ManualClock
from bot.webapp.pages import COOKIE
from handlers.model import Commitment, Series, Session, SessionStatus
from handlers.plan import moment_text
from handlers.series import recurrence_key
from prompts.catalog import t
from tests.browser import need_axe
from tests.test_web_access import Web, link_in, site  # noqa: F401 (the fixture)
from tests.test_web_keyboard import choose, clean, page, tab_to  # noqa: F401 (page: the fixture)

AMS = ZoneInfo("Europe/Amsterdam")


async def heading(page: Any, key: str, **params: object) -> None:  # noqa: F811
    await page.get_by_role("heading", name=t("nl", key, **params), exact=True).wait_for()


async def follow(page: Any, text: str = "", *, name: str = "") -> None:  # noqa: F811
    """Tab to a link or button and press Enter."""
    await tab_to(page, text, name=name)
    await page.keyboard.press("Enter")


async def planned_ids(web: Web) -> list[int]:
    async with web.app.uow() as uow:
        return [s.id or 0 for s in await uow.sessions.for_team(web.ids["north"])
                if s.status == SessionStatus.DRAFT]  # fmt: skip


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_change_cancel_hand_over_and_sign_out_by_keyboard_only(
    site: Web,  # noqa: F811
    page: Any,  # noqa: F811
    clock: ManualClock,
) -> None:
    axe = need_axe("the keyboard test")
    north, plan = site.ids["north"], t("nl", "web.back_to_plan", team="team-noord")
    edit_session = t("nl", "web.edit_session_heading", title="Wijk Noord")
    async with site.app.uow() as uow:  # of a session held before (the planned one's go with it)
        at = datetime(2027, 3, 2, 10, tzinfo=AMS)
        held = await uow.store(
            Session(north, "Eerder", "Wat nu?", "retro", site.ids["Sanne"],
                    status=SessionStatus.CLOSED, starts_at=at, closed_at=at)
        )  # fmt: skip
        first = await uow.store(Commitment(held, north, site.ids["Fleur"], "Folder",
                                           date(2027, 3, 1)))  # fmt: skip
        await uow.commit()
    await page.goto(link_in(await site.driver.cmd("Sanne", "dashboard")))
    await heading(page, "web.teams_heading")

    # Move the planned session: the picker, typed; a preview with Enter, saved with Space.
    await follow(page, t("nl", "web.plan_link", team="team-noord"))
    await heading(page, "web.plan_heading", team="team-noord")
    await follow(page, edit_session)
    await heading(page, "web.edit_session_heading", title="Wijk Noord")
    await clean(page, axe, "edit-session")
    await tab_to(page, t("nl", "sessions.edit_starts_at_label"))
    assert await page.evaluate("document.activeElement.value") == "2027-03-16T10:00"
    await page.keyboard.type("03182027")  # month, day, year
    await page.keyboard.press("ArrowRight")  # on to the hour
    await page.keyboard.type("0200P")  # 2:00 PM
    assert await page.evaluate("document.activeElement.value") == "2027-03-18T14:00"
    await site.driver.deliver()
    await follow(page, t("nl", "web.edit_preview_button"))
    await heading(page, "web.edit_preview_heading")
    await clean(page, axe, "edit-session-preview")
    await tab_to(page, t("nl", "web.edit_save_button"))
    await page.keyboard.press("Space")
    await heading(page, "web.saved_heading")
    await clean(page, axe, "edit-session-saved")
    (moved,) = await planned_ids(site)
    async with site.app.uow() as uow:
        session = await uow.get(Session, moved)
    assert session is not None and session.starts_at == datetime(2027, 3, 18, 14, tzinfo=AMS)
    announced = t("nl", "sessions.changed_announce", title="Wijk Noord",
                  when=moment_text("nl", datetime(2027, 3, 18, 14, tzinfo=AMS), str(AMS)),
                  mode=t("nl", "sessions.mode_names.live"))  # fmt: skip
    sent = await site.driver.deliver()
    assert [s.text for s in sent if s.to.kind == "channel"] == [announced]

    # Cancel it: the button, then its own question, answered with Space. A minute later: a
    # session's change is announced once per moment (the outbox's key), and this clock stands.
    clock.advance(timedelta(minutes=1))
    await follow(page, plan)
    await heading(page, "web.plan_heading", team="team-noord")
    await follow(page, edit_session)
    await heading(page, "web.edit_session_heading", title="Wijk Noord")
    await follow(page, t("nl", "web.cancel_button"))
    await heading(page, "web.cancel_heading", title="Wijk Noord")
    await clean(page, axe, "cancel-asked")
    assert await planned_ids(site) == [moved]  # asked, nothing done
    await tab_to(page, t("nl", "web.cancel_yes"))
    await page.keyboard.press("Space")
    await heading(page, "web.saved_heading")
    await clean(page, axe, "cancelled")
    after = await planned_ids(site)
    assert moved not in after and len(after) == 1  # the series goes on with the next one
    sent = await site.driver.deliver()
    assert [s.kind for s in sent if s.to.kind == "channel"] == ["session_changed"]

    # The series every fortnight: a choice with the arrows, previewed, saved.
    await follow(page, plan)
    await heading(page, "web.plan_heading", team="team-noord")
    await follow(page, t("nl", "web.edit_series_heading", title="Wijk Noord"))
    await heading(page, "web.edit_series_heading", title="Wijk Noord")
    await clean(page, axe, "edit-series")
    await tab_to(page, t("nl", "sessions.recurrence_label"))
    await choose(page, "biweekly")
    await follow(page, t("nl", "web.edit_preview_button"))
    await heading(page, "web.edit_preview_heading")
    await follow(page, t("nl", "web.edit_save_button"))
    await heading(page, "web.saved_heading")
    await clean(page, axe, "edit-series-saved")
    async with site.app.uow() as uow:
        series = await uow.get(Series, site.ids["series"])
    assert series is not None and recurrence_key(series.rrule) == "biweekly"

    # Sign out, back up the page with Shift+Tab: the server forgets the session.
    (cookie,) = [c["value"] for c in await page.context.cookies() if c["name"] == COOKIE]
    await tab_to(page, t("nl", "web.sign_out"), key="Shift+Tab")
    await page.keyboard.press("Enter")
    await heading(page, "web.sign_in_heading")
    await clean(page, axe, "signed-out")
    assert t("nl", "web.signed_out") in await page.inner_text("main")
    async with site.session.get(f"{site.base}/web/", headers={"Cookie": f"{COOKIE}={cookie}"}) as r:
        assert r.status == 401

    # Fleur changes her commitment's text and date and hands it over to Ahmed.
    await page.goto(link_in(await site.driver.cmd("Fleur", "dashboard")))
    await heading(page, "web.teams_heading")
    await follow(page, t("nl", "web.nav_commitments"))
    await heading(page, "web.commitments_heading")
    await follow(page, t("nl", "web.commitment_edit_link", number=first))
    await heading(page, "web.commitment_edit_heading", number=first)
    await clean(page, axe, "commitment-edit")
    await tab_to(page, t("nl", "web.commitment_text_label"))
    await page.keyboard.press("Control+a")  # the text as it was, replaced
    await page.keyboard.type("Folder bij de bieb")
    await tab_to(page, t("nl", "web.commitment_due_label"))
    await page.keyboard.type("04022027")
    await tab_to(page, t("nl", "web.commitment_owner_label"))
    await page.keyboard.type("Ahmed")
    await site.driver.deliver()
    await follow(page, t("nl", "web.commitment_save_button"))
    await heading(page, "web.saved_heading")
    await clean(page, axe, "commitment-handed-over")
    async with site.app.uow() as uow:
        now = await uow.get(Commitment, first)
    assert now is not None and now.text == "Folder bij de bieb"
    assert now.due_date == date(2027, 4, 2) and now.owner_id == site.ids["Ahmed"]
    sent = await site.driver.deliver()
    to_ahmed = [s.text for s in sent if s.to.kind == "dm" and s.to.id == site.ids["Ahmed"]]
    now_yours = t("nl", "commitments.now_yours", text=now.text, number=now.id)
    assert [text for text in to_ahmed if now_yours in text], to_ahmed
