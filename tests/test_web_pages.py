"""The web view's pages: planning shows the round plan and the holidays before anything is
stored, saving goes through the chat's own form, the series has a calendar file, and every
word the templates ask for is in both catalogs."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from markupsafe import escape

from bot.web import make_web_app
from bot.webapp import WebView
from bot.webapp.pages import COOKIE
from bot.wiring import App
from handlers import dashboard
from handlers.etiquette import holiday_name
from handlers.model import Commitment, CommitmentStatus, Series, SessionStatus
from handlers.series_report import FOLLOW_THROUGH, build_series_summary
from prompts.catalog import LANGUAGES, raw_catalog
from prompts.catalog import t as catalog_t
from tests.driver import Driver, team_of
from tests.fake_slack import free_port

TEMPLATES = Path(__file__).resolve().parents[1] / "bot" / "webapp" / "templates"


def t(lang: str, key: str, **params: object) -> str:
    return str(escape(catalog_t(lang, key, **params)))


@dataclass
class Site:
    app: App
    driver: Driver
    base: str
    http: aiohttp.ClientSession
    headers: dict[str, str]
    csrf: str
    team_id: int

    async def plan(self, **values: str) -> tuple[int, str]:
        data = {"csrf": self.csrf, "title": "Wijk Noord", "question": "Wat nu?",
                "format": "retro", "language": "nl", "anonymous": "yes", **values}  # fmt: skip
        url = f"{self.base}/web/teams/{self.team_id}/plan"
        async with self.http.post(url, data=data, headers=self.headers) as resp:
            return resp.status, await resp.text()


@pytest.fixture
async def site(app: App) -> AsyncIterator[Site]:
    driver = Driver(app)
    await team_of(driver, "Sanne", "Ahmed")
    port = free_port()
    runner = web.AppRunner(make_web_app(app, None, None, WebView("k" * 40, "http://x")))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    async with app.uow() as uow:
        (team,) = await uow.directory.teams_of(1)
        signed = await dashboard.open_session(uow, 1, app.coulisse.clock.now())
        await uow.commit()
    assert team.id is not None
    try:
        async with aiohttp.ClientSession() as http:
            headers = {"Cookie": f"{COOKIE}={signed.secret}"}
            yield Site(app, driver, f"http://127.0.0.1:{port}", http, headers, signed.csrf,
                       team.id)  # fmt: skip
    finally:
        await runner.cleanup()
        dashboard.configure(None)


async def test_a_live_session_on_a_holiday_is_flagged_before_saving(site: Site) -> None:
    status, page = await site.plan(action="preview", starts_at="2027-04-27T10:00", mode="live")
    kings_day = holiday_name("NL", date(2027, 4, 27))
    assert status == 200 and kings_day
    assert t("nl", "web.plan_holiday", holiday=kings_day) in page
    assert t("nl", "web.save_button") in page  # now it may be saved
    assert await site.driver.count("sessions") == 0  # a preview stores nothing


async def test_an_async_series_is_planned_shown_saved_and_in_its_calendar(site: Site) -> None:
    values = {"starts_at": "2027-03-15T10:00", "mode": "async", "round_length": "2",
              "recurrence": "biweekly"}  # fmt: skip
    status, page = await site.plan(action="preview", **values)
    assert status == 200 and t("nl", "web.preview_heading") in page
    rounds = re.findall(r"<li>(.*?)</li>", page)
    assert len(rounds) >= 6, rounds  # the retro's six rounds, each opening and closing
    assert await site.driver.count("sessions") == 0
    status, page = await site.plan(action="save", **values)
    assert status == 200 and t("nl", "web.saved_heading") in page
    assert await site.driver.count("sessions") == 1 and await site.driver.count("series") == 1
    # The preview said what the chat's form then planned: the same round lines.
    shown = [line for line in rounds if line in page]
    assert len(shown) >= 6, (rounds, page)
    async with site.app.uow() as uow:
        (session,) = await uow.sessions.for_team(site.team_id)  # ids: a preview used some
        series = await uow.get(Series, session.series_id or 0)
    assert series is not None
    url = f"{site.base}/web/teams/{site.team_id}/series/{series.id}.ics"
    async with site.http.get(url, headers=site.headers) as resp:
        body = await resp.text()
        assert resp.status == 200 and resp.content_type == "text/calendar"
    assert body.startswith("BEGIN:VCALENDAR\r\n") and body.endswith("END:VCALENDAR\r\n")
    assert "RRULE:FREQ=WEEKLY;INTERVAL=2" in body and "DTSTART;TZID=Europe/Amsterdam:" in body
    assert "SUMMARY:Wijk Noord" in body


async def test_a_time_in_the_past_is_refused_politely_and_nothing_is_stored(site: Site) -> None:
    status, page = await site.plan(action="save", starts_at="2020-01-01T10:00")
    assert status == 400 and t("nl", "errors.start_in_past") in page
    status, page = await site.plan(action="preview", starts_at="2020-01-01T10:00")
    assert status == 400 and t("nl", "errors.start_in_past") in page
    assert await site.driver.count("sessions") == 0


def test_every_word_the_templates_ask_for_is_in_both_catalogs() -> None:
    keys: set[str] = set()
    for path in TEMPLATES.glob("*.html"):
        keys |= set(re.findall(r"""\bw\(\s*["']([a-z_.]+)["']""", path.read_text()))
    assert len(keys) > 30  # the scan itself works
    keys = {k for k in keys if not k.endswith(".")} | {f"seats.{s}" for s in dashboard.Seat}
    for lang in LANGUAGES:
        missing = {k for k in keys if f"web.{k}" not in raw_catalog(lang)}
        assert not missing, (lang, missing)


async def test_my_teams_counts_follow_through_as_the_series_export_does(site: Site) -> None:
    """My teams counts from the stored commitments (a few reads a team); the export builds
    whole summaries. Both must say the same, commitment status by status."""
    assert (await site.plan(action="save", starts_at="2027-03-16T10:00", recurrence="weekly"))[
        0
    ] == 200
    today = date(2027, 3, 20)
    async with site.app.uow() as uow:
        (session,) = await uow.sessions.for_team(site.team_id)
        session.status = SessionStatus.CLOSED
        assert session.id is not None
        for n, status in enumerate(CommitmentStatus):
            for due in (date(2027, 3, 10), date(2027, 4, 10)):
                uow.add(Commitment(session.id, site.team_id, 2, f"{status} {n}", due,
                                   status=status))  # fmt: skip
        await uow.commit()
    async with site.app.uow() as uow:
        person = await dashboard.person(uow, 1)
        assert person is not None
        (card,) = await dashboard.my_teams(uow, person, today, site.app.coulisse.clock.now())
        series = await uow.get(Series, card.series[0][0])
        assert series is not None
        exported = await build_series_summary(uow, series, today, "nl")
    assert exported is not None
    (trend,) = card.trends
    assert [r.__dict__ for r in trend.rows] == [r.__dict__ for r in exported.follow_through]
    assert sum(trend.rows[0].count(k) for k in FOLLOW_THROUGH) == 2 * len(CommitmentStatus)
