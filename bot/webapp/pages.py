"""The web view's routes: each declares who may open it, and the guard checks that before the
page runs. Pages read through handlers/dashboard.py and change things only by sending the
core the same form a chat would (a new session is `new_session`, as in Slack and Teams)."""

from __future__ import annotations

import asyncio
import hmac
import re
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from bot.export import diagram, mapfiles
from bot.export.chart import follow_through_svg
from bot.export.files import FORMATS, ExportTarget, NothingToExport, export_file
from bot.webapp import WebView, assets, tabs
from bot.wiring import App
from handlers import dashboard
from handlers.context import Refusal
from handlers.dashboard import LinkProblem, Seat
from handlers.messages import (
    ActionTaken,
    Actor,
    DateInput,
    DateTimeInput,
    Event,
    FormSubmitted,
    Outcome,
    PeopleInput,
    Place,
    Select,
    TextInput,
    To,
)
from handlers.model import Person, Team, id_of
from handlers.ports import UnitOfWork
from handlers.series_report import FOLLOW_THROUGH
from handlers.sessions import new_session_form
from prompts.catalog import LANGUAGES, language, t

HERE = Path(__file__).parent
COOKIE = "coulisse_web"
# The map's files: Kumu's JSON, GraphML (Gephi, yEd), the picture as SVG and PNG.
MAP_FILES = {
    "json": "application/json",
    "graphml": "application/xml",
    "svg": "image/svg+xml",
    "png": "image/png",
}
_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,  # everything people typed is escaped
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

SIGNED_IN = frozenset(Seat)  # any signed-in person (the page itself shows only their own)
# Sign-in links tried from one address: at most this many a minute (guessing a link is hopeless
# anyway — it is signed — but a flood of tries costs the database a look-up each).
TRIES_A_MINUTE = 10


@dataclass
class Viewer:
    person: Person
    csrf: str
    secret: str
    seats: dict[int, Seat]

    @property
    def lang(self) -> str:
        return self.person.locale


Page = Callable[[web.Request, UnitOfWork, Viewer | None], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    page: Page
    # None: open to anyone; SIGNED_IN: any signed-in person; else the seats in the team named
    # by the path's {team} that may open it.
    seats: frozenset[Seat] | None
    writes: bool = False  # a form POST: the session's CSRF token must come with it
    database: bool = True  # False: served without opening a transaction (the style sheet)


class Pages:
    def __init__(self, app: App, view: WebView) -> None:
        self.app = app
        self.view = view
        self.links = dashboard.Links(view.key.encode(), view.base_url)
        self._tries: dict[str, deque[float]] = {}
        from bot.webapp.editing import Editing  # it builds on these pages (render, the core)

        editing = Editing(self)
        coordinator, member = (
            frozenset({Seat.COORDINATOR}),
            frozenset({Seat.COORDINATOR, Seat.PARTICIPANT}),
        )
        self.routes = (
            Route("GET", "/web/", self.teams, SIGNED_IN),
            Route("GET", "/web/commitments", self.commitments, SIGNED_IN),
            Route("GET", "/web/in", self.enter, None),
            Route("POST", "/web/out", self.leave, SIGNED_IN, writes=True),
            Route("GET", "/web/teams/{team}/plan", self.plan_form, coordinator),
            Route("POST", "/web/teams/{team}/plan", self.plan, coordinator, writes=True),
            # Changing what is planned (coordinators) and commitments (the core decides whose).
            Route("GET", "/web/teams/{team}/sessions/{session}", editing.session_form, coordinator),
            Route(
                "POST",
                "/web/teams/{team}/sessions/{session}",
                editing.session_change,
                coordinator,
                writes=True,
            ),
            Route(
                "POST",
                "/web/teams/{team}/sessions/{session}/cancel",
                editing.session_cancel,
                coordinator,
                writes=True,
            ),
            Route(
                "GET", "/web/teams/{team}/series/{series}/edit", editing.series_form, coordinator
            ),
            Route(
                "POST",
                "/web/teams/{team}/series/{series}/edit",
                editing.series_change,
                coordinator,
                writes=True,
            ),
            Route(
                "GET", "/web/teams/{team}/commitments/{commitment}", editing.commitment_form, member
            ),
            Route(
                "POST",
                "/web/teams/{team}/commitments/{commitment}",
                editing.commitment_change,
                member,
                writes=True,
            ),
            Route("GET", "/web/teams/{team}/work", self.work, member),
            Route("GET", "/web/teams/{team}/map", self.map, member),
            Route("GET", "/web/teams/{team}/map.{fmt}", self.map_file, member),
            Route("POST", "/web/teams/{team}/checkin", self.check_in, member, writes=True),
            Route("GET", "/web/teams/{team}/series/{series}.ics", self.calendar, member),
            Route(
                "GET",
                "/web/teams/{team}/series/{series}/summary.{fmt}",
                self.summary,
                frozenset({Seat.COORDINATOR, Seat.READER}),
            ),
            Route("GET", "/web/static/{name}", self.static, None, database=False),
            Route("GET", "/web/tab", self.tab, None),
            Route("GET", "/web/tab/config", tabs.configuration(self), None),
            Route("GET", "/web/feed/{series}/{mac}.ics", self.feed, None),
            Route("POST", "/web/tab/sso", self.tab_sign_in, None),
        )

    def register(self, web_app: web.Application) -> None:
        for route in self.routes:
            web_app.router.add_route(route.method, route.path, self.guarded(route))
        web_app.on_response_prepare.append(self._headers)

    # --- the guard ---------------------------------------------------------------------------

    def guarded(self, route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            if not route.database:
                return await route.page(request, None, None)  # type: ignore[arg-type]
            async with self.app.uow() as uow:
                viewer = await self._viewer(request, uow)
                if route.seats is None:
                    return await route.page(request, uow, viewer)
                if viewer is None:
                    return self._message(_accepted(request), None, "sign_in", 401)
                if route.writes:
                    form = await request.post()
                    if not hmac.compare_digest(str(form.get("csrf", "")), viewer.csrf):
                        return self._message(viewer.lang, viewer, "csrf", 403)
                if "team" in request.match_info:
                    team = request.match_info["team"]
                    seat = viewer.seats.get(int(team)) if team.isdigit() else None
                    if seat not in route.seats:
                        return self._message(viewer.lang, viewer, "forbidden", 403)
                return await route.page(request, uow, viewer)

        return handle

    async def _viewer(self, request: web.Request, uow: UnitOfWork) -> Viewer | None:
        secret = request.cookies.get(COOKIE, "")
        found = await dashboard.signed_in(uow, secret, self.app.coulisse.clock.now())
        if found is None:
            return None
        person, csrf = found
        return Viewer(person, csrf, secret, await dashboard.seats(uow, id_of(person)))

    def _message(
        self, lang: str, viewer: Viewer | None, why: str, status: int, *more: str
    ) -> web.Response:
        """A page that says one thing: `web.{why}_heading` over `web.{why}` (and `more`)."""
        return self.render(
            "message.html",
            lang,
            viewer,
            status=status,
            heading=t(lang, f"web.{why}_heading"),
            lines=[t(lang, f"web.{why}"), *more],
        )

    async def _headers(self, request: web.Request, response: web.StreamResponse) -> None:
        if not request.path.startswith("/web/"):
            return
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; "  # the tab's script posts its Teams token (tab.js)
            "form-action 'self'; base-uri 'none'; "
            f"frame-ancestors 'self' {self.view.frame_ancestors}"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"  # a link's token stays out of logs
        if not request.path.startswith("/web/static/"):
            response.headers["Cache-Control"] = "no-store"

    def render(
        self, name: str, lang: str, viewer: Viewer | None, *, status: int = 200, **values: Any
    ) -> web.Response:
        def w(key: str, **params: Any) -> str:
            return t(lang, f"web.{key}", **params)

        html = _env.get_template(name).render(
            w=w,
            lang=lang,
            viewer=viewer,
            csrf=viewer.csrf if viewer else "",
            theme=self.view.theme.css_class,
            **values,
        )
        return web.Response(text=html, status=status, content_type="text/html")

    # --- signing in and out ------------------------------------------------------------------

    def _too_many(self, request: web.Request) -> bool:
        now = time.monotonic()
        tries = self._tries.setdefault(request.remote or "", deque())
        while tries and tries[0] < now - 60:
            tries.popleft()
        if len(tries) >= TRIES_A_MINUTE:
            return True
        tries.append(now)
        if len(self._tries) > 10_000:  # addresses that went quiet
            self._tries = {k: v for k, v in self._tries.items() if v and v[-1] > now - 60}
        return False

    async def enter(
        self, request: web.Request, uow: UnitOfWork, _v: Viewer | None
    ) -> web.StreamResponse:
        if self._too_many(request):
            return self._message(_accepted(request), None, "slow", 429)
        token = request.query.get("t", "")
        now = self.app.coulisse.clock.now()
        found = await dashboard.redeem(uow, self.links, token, now)
        if isinstance(found, LinkProblem):
            await uow.rollback()
            person = await dashboard.person(uow, self.links.person_of(token))
            lang = person.locale if person is not None else _accepted(request)
            return self._message(lang, None, f"link_{found}", 403, t(lang, "web.ask_new"))
        await uow.commit()
        response = web.Response(status=303, headers={"Location": "/web/"})
        return self._with_session(response, found.secret, framed=False)

    def _with_session(self, response: web.Response, secret: str, *, framed: bool) -> web.Response:
        """The session's cookie on `response`. `framed`: for the Teams tab, a frame on another
        site, so SameSite=None, which browsers take only with Secure, and Partitioned (CHIPS):
        kept for this server inside Teams only, the one way a browser that blocks third-party
        cookies still keeps it (tests/test_web_teams_js.py)."""
        age = dashboard.SESSION_HOURS * 3600
        if framed:  # written out: http.cookies knows Partitioned only from Python 3.14
            response.headers.add(
                "Set-Cookie",
                f"{COOKIE}={secret}; HttpOnly; Max-Age={age}; Path=/web/; SameSite=None; "
                "Secure; Partitioned",
            )
            return response
        response.set_cookie(
            COOKIE,
            secret,
            max_age=age,
            path="/web/",
            httponly=True,
            secure=self.view.secure,
            samesite="Lax",
        )
        return response

    async def leave(
        self, _r: web.Request, uow: UnitOfWork, viewer: Viewer | None
    ) -> web.StreamResponse:
        assert viewer is not None
        await dashboard.sign_out(uow, viewer.secret)
        await uow.commit()
        lang = viewer.lang
        response = self.render(
            "message.html",
            lang,
            None,
            heading=t(lang, "web.sign_in_heading"),
            lines=[t(lang, "web.signed_out")],
        )
        response.del_cookie(COOKIE, path="/web/")
        return response

    async def tab(
        self, request: web.Request, _u: UnitOfWork, viewer: Viewer | None
    ) -> web.StreamResponse:
        """The Teams tab's first page: its script asks Teams for a token (single sign-on) and
        comes back signed in; signed in already, it goes straight on."""
        if viewer is not None:
            return web.Response(status=303, headers={"Location": "/web/"})
        lang = _accepted(request)
        return self.render("tab.html", lang, None)

    async def tab_sign_in(
        self, request: web.Request, uow: UnitOfWork, _v: Viewer | None
    ) -> web.StreamResponse:
        """`Authorization: Bearer <Entra ID token>` from the tab: a web session for the Teams
        person it names. The cookie is SameSite=None (the tab is a frame inside Teams, another
        site), so Secure too; every form still needs the session's CSRF token."""
        if self.view.sso is None:
            return web.json_response({"signed_in": False}, status=404)
        from bot.webapp.sso import Invalid  # loaded once SSO is on: PyJWT, cryptography (8.6 MiB)

        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        try:
            if scheme.lower() != "bearer":
                raise Invalid("no bearer token")
            claims = await self.view.sso.verify(token.strip())
        except Invalid:
            return web.json_response({"signed_in": False}, status=401)
        person = await dashboard.person_in_teams(uow, claims.tenant, claims.object_id)
        if person is None:
            return web.json_response({"signed_in": False}, status=403)
        signed = await dashboard.open_session(uow, id_of(person), self.app.coulisse.clock.now())
        await uow.commit()
        return self._with_session(
            web.json_response({"signed_in": True}), signed.secret, framed=True
        )

    # --- pages -------------------------------------------------------------------------------

    async def teams(
        self, _r: web.Request, uow: UnitOfWork, viewer: Viewer | None
    ) -> web.StreamResponse:
        assert viewer is not None
        now = self.app.coulisse.clock.now()
        today = now.astimezone(_zone(viewer.person)).date()
        cards = await dashboard.my_teams(uow, viewer.person, today, now)
        lang = viewer.lang
        labels = {k: t(lang, f"export.follow_through.{k}") for k in FOLLOW_THROUGH}
        charts = {
            (card.team_id, trend.series_id): follow_through_svg(
                trend.rows, labels, t(lang, "web.trend_heading", title=trend.title)
            )
            for card in cards
            for trend in card.trends
            if trend.rows
        }
        return self.render(
            "teams.html",
            lang,
            viewer,
            cards=cards,
            charts=charts,
            formats=FORMATS,
            feed=self.links.feed,
            labels=labels,
            keys=FOLLOW_THROUGH,
        )

    async def commitments(
        self, request: web.Request, uow: UnitOfWork, viewer: Viewer | None
    ) -> web.StreamResponse:
        assert viewer is not None
        team = request.query.get("team", "")
        status = request.query.get("status", "")
        chosen = dashboard.Filter(
            int(team) if team.isdigit() else None,
            status if status in dashboard.STATUSES else "",
            request.query.get("soon") == "1",
        )
        now = self.app.coulisse.clock.now()
        today = now.astimezone(_zone(viewer.person)).date()
        rows = await dashboard.commitments_of(uow, viewer.person, chosen, today)
        teams = [
            (team_id, found.name)
            for team_id, seat in sorted(viewer.seats.items())
            if seat != Seat.READER and (found := await dashboard.team(uow, team_id))
        ]
        lang = viewer.lang
        statuses = [
            (s, t(lang, "web.overdue" if s == "overdue" else f"commitments.statuses.{s}"))
            for s in dashboard.STATUSES
        ]
        return self.render(
            "commitments.html",
            lang,
            viewer,
            rows=rows,
            teams=teams,
            statuses=statuses,
            chosen=chosen,
        )

    async def map(
        self, request: web.Request, uow: UnitOfWork, viewer: Viewer | None
    ) -> web.StreamResponse:
        """The team's causal map: the picture (Graphviz when there, else the plain drawing),
        each loop to open for its sentence, the questions it raises, and its files."""
        assert viewer is not None
        team = await dashboard.team(uow, int(request.match_info["team"]))
        view = await dashboard.map_view(uow, id_of(team), viewer.lang, self.app.coulisse.bounds)
        picture = ""
        if view.diagram is not None:  # drawing runs a program: off the event loop
            picture = _svg_only(await asyncio.to_thread(diagram.svg, view.diagram))
        return self.render(
            "map.html", viewer.lang, viewer, team=team, view=view, picture=picture, files=MAP_FILES
        )

    async def map_file(
        self, request: web.Request, uow: UnitOfWork, viewer: Viewer | None
    ) -> web.StreamResponse:
        assert viewer is not None
        fmt = request.match_info["fmt"]
        team = await dashboard.team(uow, int(request.match_info["team"]))
        view = await dashboard.map_view(uow, id_of(team), viewer.lang, self.app.coulisse.bounds)
        body: bytes | None = None
        if view.diagram is not None and fmt in MAP_FILES:
            loaded = mapfiles.from_team_map(view.team_map)
            if fmt == "svg":
                body = (await asyncio.to_thread(diagram.svg, view.diagram)).encode()
            elif fmt == "png":
                body = await asyncio.to_thread(diagram.png, view.diagram)
            elif fmt == "json":
                body = mapfiles.to_kumu(loaded).encode()
            else:
                body = mapfiles.to_graphml(loaded).encode()
        if body is None:
            return self._message(viewer.lang, viewer, "not_found", 404)
        return web.Response(
            body=body,
            content_type=MAP_FILES[fmt],
            headers={"Content-Disposition": f'attachment; filename="causal-map.{fmt}"'},
        )

    async def work(
        self, request: web.Request, uow: UnitOfWork, viewer: Viewer | None
    ) -> web.StreamResponse:
        assert viewer is not None
        team = await dashboard.team(uow, int(request.match_info["team"]))
        found = await dashboard.team_work(uow, viewer.person, id_of(team))
        return self.render("work.html", viewer.lang, viewer, team=team, work=found)

    async def calendar(
        self, request: web.Request, uow: UnitOfWork, viewer: Viewer | None
    ) -> web.StreamResponse:
        team_id, number = int(request.match_info["team"]), request.match_info["series"]
        now = self.app.coulisse.clock.now()
        body = (
            await dashboard.calendar(uow, team_id, int(number), now) if number.isdigit() else None
        )
        if body is None:
            assert viewer is not None
            return self._message(viewer.lang, viewer, "not_found", 404)
        return web.Response(
            text=body,
            content_type="text/calendar",
            headers={"Content-Disposition": f'attachment; filename="series-{number}.ics"'},
        )

    async def summary(
        self, request: web.Request, uow: UnitOfWork, viewer: Viewer | None
    ) -> web.StreamResponse:
        """The series' summary in one of the export's formats, always without names: the very
        file the chat's `export` sends (bot/export/), for the coordinator and the reader."""
        assert viewer is not None
        team_id, number = int(request.match_info["team"]), request.match_info["series"]
        fmt = request.match_info["fmt"]
        series = int(number) if number.isdigit() else 0
        found = fmt in FORMATS and await dashboard.series_of_team(uow, team_id, series)
        now = self.app.coulisse.clock.now()
        try:
            if not found:
                raise NothingToExport(series)
            today = now.astimezone(_zone(viewer.person)).date()
            target = ExportTarget("series", series)
            made = await export_file(uow, target, fmt, viewer.lang, today, names=False)
        except NothingToExport:
            return self._message(viewer.lang, viewer, "not_found", 404)
        return web.Response(
            body=made.data,
            content_type=made.media_type.split(";")[0],
            headers={"Content-Disposition": f'attachment; filename="{made.filename}"'},
        )

    async def feed(
        self, request: web.Request, uow: UnitOfWork, _v: Viewer | None
    ) -> web.StreamResponse:
        """A series' calendar for a calendar app: its secret address is the permission."""
        number, mac = request.match_info["series"], request.match_info["mac"]
        series = int(number) if number.isdigit() else 0
        body = None
        if series and self.links.feed_ok(series, mac):
            body = await dashboard.calendar(uow, None, series, self.app.coulisse.clock.now())
        if body is None:
            raise web.HTTPNotFound()
        return web.Response(text=body, content_type="text/calendar")

    async def plan_form(
        self, request: web.Request, uow: UnitOfWork, viewer: Viewer | None
    ) -> web.StreamResponse:
        assert viewer is not None
        team = await dashboard.team(uow, int(request.match_info["team"]))
        planned = await dashboard.planned(uow, id_of(team), viewer.person)
        return self._plan_page(viewer, team, {}, planned=planned)

    def _plan_page(
        self,
        viewer: Viewer,
        team: Team,
        values: dict[str, str],
        *,
        status: int = 200,
        heading: str = "",
        lines: list[str] | None = None,
        can_save: bool = False,
        planned: list[dashboard.Planned] | None = None,
    ) -> web.Response:
        form = new_session_form(viewer.lang)
        fields = [f for f in form.fields if not isinstance(f, PeopleInput)]
        return self.render(
            "plan.html",
            viewer.lang,
            viewer,
            team=team,
            fields=fields,
            values=values,
            zone=viewer.person.timezone,
            heading=heading,
            lines=lines or [],
            can_save=can_save,
            kind=field_kind,
            status=status,
            planned=planned,
        )

    async def plan(
        self, request: web.Request, uow: UnitOfWork, viewer: Viewer | None
    ) -> web.StreamResponse:
        assert viewer is not None
        team = await dashboard.team(uow, int(request.match_info["team"]))
        posted = await request.post()
        names = [f.name for f in new_session_form(viewer.lang).fields]
        values = {n: str(posted.get(n, "")).strip() for n in names if posted.get(n)}
        lang = viewer.lang
        if posted.get("action") != "save":
            ctx = await dashboard.planning_context(
                uow, self.app.coulisse.clock, viewer.person, id_of(team), self.app.coulisse.policy
            )
            try:
                lines = await dashboard.preview(ctx, values)  # reads only; nothing is kept
            except Refusal as refusal:
                return self._plan_page(
                    viewer,
                    team,
                    values,
                    status=400,
                    heading=t(lang, "web.problem_heading"),
                    lines=[t(lang, refusal.key, **refusal.params)],
                )
            return self._plan_page(
                viewer,
                team,
                values,
                heading=t(lang, "web.preview_heading"),
                lines=lines,
                can_save=True,
            )
        outcome = await self.through_core(
            uow,
            viewer,
            team,
            lambda actor, place: FormSubmitted("new_session", values, actor, place),
        )
        lines = said(outcome)
        if outcome.refused:
            return self._plan_page(
                viewer,
                team,
                values,
                status=400,
                heading=t(lang, "web.problem_heading"),
                lines=lines,
            )
        return self.render(
            "message.html", lang, viewer, heading=t(lang, "web.saved_heading"), lines=lines
        )

    async def through_core(
        self, uow: UnitOfWork, viewer: Viewer, team: Team, event: Callable[[Actor, Place], Event]
    ) -> Outcome:
        """Do it as the chat would: the event goes to the core as from the team's channel, and
        what the core says to the channel goes there (through the outbox)."""
        actor, place = await dashboard.as_in_chat(uow, viewer.person, team)
        # Only read so far; the core's own transaction does the work (SQLite has one writer).
        await uow.commit()
        made = event(actor, place)
        outcome = await self.app.coulisse.handle(replace(made, event_key=f"web:{uuid.uuid4()}"))
        for index, reply in enumerate(outcome.replies):
            if reply.to == To.CHANNEL:
                await self.app.coulisse.later(outcome, reply, index)
        return outcome

    async def check_in(
        self, request: web.Request, uow: UnitOfWork, viewer: Viewer | None
    ) -> web.StreamResponse:
        """A check-in on one's own commitment: the chat's own `checkin` button, so the core
        decides whose it is, and the team hears of a stuck one as it would from the chat."""
        assert viewer is not None
        team = await dashboard.team(uow, int(request.match_info["team"]))
        posted = await request.post()
        value = f"{posted.get('commitment', '')}:{posted.get('status', '')}"
        outcome = await self.through_core(
            uow, viewer, team, lambda actor, place: ActionTaken("checkin", value, actor, place)
        )
        lines = said(outcome)
        lang = viewer.lang
        heading = t(lang, "web.problem_heading" if outcome.refused else "web.saved_heading")
        return self.render(
            "message.html",
            lang,
            viewer,
            status=400 if outcome.refused else 200,
            heading=heading,
            lines=lines,
            back=(f"/web/teams/{team.id}/work", t(lang, "web.work_link", team=team.name)),
        )

    async def static(
        self, request: web.Request, _u: UnitOfWork, _v: Viewer | None
    ) -> web.StreamResponse:
        return assets.serve(request.match_info["name"], self.view.theme)


def field_kind(field: object) -> str:
    """The HTML control for a form field of the core."""
    if isinstance(field, DateTimeInput):
        return "datetime"
    if isinstance(field, DateInput):
        return "date"
    if isinstance(field, Select):
        return "select"
    assert isinstance(field, TextInput)
    return "textarea" if field.multiline else "text"


def _svg_only(markup: str) -> str:
    """The <svg> element alone, for inlining (Graphviz starts with an XML prologue and a
    doctype, and writes comments)."""
    start = markup.find("<svg")
    return re.sub(r"<!--.*?-->", "", markup[start:], flags=re.DOTALL) if start >= 0 else ""


def said(outcome: Outcome) -> list[str]:
    """What the core said to the person who acted, line by line."""
    return [
        line for r in outcome.replies if r.to == To.ACTOR for line in dashboard.texts(r.message)
    ]


def _zone(person: Person) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(person.timezone)


def _accepted(request: web.Request) -> str:
    """The first of our languages the browser asks for (pages before anyone signed in)."""
    for part in request.headers.get("Accept-Language", "").split(","):
        code = part.split(";")[0].strip()[:2].lower()
        if code in LANGUAGES:
            return code
    return language(None)
