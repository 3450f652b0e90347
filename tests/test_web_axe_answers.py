"""The pages the web view answers a form with (every POST route's answers: a preview, a problem,
saved, the cancel question and its answer, signed out) and its refusals and error pages (a
changed, expired or reused link, too many tries, a missing CSRF token, no session, not found),
in nl and en, checked in Debian's Chromium with axe-core for WCAG 2.1 A and AA: no violation,
the page's language, and 320 px without sideways scrolling. The POST routes are those the
server declares (Pages.routes): one this test sends nothing to fails it. Screenshots at 320 px:
.test-artifacts/web/answers/. Without the browser or axe-core this skips; with CI=true it
fails instead."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.webapp.editing import Editing
from bot.webapp.pages import COOKIE
from handlers.model import Commitment, Session, SessionStatus
from tests.browser import launch_options, need_axe, need_chromium, page_problems, submit
from tests.payloads import ARTIFACTS
from tests.test_web_access import Web, link_in, site  # noqa: F401 (the fixture)

SHOTS = ARTIFACTS / "web" / "answers"
SHOTS.mkdir(parents=True, exist_ok=True)

# Every POST route and the answers this test has it give (a name each); a new POST route
# fails the test until its answers are here.
POSTS: dict[str, set[str]] = {
    "/web/out": {"signed-out", "no-session"},
    "/web/teams/{team}/plan": {"plan-preview", "plan-problem", "plan-saved", "csrf-refused"},
    "/web/teams/{team}/sessions/{session}": {
        "session-preview", "session-problem", "session-saved", "session-refused",
    },
    "/web/teams/{team}/sessions/{session}/cancel": {"cancel-asked", "cancelled"},
    "/web/teams/{team}/series/{series}/edit": {"series-preview", "series-saved"},
    "/web/teams/{team}/commitments/{commitment}": {
        "commitment-saved", "commitment-handed-over", "commitment-problem",
    },
    "/web/teams/{team}/checkin": {"checked-in", "checkin-problem"},
}  # fmt: skip
NOT_PAGES = {"/web/tab/sso"}  # JSON for the tab's script (tests/test_web_teams_js.py)
# Error pages of GET routes the page test (test_web_axe.py) does not reach.
ERRORS = {"link-tampered", "link-used", "link-expired", "too-many-tries", "file-not-found",
          "commitment-unknown", "session-not-planned"}  # fmt: skip


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Any]:
    need_chromium("the accessibility test of answers")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            **launch_options(tmp_path / "profile")
        )
        try:
            yield context
        finally:
            await context.close()


def test_every_page_of_editing_has_a_route() -> None:
    """Editing's pages are served through Pages.routes (which the test below walks): one
    without a route would go unchecked."""
    from bot.webapp.pages import Pages

    source = inspect.getsource(Pages.__init__)
    public = {n for n, _ in inspect.getmembers(Editing, inspect.isfunction) if n[0] != "_"}
    assert public and {n for n in public if f"editing.{n}," in source} == public


async def planned(web: Web) -> Session:
    """The series' next planned session (cancelling one plans the next)."""
    async with web.app.uow() as uow:
        found = [s for s in await uow.sessions.for_team(web.ids["north"])
                 if s.series_id == web.ids["series"] and s.status == SessionStatus.DRAFT
                 and s.starts_at is not None]  # fmt: skip
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_every_answer_and_error_page_in_both_languages_has_no_axe_violation(
    site: Web,  # noqa: F811
    browser: Any,
    clock: ManualClock,
) -> None:
    axe = need_axe("the accessibility test of answers")
    north, series = site.ids["north"], site.ids["series"]
    posts = [r for r in site.pages.routes if r.method == "POST"]
    unknown = {r.path for r in posts} - set(POSTS) - NOT_PAGES
    assert not unknown, f"POST routes this test does not know: add them to POSTS {unknown}"
    assert {r.path for r in posts if r.writes} == set(POSTS)
    page = await browser.new_page()
    await page.set_viewport_size({"width": 320, "height": 640})
    problems: dict[str, list[str]] = {}
    seen: dict[str, int] = {}

    async def check(lang: str, name: str, status: int, expected: int) -> None:
        where = f"{lang} {name}"
        found = await page_problems(page, axe, lang)
        if status != expected:
            found.append(f"status {status}, not {expected}: {await page.inner_text('main')}")
        if found:
            problems[where] = found
        await page.screenshot(path=SHOTS / f"{lang}-{name}.png", full_page=True)
        seen[where] = status

    async def sign_in(name: str) -> str:
        await browser.clear_cookies()
        secret = await site.cookie_of(name)
        await browser.add_cookies([{"name": COOKIE, "value": secret, "url": f"{site.base}/web/"}])
        await page.goto(f"{site.base}/web/")
        return await site.csrf_of(secret)

    async def post(lang: str, name: str, path: str, expected: int, **fields: str) -> None:
        await page.goto(f"{site.base}/web/")  # a page of the site to send it from
        await check(lang, name, await submit(page, path, fields), expected)

    async def get(lang: str, name: str, path: str, expected: int) -> None:
        answer = await page.goto(f"{site.base}{path}")
        await check(lang, name, answer.status, expected)

    for lang in ("nl", "en"):
        for person in ("Sanne", "Fleur", "Ahmed", "Joost"):
            await site.driver.cmd(person, "lang", lang)
        await page.set_extra_http_headers({"Accept-Language": lang})
        async with site.app.uow() as uow:  # held, for commitments of this language's own
            at = datetime(2027, 3, 2, 10, tzinfo=UTC)
            held = await uow.store(
                Session(north, "Eerder", "Wat nu?", "retro", site.ids["Sanne"],
                        status=SessionStatus.CLOSED, starts_at=at, closed_at=at)
            )  # fmt: skip
            mine = [await uow.store(Commitment(held, north, site.ids["Fleur"], f"Folder {i}",
                                               date(2027, 4, 1))) for i in range(3)]  # fmt: skip
            await uow.commit()
        base = f"/web/teams/{north}"

        # A coordinator plans in team-zuid (one session at a time: the one before cancelled).
        south = f"/web/teams/{site.ids['south']}"
        csrf = await sign_in("Joost")
        async with site.app.uow() as uow:
            before = await uow.sessions.current_for_team(site.ids["south"])
        if before is not None:
            gone = {"csrf": csrf, "confirm": "yes"}
            await submit(page, f"{south}/sessions/{before.id}/cancel", gone)
        new = {"csrf": csrf, "title": "Los", "question": "Wat nu?", "format": "retro",
               "starts_at": "2027-04-20T10:00"}  # fmt: skip
        await post(lang, "plan-preview", f"{south}/plan", 200, **new, action="preview")
        await post(lang, "plan-problem", f"{south}/plan", 400,
                   **{**new, "starts_at": "2027-03-01T10:00"}, action="preview")  # fmt: skip
        await post(lang, "plan-saved", f"{south}/plan", 200, **new, action="save")
        await post(lang, "csrf-refused", f"{south}/plan", 403, **{**new, "csrf": "x"})

        # The coordinator of team-noord: change and cancel a session, a series, hand over.
        csrf = await sign_in("Sanne")
        session = await planned(site)
        moved = "2027-03-18T14:00" if lang == "nl" else "2027-03-25T14:00"
        one = f"{base}/sessions/{session.id}"
        await post(lang, "session-preview", one, 200, csrf=csrf, starts_at=moved,
                   action="preview")  # fmt: skip
        await post(lang, "session-problem", one, 400, csrf=csrf, starts_at="2027-03-01T10:00",
                   action="preview")  # fmt: skip
        await post(lang, "session-saved", one, 200, csrf=csrf, starts_at=moved, action="save")
        await post(lang, "cancel-asked", f"{one}/cancel", 200, csrf=csrf)
        await post(lang, "cancelled", f"{one}/cancel", 200, csrf=csrf, confirm="yes")
        await post(lang, "session-refused", one, 400, csrf=csrf, title="Anders", action="save")
        await get(lang, "session-not-planned", one, 400)
        every = "biweekly" if lang == "nl" else "weekly"
        edit = f"{base}/series/{series}/edit"
        await post(lang, "series-preview", edit, 200, csrf=csrf, recurrence=every,
                   action="preview")  # fmt: skip
        await post(lang, "series-saved", edit, 200, csrf=csrf, recurrence=every, action="save")
        await post(lang, "commitment-handed-over", f"{base}/commitments/{mine[0]}", 200,
                   csrf=csrf, owner="Ahmed")  # fmt: skip
        await post(lang, "commitment-problem", f"{base}/commitments/{mine[1]}", 400,
                   csrf=csrf, owner="Niemand")  # fmt: skip
        await get(lang, "file-not-found", f"{base}/map.xyz", 404)
        await post(lang, "signed-out", "/web/out", 200, csrf=csrf)
        await post(lang, "no-session", "/web/out", 401, csrf=csrf)  # signed out: no session

        # A participant: her own commitment changed, a check-in, one that is not there.
        csrf = await sign_in("Fleur")
        await post(lang, "commitment-saved", f"{base}/commitments/{mine[1]}", 200, csrf=csrf,
                   text=f"Folder {lang}")  # fmt: skip
        await post(lang, "checked-in", f"{base}/checkin", 200, csrf=csrf,
                   commitment=str(mine[2]), status="done")  # fmt: skip
        await post(lang, "checkin-problem", f"{base}/checkin", 400, csrf=csrf,
                   commitment="99999", status="done")  # fmt: skip
        await get(lang, "commitment-unknown", f"{base}/commitments/99999", 404)

        # Links from the chat: changed, used, expired (each in its person's language).
        await browser.clear_cookies()
        url = link_in(await site.driver.cmd("Ahmed", "dashboard"))
        body, mac = url.rsplit(".", 1)
        await get(lang, "link-tampered", f"{body}.{'A' if mac[0] != 'A' else 'B'}{mac[1:]}"
                  .removeprefix(site.base), 403)  # fmt: skip
        async with site.session.get(url, allow_redirects=False) as first:
            assert first.status == 303
        await get(lang, "link-used", url.removeprefix(site.base), 403)
        url = link_in(await site.driver.cmd("Ahmed", "dashboard"))
        clock.advance(timedelta(minutes=16))
        await get(lang, "link-expired", url.removeprefix(site.base), 403)

    # Too many tries from one address, after the minute's allowance (real time: both at once).
    for _ in range(10):
        async with site.session.get(f"{site.base}/web/in?t=x", allow_redirects=False):
            pass
    for lang in ("nl", "en"):
        await page.set_extra_http_headers({"Accept-Language": lang})
        await get(lang, "too-many-tries", "/web/in?t=x", 429)

    assert not problems, "\n".join(f"{k}: {v}" for k, v in problems.items())
    names = set().union(*POSTS.values()) | ERRORS
    assert set(seen) == {f"{lang} {n}" for lang in ("nl", "en") for n in names}, set(seen)
