"""The web's Plan and Commitments pages change things as the chat does: a planned session or a
series is changed after a preview that runs the core's own flow in a transaction never saved
(what it says is what saving says), a session is cancelled after asking once more, and a
commitment is edited or handed over by its owner or a coordinator; every change reaches the
chat through the same handlers, and the channel is told."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import aiohttp

from bot.clock import ManualClock
from handlers.model import Commitment, CommitmentStatus, Series, Session, SessionStatus
from handlers.plan import moment_text
from handlers.when import day_text
from prompts.catalog import t as catalog_t
from tests.test_web_access import COOKIE, Web, site, t

__all__ = ["site"]  # the fixture, shared with the role matrix
AMS = ZoneInfo("Europe/Amsterdam")


async def signed(site: Web, name: str) -> tuple[dict[str, str], str]:
    secret = await site.cookie_of(name)
    return {"Cookie": f"{COOKIE}={secret}"}, await site.csrf_of(secret)


async def page(site: Web, path: str, headers: dict[str, str], **data: str) -> tuple[int, str]:
    call = site.session.post if data else site.session.get
    kwargs = {"data": data} if data else {}
    async with call(site.base + path, headers=headers, allow_redirects=False, **kwargs) as r:
        return r.status, await r.text()


def listed(html: str) -> list[str]:
    """The outcome's lines as the page shows them."""
    found = re.search(r'<section class="outcome".*?</section>', html, re.DOTALL)
    return re.findall(r"<li>(.*?)</li>", found.group(0)) if found else []


async def the_session(site: Web) -> Session:
    async with site.app.uow() as uow:
        (session,) = await uow.sessions.for_team(site.ids["north"])
    return session


async def test_a_planned_session_is_moved_on_the_web_after_the_same_preview(site: Web) -> None:
    headers, csrf = await signed(site, "Sanne")
    north = site.ids["north"]
    session = await the_session(site)
    status, html = await page(site, f"/web/teams/{north}/plan", headers)
    assert status == 200 and f'href="/web/teams/{north}/sessions/{session.id}"' in html
    assert f'href="/web/teams/{north}/series/{site.ids["series"]}/edit"' in html
    status, html = await page(site, f"/web/teams/{north}/sessions/{session.id}", headers)
    assert status == 200 and 'value="2027-03-16T10:00"' in html and "Wijk Noord" in html
    await site.driver.deliver()
    before = await site.driver.snapshot()
    path = f"/web/teams/{north}/sessions/{session.id}"
    form = {"csrf": csrf, "starts_at": "2027-03-18T14:00", "title": "Wijk Noord"}
    status, preview = await page(site, path, headers, **form, action="preview")
    assert status == 200 and t("nl", "web.edit_preview_heading") in preview, preview[:2000]
    shown = listed(preview)
    assert t("nl", "sessions.changed", title="Wijk Noord") in shown
    assert await site.driver.snapshot() == before  # the preview kept nothing
    assert (await the_session(site)).starts_at == datetime(2027, 3, 16, 10, 0, tzinfo=AMS)
    status, saved = await page(site, path, headers, **form, action="save")
    assert status == 200 and t("nl", "web.saved_heading") in saved
    assert [p for p in re.findall(r"<p>(.*?)</p>", saved) if p in shown] == shown  # same words
    moved = datetime(2027, 3, 18, 14, 0, tzinfo=AMS)
    assert (await the_session(site)).starts_at == moved
    sent = await site.driver.deliver()
    when = moment_text("nl", moved, "Europe/Amsterdam")
    announced = catalog_t("nl", "sessions.changed_announce", title="Wijk Noord", when=when,
                          mode=catalog_t("nl", "sessions.mode_names.live"))  # fmt: skip
    assert [s.text for s in sent if s.to.kind == "channel"] == [announced]


async def test_a_bad_date_on_the_web_is_answered_in_the_persons_language(site: Web) -> None:
    await site.driver.cmd("Sanne", "lang", "en")
    headers, csrf = await signed(site, "Sanne")
    session = await the_session(site)
    path = f"/web/teams/{site.ids['north']}/sessions/{session.id}"
    status, html = await page(site, path, headers, csrf=csrf, starts_at="2027-03-01T10:00",
                              action="preview")  # fmt: skip
    assert status == 400 and t("en", "errors.start_in_past") in html
    status, html = await page(site, path, headers, csrf=csrf, starts_at="2027-03-01T10:00",
                              action="save")  # fmt: skip
    assert status == 400 and t("en", "errors.start_in_past") in html


async def test_cancelling_asks_once_more_then_the_series_goes_on(site: Web) -> None:
    headers, csrf = await signed(site, "Sanne")
    session = await the_session(site)
    path = f"/web/teams/{site.ids['north']}/sessions/{session.id}/cancel"
    status, html = await page(site, path, headers, csrf=csrf)
    assert status == 200 and t("nl", "web.cancel_yes") in html
    assert (await the_session(site)).id == session.id  # asked, nothing done
    status, html = await page(site, path, headers, csrf=csrf, confirm="yes")
    assert status == 200 and t("nl", "sessions.cancelled", title="Wijk Noord") in html
    follow = await the_session(site)
    assert follow.id != session.id
    assert follow.starts_at == datetime(2027, 3, 23, 10, 0, tzinfo=AMS)
    sent = await site.driver.deliver()
    assert any(s.kind == "session_changed" and s.to.kind == "channel" for s in sent)


async def test_a_series_is_paused_on_the_web(site: Web) -> None:
    headers, csrf = await signed(site, "Sanne")
    path = f"/web/teams/{site.ids['north']}/series/{site.ids['series']}/edit"
    status, html = await page(site, path, headers)
    assert status == 200 and 'value="weekly" selected' in html
    status, html = await page(site, path, headers, csrf=csrf, state="pause", action="preview")
    assert status == 200 and t("nl", "sessions.series_paused", title="Wijk Noord") in html
    async with site.app.uow() as uow:
        series = await uow.get(Series, site.ids["series"])
    assert series is not None and series.active  # only shown
    status, html = await page(site, path, headers, csrf=csrf, state="pause", action="save")
    assert status == 200
    async with site.app.uow() as uow:
        series = await uow.get(Series, site.ids["series"])
    assert series is not None and not series.active
    assert (await the_session(site)).starts_at is None


async def test_a_started_session_is_not_offered_for_change(site: Web) -> None:
    await site.driver.cmd("Sanne", "start")
    headers, csrf = await signed(site, "Sanne")
    session = await the_session(site)
    assert session.status == SessionStatus.OPEN
    refused = t("nl", "sessions.edit_started", title="Wijk Noord")
    path = f"/web/teams/{site.ids['north']}/sessions/{session.id}"
    status, html = await page(site, path, headers)
    assert status == 400 and refused in html
    status, html = await page(site, path, headers, csrf=csrf, title="Anders", action="save")
    assert status == 400 and refused in html
    assert (await the_session(site)).title == "Wijk Noord"


async def test_commitments_are_edited_and_handed_over_as_the_role_allows(site: Web) -> None:
    north = site.ids["north"]
    async with site.app.uow() as uow:
        first = (await uow.commitments.for_team(north))[0]
    path = f"/web/teams/{north}/commitments/{first.id}"
    # Ahmed is a participant, and it is Fleur's: not offered, and refused if sent anyway.
    ahmed, ahmed_csrf = await signed(site, "Ahmed")
    status, html = await page(site, "/web/commitments", ahmed)
    assert f'href="{path}"' not in html
    assert (await page(site, path, ahmed))[0] == 403
    status, _html = await page(site, path, ahmed, csrf=ahmed_csrf, text="Van mij")
    assert status == 403
    # Fleur edits her own: the text and the date.
    fleur, fleur_csrf = await signed(site, "Fleur")
    status, html = await page(site, "/web/commitments", fleur)
    assert f'href="{path}"' in html
    status, html = await page(site, path, fleur, csrf=fleur_csrf, text="Buurthuis open op zaterdag",
                              due="2027-04-02")  # fmt: skip
    assert status == 200, html
    due = day_text("nl", date(2027, 4, 2))
    assert t("nl", "web.commitment_saved", number=first.id, text="Buurthuis open op zaterdag",
             due=due) in html  # fmt: skip
    async with site.app.uow() as uow:
        edited = await uow.get(Commitment, first.id or 0)
    assert edited is not None and edited.text == "Buurthuis open op zaterdag"
    assert edited.due_date.isoformat() == "2027-04-02"
    # Sanne coordinates: she hands it over to Ahmed, who hears of it in the chat.
    sanne, sanne_csrf = await signed(site, "Sanne")
    await site.driver.deliver()
    status, html = await page(site, path, sanne, csrf=sanne_csrf, owner="Ahmed")
    assert status == 200 and t("nl", "web.commitment_handed_over") in html
    assert "Ahmed" not in html.replace(t("nl", "web.signed_in_as", name="Sanne"), "")
    async with site.app.uow() as uow:
        handed = await uow.get(Commitment, first.id or 0)
    assert handed is not None and handed.owner_id == site.ids["Ahmed"]
    sent = await site.driver.deliver()
    told = [s for s in sent if s.to.kind == "dm" and s.to.id == site.ids["Ahmed"]]
    assert told and catalog_t("nl", "commitments.now_yours", text=handed.text,
                              number=handed.id) in told[0].text  # fmt: skip
    # A name nobody in the team has is answered politely, nothing changes.
    status, html = await page(site, path, sanne, csrf=sanne_csrf, owner="Niemand")
    assert status == 400
    async with (  # and without a session, nothing at all
        aiohttp.ClientSession() as fresh,
        fresh.post(site.base + path, data={"owner": "Joost"}) as r,
    ):
        assert r.status == 401


async def test_every_form_that_changes_something_needs_the_sessions_csrf_token(site: Web) -> None:
    headers, _csrf = await signed(site, "Sanne")
    session = await the_session(site)
    before = await site.driver.snapshot()
    posted = 0
    for route in site.pages.routes:
        if not route.writes or "{team}" not in route.path:
            continue
        path = route.path.replace("{team}", str(site.ids["north"]))
        path = path.replace("{session}", str(session.id)).replace(
            "{series}", str(site.ids["series"])
        )
        path = path.replace("{commitment}", "1")
        form = {
            "csrf": "guessed",
            "action": "save",
            "confirm": "yes",
            "title": "X",
            "state": "stop",
        }
        status, html = await page(site, path, headers, **form)
        assert status == 403 and t("nl", "web.csrf_heading") in html, path
        posted += 1
    assert posted >= 5 and await site.driver.snapshot() == before


async def test_a_start_left_as_shown_is_not_checked_again(site: Web, clock: ManualClock) -> None:
    """The form shows the start; saving another title with it unchanged does not refuse the
    start for having passed (a live session not yet started on its day)."""
    clock.set(datetime(2027, 3, 16, 11, 0, tzinfo=AMS))
    headers, csrf = await signed(site, "Sanne")
    session = await the_session(site)
    path = f"/web/teams/{site.ids['north']}/sessions/{session.id}"
    status, html = await page(site, path, headers)
    assert 'value="2027-03-16T10:00"' in html
    status, html = await page(site, path, headers, csrf=csrf, starts_at="2027-03-16T10:00",
                              title="Wijk Noord (zaal 2)", action="save")  # fmt: skip
    assert status == 200, html
    changed = await the_session(site)
    assert changed.title == "Wijk Noord (zaal 2)" and changed.starts_at == session.starts_at


async def test_a_series_changed_on_the_web_is_what_its_calendar_feed_says(site: Web) -> None:
    headers, csrf = await signed(site, "Sanne")
    north, series = site.ids["north"], site.ids["series"]
    path = f"/web/teams/{north}/series/{series}/edit"
    form = {"csrf": csrf, "recurrence": "biweekly", "starts_at": "2027-03-18T14:00"}
    status, html = await page(site, path, headers, **form, action="save")
    assert status == 200, html
    status, ics = await page(site, f"/web/teams/{north}/series/{series}.ics", headers)
    assert status == 200
    assert (
        "RRULE:FREQ=WEEKLY;INTERVAL=2" in ics
        and "DTSTART;TZID=Europe/Amsterdam:20270318T140000" in ics
    )
    assert "DTSTART:20270318T130000Z" in ics  # the prepared session, moved with it


async def test_a_finished_or_unknown_commitment_is_said_so(site: Web) -> None:
    north = site.ids["north"]
    async with site.app.uow() as uow:
        first = (await uow.commitments.for_team(north))[0]
        first.status = CommitmentStatus.DONE
        await uow.commit()
    fleur, csrf = await signed(site, "Fleur")
    status, html = await page(site, f"/web/teams/{north}/commitments/{first.id}", fleur)
    assert status == 400 and t("nl", "commitments.finished", number=first.id) in html
    status, html = await page(site, "/web/commitments", fleur)
    assert f'href="/web/teams/{north}/commitments/{first.id}"' not in html  # not offered
    status, html = await page(site, f"/web/teams/{north}/commitments/9999", fleur, csrf=csrf,
                              text="X")  # fmt: skip
    assert status == 404 and t("nl", "commitments.unknown", number="9999") in html
