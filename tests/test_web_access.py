"""The web view's doors: a link from the chat signs one person in once within 15 minutes; a
changed, expired or reused link gets its own page in the person's language; and every route,
walked with every role (and without a session, and with a forged cookie), reads and changes
only what that role may."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta

import aiohttp
import pytest
from aiohttp import web
from markupsafe import escape

from bot.clock import ManualClock
from bot.web import make_web_app
from bot.webapp import PAGES, WebView
from bot.webapp.pages import COOKIE, Pages
from bot.wiring import App
from handlers import dashboard
from handlers.dashboard import Seat
from handlers.messages import ActionTaken, Choices, Command, Place
from handlers.model import (
    Commitment,
    Factor,
    Link,
    Person,
    Polarity,
    Series,
    Session,
    SessionStatus,
    id_of,
)
from prompts.catalog import t as catalog_t
from tests.driver import Driver, team_of
from tests.fake_slack import free_port

KEY = "k" * 40


def t(lang: str, key: str, **params: object) -> str:
    """The catalog's text as a page shows it (escaped for HTML)."""
    return str(escape(catalog_t(lang, key, **params)))


SECRET_WORK = "Buurthuis open op zondag"  # a commitment text: only members may read it


@dataclass
class Web:
    app: App
    driver: Driver
    base: str
    session: aiohttp.ClientSession
    pages: Pages
    ids: dict[str, int]  # people by name, and "north"/"south" teams, "series"

    async def cookie_of(self, name: str) -> str:
        async with self.app.uow() as uow:
            signed = await dashboard.open_session(
                uow, self.ids[name], self.app.coulisse.clock.now()
            )
            await uow.commit()
        return signed.secret

    async def csrf_of(self, secret: str) -> str:
        async with self.app.uow() as uow:
            found = await dashboard.signed_in(uow, secret, self.app.coulisse.clock.now())
        assert found is not None
        return found[1]


async def person_id(app: App, platform_id: str) -> int:
    async with app.uow() as uow:
        people = await uow.directory.people_by_platform_id(platform_id)
    assert people and people[0].id is not None
    return people[0].id


@pytest.fixture
async def site(app: App) -> AsyncIterator[Web]:
    driver = Driver(app)
    await team_of(driver, "Sanne", "Ahmed", "Fleur")
    south = Driver(app, channel="team-zuid")
    await team_of(south, "Joost")
    # Someone of the municipality: in the workspace (a DM with the bot), in no team.
    await app.coulisse.handle(Command("help", driver.actor("Mila"), Place("dm")))
    assert "Mila" in await driver.cmd("Sanne", "reader", "Mila")
    reply = await driver.form(
        "Sanne", "new_session", format="retro", title="Wijk Noord", question="Wat nu?",
        starts_at="2027-03-16 10:00", recurrence="weekly",
    )  # fmt: skip
    assert "staat klaar" in reply, reply
    ids = {n: await person_id(app, n.lower()) for n in ("Sanne", "Ahmed", "Fleur", "Joost", "Mila")}
    async with app.uow() as uow:
        north = await uow.directory.team_by_channel(1, "team-noord")
        south_team = await uow.directory.team_by_channel(1, "team-zuid")
        assert north and south_team and north.id and south_team.id
        ids["north"], ids["south"] = north.id, south_team.id
        (session,) = await uow.sessions.for_team(north.id)
        assert session.series_id is not None and session.id is not None
        ids["series"], ids["session"] = session.series_id, session.id
        # A small causal map: waiting list, pressure on the GP and sick leave feed each other.
        wait = await uow.store(Factor(north.id, "wachtlijst", "wachtlijst"))
        gp = await uow.store(Factor(north.id, "druk op de huisarts", "druk op de huisarts"))
        away = await uow.store(Factor(north.id, "uitval", "uitval"))
        uow.add(Link(north.id, wait, gp, Polarity.SAME))
        uow.add(Link(north.id, gp, away, Polarity.SAME))
        uow.add(Link(north.id, away, wait, Polarity.SAME))
        for i in range(3):
            uow.add(Commitment(session.id, north.id, ids["Fleur"], f"{SECRET_WORK} {i}",
                               date(2027, 3, 1)))  # fmt: skip
        await uow.commit()
        ids["commitment"] = id_of((await uow.commitments.for_team(north.id))[0])
    port = free_port()
    view = WebView(KEY, f"http://127.0.0.1:{port}")
    web_app = make_web_app(app, None, None, view)
    runner = web.AppRunner(web_app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    pages = web_app[PAGES]  # the routes as served, with the seats each declares
    try:
        async with aiohttp.ClientSession() as session:
            yield Web(app, driver, f"http://127.0.0.1:{port}", session, pages, ids)
    finally:
        await runner.cleanup()
        dashboard.configure(None)


def link_in(reply: str) -> str:
    found = re.search(r"http://\S+/web/in\?t=\S+", reply)
    assert found, reply
    return found.group(0)


async def test_a_link_from_the_chat_signs_in_once_with_a_safe_cookie(site: Web) -> None:
    reply = await site.driver.cmd("Sanne", "dashboard")
    url = link_in(reply)
    assert reply == catalog_t("nl", "web.link", url=url, minutes=15)
    async with site.session.get(url, allow_redirects=False) as resp:
        assert resp.status == 303 and resp.headers["Location"] == "/web/", await resp.text()
        cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=28800" in cookie
    assert "Secure" not in cookie  # served over plain HTTP here; Secure only over HTTPS
    assert "Secure" in resp.cookies[COOKIE].output() or not WebView(KEY, "x").secure
    assert WebView(KEY, "https://coulisse.example").secure
    secret = resp.cookies[COOKIE].value
    async with site.session.get(f"{site.base}/web/", headers={"Cookie": f"{COOKIE}={secret}"}) as r:
        page = await r.text()
        assert r.status == 200 and t("nl", "web.teams_heading") in page
        assert t("nl", "web.signed_in_as", name="Sanne") in page
    # Used once: the same link again gets its own page, in Sanne's language, and no cookie.
    async with site.session.get(url, allow_redirects=False) as again:
        text = await again.text()
        assert again.status == 403 and COOKIE not in again.cookies
        assert t("nl", "web.link_used_heading") in text and t("nl", "web.ask_new") in text


async def test_an_expired_or_changed_link_is_refused_in_the_persons_language(
    site: Web, clock: ManualClock
) -> None:
    await site.driver.cmd("Ahmed", "lang", "en")
    url = link_in(await site.driver.cmd("Ahmed", "dashboard"))
    body, mac = url.rsplit(".", 1)
    tampered = f"{body}.{('A' if mac[0] != 'A' else 'B')}{mac[1:]}"
    async with site.session.get(tampered, allow_redirects=False) as resp:
        assert resp.status == 403 and t("nl", "web.link_tampered_heading") in await resp.text()
    other = url.replace(f"t={site.ids['Ahmed']}.", f"t={site.ids['Sanne']}.")
    async with site.session.get(other, allow_redirects=False) as resp:  # someone else's id
        assert resp.status == 403 and COOKIE not in resp.cookies
    clock.advance(timedelta(minutes=15, seconds=1))
    async with site.session.get(url, allow_redirects=False) as resp:
        text = await resp.text()
        assert resp.status == 403 and COOKIE not in resp.cookies
        assert t("en", "web.link_expired_heading") in text and t("en", "web.ask_new") in text


async def test_signing_out_ends_the_session_on_the_server(site: Web) -> None:
    secret = await site.cookie_of("Sanne")
    headers = {"Cookie": f"{COOKIE}={secret}"}
    csrf = await site.csrf_of(secret)
    async with site.session.post(f"{site.base}/web/out", data={"csrf": csrf}, headers=headers) as r:
        assert r.status == 200 and t("nl", "web.signed_out") in await r.text()
    async with site.session.get(f"{site.base}/web/", headers=headers) as r:
        assert r.status == 401  # the old cookie opens nothing any more


async def test_a_web_session_ends_after_eight_hours(site: Web, clock: ManualClock) -> None:
    headers = {"Cookie": f"{COOKIE}={await site.cookie_of('Sanne')}"}
    clock.advance(timedelta(hours=7, minutes=59))
    async with site.session.get(f"{site.base}/web/", headers=headers) as r:
        assert r.status == 200
    clock.advance(timedelta(minutes=2))
    async with site.session.get(f"{site.base}/web/", headers=headers) as r:
        assert r.status == 401


# --- the role matrix ---------------------------------------------------------------------------

ROLES = ("anonymous", "forged", "Sanne", "Ahmed", "Mila", "Joost")
SEAT_IN_NORTH = {"Sanne": Seat.COORDINATOR, "Ahmed": Seat.PARTICIPANT, "Mila": Seat.READER}


async def counts(app: App) -> tuple[int, int, int]:
    driver = Driver(app)
    return (await driver.count("sessions"), await driver.count("series"),
            await driver.count("web_readers"))  # fmt: skip


async def test_every_route_with_every_role_reads_and_writes_only_what_it_may(site: Web) -> None:
    north, series = site.ids["north"], site.ids["series"]
    names = {"Sanne", "Ahmed", "Fleur", "Joost"}
    checked = 0
    for route in site.pages.routes:
        path = route.path.replace("{team}", str(north)).replace("{series}", str(series))
        fmt = "json" if "/map." in route.path else "md"
        path = path.replace("{name}", "app.css").replace("{fmt}", fmt)
        path = path.replace("{mac}", "guessed")
        path = path.replace("{session}", str(site.ids["session"]))
        path = path.replace("{commitment}", str(site.ids["commitment"]))
        for role in ROLES:
            headers = {"Accept-Language": "nl"}
            csrf = ""
            if role == "forged":
                headers["Cookie"] = f"{COOKIE}=not-a-session-{'x' * 30}"
            elif role != "anonymous":
                secret = await site.cookie_of(role)
                headers["Cookie"] = f"{COOKIE}={secret}"
                csrf = await site.csrf_of(secret)
            before = await counts(site.app)
            if route.method == "GET":
                query = {"t": "nonsense"} if route.path == "/web/in" else None
                request = site.session.get(site.base + path, headers=headers, params=query,
                                           allow_redirects=False)  # fmt: skip
            else:
                data = {"csrf": csrf, "action": "save", "title": "Nieuw", "question": "Wat?",
                        "format": "retro", "language": "nl", "anonymous": "yes"}  # fmt: skip
                request = site.session.post(site.base + path, headers=headers, data=data,
                                            allow_redirects=False)  # fmt: skip
            async with request as resp:
                status, text = resp.status, await resp.text()
            after = await counts(site.app)
            if route.seats is None:
                allowed = True
            elif role in ("anonymous", "forged"):
                allowed = False
            elif "{team}" in route.path:
                allowed = SEAT_IN_NORTH.get(role) in route.seats
            else:
                allowed = True
            where = f"{route.method} {route.path} as {role}"
            if route.seats is None:  # open to all: reads nothing of a team, writes nothing
                assert after == before and SECRET_WORK not in text, where
                assert status in (200, 303, 401, 403, 404), where
            elif not allowed:
                assert status in (401, 403), where
                assert after == before, where  # nothing written
                assert SECRET_WORK not in text and "Wijk Noord" not in text, where
            elif route.path == "/web/teams/{team}/plan" and route.method == "POST":
                # The coordinator's save reaches the core, which refuses a second session
                # while one is planned, politely: nothing half-stored.
                assert status == 400 and t("nl", "errors.session_exists") in text, where
                assert after == before, where
            elif route.path.endswith("{commitment}") and role == "Ahmed":
                # A participant may change his own commitments only: this one is Fleur's.
                assert status == 403 and after == before, where
                assert (
                    t("nl", "errors.not_your_commitment", number=str(site.ids["commitment"]))
                    in text
                )
            elif (
                "{session}" in route.path
                or "{commitment}" in route.path
                or route.path.endswith("{series}/edit")
            ):
                # Changing what is planned or a commitment: the form (GET), a preview, the
                # question "cancel it?" (no confirm sent), or a save that changes a field of
                # this form only: no session, series or grant appears or goes.
                assert status == 200 and after == before, (where, status, text[:300])
            elif route.method == "POST" and "{team}" in route.path:
                # Allowed, then the core decides: this form names no commitment of theirs,
                # which it refuses politely, with nothing changed.
                assert status == 400 and after == before, (where, status)
            elif route.path.endswith("summary.{fmt}"):
                # No session of the series has been held yet: nothing to export, said so.
                assert status == 404 and t("nl", "web.not_found") in text, where
            else:
                assert status == 200, (where, status, text[:300])
            # Nobody ever sees who wrote or owns what: names appear only as "signed in as".
            shown = {n for n in names if n in text} - {role}
            assert not shown, (where, shown)
            checked += 1
    assert checked == len(site.pages.routes) * len(ROLES)


async def test_a_reader_sees_trends_only_and_the_small_cell_rule_holds(site: Web) -> None:
    async with site.app.uow() as uow:
        session = (await uow.sessions.for_team(site.ids["north"]))[0]
        session.status = SessionStatus.CLOSED
        await uow.commit()
    reader = {"Cookie": f"{COOKIE}={await site.cookie_of('Mila')}"}
    coordinator = {"Cookie": f"{COOKIE}={await site.cookie_of('Sanne')}"}
    async with site.session.get(f"{site.base}/web/", headers=reader) as r:
        page = await r.text()
    assert t("nl", "web.seats.reader") in page and "<svg" in page
    assert SECRET_WORK not in page and "/plan" not in page and ".ics" not in page
    assert t("nl", "web.trend_withheld", count=1) not in page  # three commitments: shown
    # One commitment fewer: a reader no longer gets that session's figures; the coordinator does.
    async with site.app.uow() as uow:
        (first, *_rest) = await uow.commitments.for_team(site.ids["north"])
        await uow.delete(first)
        await uow.commit()
    async with site.session.get(f"{site.base}/web/", headers=reader) as r:
        page = await r.text()
    assert t("nl", "web.trend_withheld", count=1) in page and "<svg" not in page
    async with site.session.get(f"{site.base}/web/", headers=coordinator) as r:
        page = await r.text()
    assert t("nl", "web.trend_withheld", count=1) not in page and "<svg" in page


async def test_a_form_without_the_sessions_csrf_token_changes_nothing(site: Web) -> None:
    secret = await site.cookie_of("Sanne")
    before = await counts(site.app)
    data = {"csrf": "guessed", "action": "save", "title": "X", "question": "Y", "format": "retro"}
    async with site.session.post(
        f"{site.base}/web/teams/{site.ids['north']}/plan",
        data=data,
        headers={"Cookie": f"{COOKIE}={secret}"},
    ) as r:
        assert r.status == 403 and t("nl", "web.csrf_heading") in await r.text()
    assert await counts(site.app) == before


async def test_pages_may_be_framed_by_teams_only_and_say_so(site: Web) -> None:
    async with site.session.get(f"{site.base}/web/") as r:
        policy = r.headers["Content-Security-Policy"]
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "no-referrer"
    ancestors = policy.split("frame-ancestors", 1)[1].split(";")[0].split()
    assert "https://teams.microsoft.com" in ancestors and "*" not in ancestors
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy


async def test_a_reader_is_granted_and_revoked_by_the_coordinator_only(site: Web) -> None:
    refused = await site.driver.cmd("Ahmed", "reader", "Joost")
    assert refused == catalog_t("nl", "errors.coordinators_only")
    assert await site.driver.cmd("Sanne", "meelezer", "Mila uit") == catalog_t(
        "nl", "web.reader_revoked", name="Mila", team="team-noord"
    )
    async with site.app.uow() as uow:
        assert await dashboard.seats(uow, site.ids["Mila"]) == {}
        assert (await uow.get(Person, site.ids["Mila"])) is not None
        assert (await uow.get(Series, site.ids["series"])) is not None
        assert isinstance(await uow.get(Session, 1), Session)


async def test_link_redemption_is_rate_limited_per_address(site: Web) -> None:
    url = link_in(await site.driver.cmd("Sanne", "dashboard"))
    for _ in range(10):
        async with site.session.get(f"{site.base}/web/in?t=1.2.3.forged") as resp:
            assert resp.status == 403
    async with site.session.get(url, allow_redirects=False) as resp:
        assert resp.status == 429 and t("nl", "web.slow_heading") in await resp.text()
        assert COOKIE not in resp.cookies  # even a good link waits its turn


async def test_a_check_in_on_the_web_is_the_chats_and_the_team_hears_of_a_stuck_one(
    site: Web,
) -> None:
    async with site.app.uow() as uow:
        mine = [c for c in await uow.commitments.for_team(site.ids["north"])]
    first = mine[0]
    url = f"{site.base}/web/teams/{site.ids['north']}/checkin"
    # Ahmed may check in, but not on Fleur's commitment: the core says so, nothing changes.
    secret = await site.cookie_of("Ahmed")
    data = {"csrf": await site.csrf_of(secret), "commitment": str(first.id), "status": "stuck"}
    async with site.session.post(url, data=data, headers={"Cookie": f"{COOKIE}={secret}"}) as r:
        assert r.status == 400
        assert t("nl", "errors.not_your_commitment", number=str(first.id)) in await r.text()
    secret = await site.cookie_of("Fleur")
    async with site.session.get(
        f"{site.base}/web/teams/{site.ids['north']}/work", headers={"Cookie": f"{COOKIE}={secret}"}
    ) as r:
        page = await r.text()
    assert f'name="commitment" value="{first.id}"' in page  # her own, with its buttons
    data = {"csrf": await site.csrf_of(secret), "commitment": str(first.id), "status": "stuck"}
    async with site.session.post(url, data=data, headers={"Cookie": f"{COOKIE}={secret}"}) as r:
        assert r.status == 200
        stuck = catalog_t("nl", "commitments.statuses.stuck")
        assert t("nl", "commitments.checked_in", number=first.id, status=stuck) in await r.text()
    async with site.app.uow() as uow:
        again = await uow.get(Commitment, first.id or 0)
        assert again is not None and again.status.value == "stuck"
    sent = await site.driver.deliver()
    to_team = [s for s in sent if s.to.kind == "channel"]
    assert to_team and all("Fleur" not in s.text for s in to_team)  # told, without her name


async def test_the_reader_downloads_the_series_summary_without_names(site: Web) -> None:
    async with site.app.uow() as uow:
        session = (await uow.sessions.for_team(site.ids["north"]))[0]
        session.status = SessionStatus.CLOSED
        await uow.commit()
    path = f"/web/teams/{site.ids['north']}/series/{site.ids['series']}/summary"
    reader = {"Cookie": f"{COOKIE}={await site.cookie_of('Mila')}"}
    async with site.session.get(f"{site.base}/web/", headers=reader) as r:
        assert f'href="{path}.pdf"' in await r.text()
    async with site.session.get(f"{site.base}{path}.md", headers=reader) as r:
        body = await r.text()
        assert r.status == 200 and "attachment" in r.headers["Content-Disposition"]
    assert SECRET_WORK in body  # what was agreed, for the municipality
    assert not {"Sanne", "Ahmed", "Fleur", "Joost"} & set(re.findall(r"\w+", body))
    participant = {"Cookie": f"{COOKIE}={await site.cookie_of('Ahmed')}"}
    async with site.session.get(f"{site.base}{path}.md", headers=participant) as r:
        assert r.status == 403  # as in the chat, exports are not a participant's
    async with site.session.get(f"{site.base}{path}.exe", headers=reader) as r:
        assert r.status == 404


async def test_the_home_has_a_button_that_sends_the_link(site: Web) -> None:
    outcome = await site.app.coulisse.handle(
        Command("home", site.driver.actor("Sanne"), Place("dm"))
    )
    (reply,) = outcome.messages
    buttons = [a for b in reply.blocks if isinstance(b, Choices) for a in b.actions]
    assert [a.id for a in buttons if a.id == "dashboard"] == ["dashboard"]
    clicked = await site.app.coulisse.handle(
        ActionTaken("dashboard", "link", site.driver.actor("Sanne"), Place("dm"))
    )
    url = link_in(site.driver.text(clicked.messages))
    async with site.session.get(url, allow_redirects=False) as resp:
        assert resp.status == 303 and COOKIE in resp.cookies


async def test_a_series_feed_opens_with_its_secret_address_only(site: Web) -> None:
    series = site.ids["series"]
    feed = site.pages.links.feed(series)
    assert feed.startswith(f"{site.base}/web/feed/{series}/")
    async with site.session.get(feed) as resp:  # no cookie: a calendar app asks
        assert resp.status == 200 and "BEGIN:VCALENDAR" in await resp.text()
    secret = feed.rsplit("/", 1)[1]
    for wrong in (f"/web/feed/{series}/x{secret}", f"/web/feed/{series + 1}/{secret}"):
        async with site.session.get(site.base + wrong) as resp:
            assert resp.status == 404, wrong
    # A feed's signature is no sign-in link: signed by the same key, refused as a link.
    async with site.session.get(f"{site.base}/web/in?t=ics:{series}.{secret[:-4]}") as resp:
        assert resp.status == 403
    secret_cookie = await site.cookie_of("Ahmed")
    async with site.session.get(
        f"{site.base}/web/", headers={"Cookie": f"{COOKIE}={secret_cookie}"}
    ) as r:
        assert feed in await r.text()  # a member finds it on My teams


async def test_the_commitments_page_lists_a_members_teams_only_and_filters(
    site: Web, clock: ManualClock
) -> None:
    async with site.app.uow() as uow:  # one commitment in the other team, Joost's
        (session,) = await uow.sessions.for_team(site.ids["north"])
        uow.add(Commitment(session.id or 0, site.ids["south"], site.ids["Joost"], "Zuid-geheim",
                           date(2027, 3, 12)))  # fmt: skip
        await uow.commit()

    async def page(who: str, query: str = "") -> str:
        cookie = {"Cookie": f"{COOKIE}={await site.cookie_of(who)}"}
        async with site.session.get(f"{site.base}/web/commitments{query}", headers=cookie) as r:
            assert r.status == 200
            return await r.text()

    ahmed = await page("Ahmed")
    assert ahmed.count(SECRET_WORK) == 3 and "Zuid-geheim" not in ahmed
    assert "Fleur" not in ahmed  # the owner is never shown
    assert SECRET_WORK not in await page("Mila")  # a reader gets figures, not commitments
    assert "Zuid-geheim" not in await page("Ahmed", f"?team={site.ids['south']}")
    assert SECRET_WORK not in await page("Ahmed", "?status=done")  # all three are open
    assert (await page("Ahmed", "?status=overdue")).count(SECRET_WORK) == 3  # due 1 March
    assert SECRET_WORK not in await page("Ahmed", "?soon=1")
    assert "Zuid-geheim" in await page("Joost", "?soon=1")  # due 12 March, today is the 9th


async def test_a_member_sees_the_map_its_loops_and_questions_and_gets_its_files(
    site: Web,
) -> None:
    cookie = {"Cookie": f"{COOKIE}={await site.cookie_of('Ahmed')}"}
    base = f"{site.base}/web/teams/{site.ids['north']}/map"
    async with site.session.get(base, headers=cookie) as r:
        page = await r.text()
    assert r.status == 200 and "<svg" in page and "<?xml" not in page
    assert "<details" in page and "R1" in page  # the reinforcing loop, to open
    assert t("nl", "web.questions_heading") in page
    for fmt, kind in (("json", "application/json"), ("graphml", "application/xml"),
                      ("svg", "image/svg+xml")):  # fmt: skip
        async with site.session.get(f"{base}.{fmt}", headers=cookie) as r:
            assert r.status == 200 and r.content_type == kind, fmt
            assert "wachtlijst" in await r.text()
    async with site.session.get(f"{base}.exe", headers=cookie) as r:
        assert r.status == 404
