"""Every page of the web view, for every role that may open it (and the refusal the others
get), in both languages, checked in Debian's Chromium with axe-core for WCAG 2.1 A and AA: no
violation; and each laid out at 320 px without sideways scrolling. The pages are the routes the
server declares (Pages.routes): a route this test does not know fails it, so a new page cannot
go unchecked. Screenshots at 1024 and 320 px: .test-artifacts/web/axe/. Without the browser
or axe-core this skips; with CI=true it fails instead."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.webapp.pages import COOKIE, SIGNED_IN
from handlers.dashboard import Seat
from handlers.model import Commitment, Session, SessionStatus
from tests.browser import axe_violations, launch_options, need_axe, need_chromium, scroll_width
from tests.payloads import ARTIFACTS
from tests.test_web_access import Web, site  # noqa: F401 (the fixture: teams, roles, a map)

SHOTS = ARTIFACTS / "web" / "axe"
SHOTS.mkdir(parents=True, exist_ok=True)

# GET routes that answer with a page, and the query each is opened with.
PAGES: dict[str, dict[str, str]] = {
    "/web/": {},
    "/web/commitments": {"status": "open"},
    "/web/in": {"t": "nonsense"},  # a link that was changed: its own page
    "/web/teams/{team}/plan": {},
    "/web/teams/{team}/work": {},
    "/web/teams/{team}/map": {},
    "/web/teams/{team}/sessions/{session}": {},  # change a planned session
    "/web/teams/{team}/series/{series}/edit": {},
    "/web/teams/{team}/commitments/{commitment}": {},  # change a commitment
    "/web/tab": {},
    "/web/tab/config": {},
}
# Routes that answer with a file or JSON, not a page; forms' answers are checked where the
# keyboard test submits them (tests/test_web_keyboard.py).
NOT_PAGES = {
    "/web/teams/{team}/map.{fmt}",
    "/web/teams/{team}/series/{series}.ics",
    "/web/teams/{team}/series/{series}/summary.{fmt}",
    "/web/static/{name}",
    "/web/feed/{series}/{mac}.ics",
}
# Who opens them: nobody signed in, and one person of each seat in team-noord; Joost is in
# another team only (refused on team-noord's pages).
ROLES = {"anonymous": None, "Sanne": Seat.COORDINATOR, "Fleur": Seat.PARTICIPANT,
         "Mila": Seat.READER, "Joost": None}  # fmt: skip


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Any]:
    need_chromium("the accessibility test")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            **launch_options(tmp_path / "profile")
        )
        try:
            yield context
        finally:
            await context.close()


def who_may(route: Any, role: str) -> bool:
    if route.seats is None:
        return True
    if role == "anonymous":
        return False
    if route.seats == SIGNED_IN or "{team}" not in route.path:
        return True
    return ROLES[role] in route.seats


# The pages are the same HTML on either database: SQLite alone (the role matrix and the browser
# test run both).
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_every_page_for_every_role_in_both_languages_has_no_axe_violation(
    site: Web,  # noqa: F811
    browser: Any,
) -> None:
    axe = need_axe("the accessibility test")
    north, series = site.ids["north"], site.ids["series"]
    async with site.app.uow() as uow:  # a held session too: trends, summaries, check-ins
        (planned,) = await uow.sessions.for_team(north)
        held_at = datetime(2027, 3, 9, 10, tzinfo=UTC)
        held = await uow.store(
            Session(north, "Wijk Noord", "Wat nu?", "retro", site.ids["Sanne"],
                    status=SessionStatus.CLOSED, series_id=series, starts_at=held_at,
                    occurrence=held_at, closed_at=held_at)
        )  # fmt: skip
        mine = await uow.store(
            Commitment(held, north, site.ids["Fleur"], "Folder", date(2027, 4, 1))
        )
        await uow.commit()
    ids = {"{team}": north, "{series}": series, "{session}": planned.id, "{commitment}": mine}
    routes = [r for r in site.pages.routes if r.method == "GET"]
    unknown = {r.path for r in routes} - set(PAGES) - NOT_PAGES
    assert not unknown, f"routes this test does not know: add them to PAGES or NOT_PAGES {unknown}"
    page = await browser.new_page()
    problems: dict[str, list[str]] = {}
    checked: list[str] = []
    refused: set[tuple[str, str]] = set()
    for lang in ("nl", "en"):
        for role in ROLES:
            if role != "anonymous":
                await site.driver.cmd(role, "lang", lang)
            await browser.clear_cookies()
            await page.set_extra_http_headers({"Accept-Language": lang})
            if role != "anonymous":
                secret = await site.cookie_of(role)
                await browser.add_cookies(
                    [{"name": COOKIE, "value": secret, "url": f"{site.base}/web/"}]
                )
            for route in routes:
                if route.path not in PAGES:
                    continue
                path = route.path
                for placeholder, value in ids.items():
                    path = path.replace(placeholder, str(value))
                query = "&".join(f"{k}={v}" for k, v in PAGES[route.path].items())
                allowed = who_may(route, role)
                where = f"{lang} {role} {route.path}" + ("" if allowed else " refused")
                if not allowed and (lang, role) in refused:
                    continue  # the same refusal page, checked once per role and language
                if not allowed:
                    refused.add((lang, role))
                await page.set_viewport_size({"width": 1024, "height": 800})
                await page.goto(f"{site.base}{path}" + (f"?{query}" if query else ""))
                assert await page.get_attribute("html", "lang") == lang, where
                found = await axe_violations(page, axe)
                if found:
                    problems[where] = found
                slug = re.sub(r"[{}]", "", route.path.strip("/").replace("/", "-")) or "web"
                await page.screenshot(path=SHOTS / f"{lang}-{role}-{slug}.png", full_page=True)
                await page.set_viewport_size({"width": 320, "height": 640})
                await page.screenshot(path=SHOTS / f"{lang}-{role}-{slug}-320.png", full_page=True)
                width = await scroll_width(page)
                if width > 320:
                    problems.setdefault(where, []).append(f"{width} px wide at 320 px")
                checked.append(where)
    assert not problems, "\n".join(f"{k}: {v}" for k, v in problems.items())
    # Every page was opened, in both languages, by someone it is for.
    opened = {(w.split(" ")[0], w.split(" ")[2]) for w in checked if not w.endswith("refused")}
    assert opened == {(lang, p) for lang in ("nl", "en") for p in PAGES}, opened
