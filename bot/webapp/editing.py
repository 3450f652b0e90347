"""The web's pages that change what is planned and commitments: each shows the chat's own
form, previews a change by running the core's own flow in the page's transaction (never
committed: what it says is what saving says), and saves by sending the chat's form or button
to the core (Pages.through_core). The routes and their seats are declared in Pages."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.webapp.pages import Pages, Viewer, field_kind, said
from handlers import dashboard
from handlers.context import MAX_TEXT, Context, Refusal
from handlers.messages import ActionTaken, DateInput, Form, FormSubmitted, TextInput
from handlers.model import Commitment, Person, Team, id_of
from handlers.plan import moment_text
from handlers.ports import UnitOfWork
from handlers.replanning import edit_series_form, edit_session_form, planned_session, team_series
from handlers.series import recurrence_key
from handlers.when import day_text
from prompts.catalog import t


class Editing:
    def __init__(self, pages: Pages) -> None:
        self.pages = pages

    async def session_form(
        self, request: web.Request, uow: UnitOfWork, viewer: Viewer | None
    ) -> web.StreamResponse:
        assert viewer is not None
        team = await dashboard.team(uow, int(request.match_info["team"]))
        ref = request.match_info["session"]
        ctx = await self._planning(uow, viewer, team)
        try:
            session = await planned_session(ctx, ref)
        except Refusal as refusal:
            return self._refused(viewer, team, [t(viewer.lang, refusal.key, **refusal.params)])
        values = {"title": session.title, "question": session.question, "mode": session.mode}
        if session.starts_at is not None:
            values["starts_at"] = _local_input(session.starts_at, viewer.person)
        return self._edit_page(viewer, team, "edit_session", session.id, session.title, values)

    async def session_change(
        self, request: web.Request, uow: UnitOfWork, viewer: Viewer | None
    ) -> web.StreamResponse:
        return await self._change(request, uow, viewer, "edit_session", "session")

    async def series_form(
        self, request: web.Request, uow: UnitOfWork, viewer: Viewer | None
    ) -> web.StreamResponse:
        assert viewer is not None
        team = await dashboard.team(uow, int(request.match_info["team"]))
        ctx = await self._planning(uow, viewer, team)
        try:
            series = await team_series(ctx, request.match_info["series"])
        except Refusal as refusal:
            return self._refused(viewer, team, [t(viewer.lang, refusal.key, **refusal.params)])
        values = {"recurrence": recurrence_key(series.rrule),
                  "mode": "async" if series.round_days else "live"}  # fmt: skip
        if series.active:
            values["state"] = "go_on"
        return self._edit_page(viewer, team, "edit_series", series.id, series.title, values)

    async def series_change(
        self, request: web.Request, uow: UnitOfWork, viewer: Viewer | None
    ) -> web.StreamResponse:
        return await self._change(request, uow, viewer, "edit_series", "series")

    async def _planning(self, uow: UnitOfWork, viewer: Viewer, team: Team) -> Context:
        coulisse = self.pages.app.coulisse
        return await dashboard.planning_context(
            uow, coulisse.clock, viewer.person, id_of(team), coulisse.policy
        )

    async def _change(
        self, request: web.Request, uow: UnitOfWork, viewer: Viewer | None, form_id: str, of: str
    ) -> web.StreamResponse:
        """Preview (the core's own flow in this transaction, never committed: what it says is
        what saving will say) or save (the chat's form, through the core)."""
        assert viewer is not None
        team = await dashboard.team(uow, int(request.match_info["team"]))
        ref = request.match_info[of]
        lang = viewer.lang
        ctx = await self._planning(uow, viewer, team)
        try:  # its title for the heading; refused when it started or is not this team's
            found = await (planned_session(ctx, ref) if of == "session" else team_series(ctx, ref))
        except Refusal as refusal:
            return self._refused(viewer, team, [t(lang, refusal.key, **refusal.params)])
        title = found.title
        posted = await request.post()
        names = [f.name for f in _edit_form(form_id, lang).fields]
        values = {n: str(posted.get(n, "")).strip() for n in names if posted.get(n)}
        start = getattr(found, "starts_at", None)
        if start is not None and values.get("starts_at") == _local_input(start, viewer.person):
            del values["starts_at"]  # as shown: not checked again (it may have passed)
        page = partial(self._edit_page, viewer, team, form_id, found.id, title, values)
        if posted.get("action") != "save":
            try:
                lines = await dashboard.preview_change(ctx, form_id, ref, values)
            except Refusal as refusal:
                problem = [t(lang, refusal.key, **refusal.params)]
                return page(status=400, heading=t(lang, "web.problem_heading"), lines=problem)
            return page(heading=t(lang, "web.edit_preview_heading"), lines=lines, can_save=True)
        outcome = await self.pages.through_core(
            uow, viewer, team,
            lambda actor, place: FormSubmitted(form_id, values, actor, place, context=ref),
        )  # fmt: skip
        if outcome.refused:
            return page(status=400, heading=t(lang, "web.problem_heading"), lines=said(outcome))
        return self._saved(viewer, team, said(outcome))

    async def session_cancel(
        self, request: web.Request, uow: UnitOfWork, viewer: Viewer | None
    ) -> web.StreamResponse:
        """Asked once more on a page of its own; then the chat's own cancel, through the core."""
        assert viewer is not None
        team = await dashboard.team(uow, int(request.match_info["team"]))
        ref = request.match_info["session"]
        lang = viewer.lang
        posted = await request.post()
        if posted.get("confirm") != "yes":
            ctx = await self._planning(uow, viewer, team)
            try:
                session = await planned_session(ctx, ref)
            except Refusal as refusal:
                return self._refused(viewer, team, [t(lang, refusal.key, **refusal.params)])
            when = (moment_text(lang, session.starts_at, viewer.person.timezone)
                    if session.starts_at else t(lang, "sessions.when_started"))  # fmt: skip
            return self.pages.render("confirm.html", lang, viewer, team=team, session=session,
                               when=when)  # fmt: skip
        outcome = await self.pages.through_core(
            uow, viewer, team, lambda actor, place: ActionTaken("cancel_session", ref, actor, place)
        )
        if outcome.refused:
            return self._refused(viewer, team, said(outcome))
        return self._saved(viewer, team, said(outcome))

    def _edit_page(
        self,
        viewer: Viewer,
        team: Team,
        form_id: str,
        number: int | None,
        title: str,
        values: dict[str, str],
        *,
        status: int = 200,
        heading: str = "",
        lines: list[str] | None = None,
        can_save: bool = False,
    ) -> web.Response:
        lang = viewer.lang
        base = f"/web/teams/{team.id}"
        action = (f"{base}/sessions/{number}" if form_id == "edit_session"
                  else f"{base}/series/{number}/edit")  # fmt: skip
        key = "web.edit_session_heading" if form_id == "edit_session" else "web.edit_series_heading"
        return self.pages.render(
            "edit.html",
            lang,
            viewer,
            status=status,
            title=t(lang, key, title=title),
            intro=t(lang, "web.edit_intro", zone=viewer.person.timezone),
            action=action,
            fields=_edit_form(form_id, lang).fields,
            values=values,
            kind=field_kind,
            heading=heading,
            lines=lines or [],
            can_save=can_save,
            preview=t(lang, "web.edit_preview_button"),
            save=t(lang, "web.edit_save_button"),
            cancel=f"{action}/cancel" if form_id == "edit_session" else "",
            back=(f"{base}/plan", t(lang, "web.back_to_plan", team=team.name)),
        )

    def _refused(self, viewer: Viewer, team: Team, lines: list[str]) -> web.Response:
        lang = viewer.lang
        return self.pages.render(
            "message.html", lang, viewer, status=400,
            heading=t(lang, "web.problem_heading"), lines=lines,
            back=(f"/web/teams/{team.id}/plan", t(lang, "web.back_to_plan", team=team.name)),
        )  # fmt: skip

    def _saved(self, viewer: Viewer, team: Team, lines: list[str]) -> web.Response:
        lang = viewer.lang
        return self.pages.render(
            "message.html", lang, viewer, heading=t(lang, "web.saved_heading"), lines=lines,
            back=(f"/web/teams/{team.id}/plan", t(lang, "web.back_to_plan", team=team.name)),
        )  # fmt: skip

    # --- commitments: edit and hand over -----------------------------------------------------

    def _commitment_fields(self, lang: str) -> tuple[TextInput | DateInput, ...]:
        return (
            TextInput("text", t(lang, "web.commitment_text_label"), multiline=True,
                      max_length=MAX_TEXT, optional=True),
            DateInput("due", t(lang, "web.commitment_due_label"), optional=True),
            TextInput("owner", t(lang, "web.commitment_owner_label"), max_length=200,
                      optional=True),
        )  # fmt: skip

    async def _commitment(
        self, request: web.Request, uow: UnitOfWork, viewer: Viewer
    ) -> tuple[Team, Commitment]:
        """The team and the commitment the path names, if this person may change it (else
        the Refusal saying why)."""
        team = await dashboard.team(uow, int(request.match_info["team"]))
        ref = request.match_info["commitment"]
        seat = viewer.seats[id_of(team)]
        return team, await dashboard.commitment_to_edit(uow, viewer.person, id_of(team), ref, seat)

    def _commitment_page(
        self, viewer: Viewer, team: Team, commitment: Commitment, values: dict[str, str],
        *, status: int = 200, heading: str = "", lines: list[str] | None = None,
    ) -> web.Response:  # fmt: skip
        lang = viewer.lang
        return self.pages.render(
            "edit.html",
            lang,
            viewer,
            status=status,
            title=t(lang, "web.commitment_edit_heading", number=commitment.id),
            intro=t(lang, "web.commitment_edit_intro"),
            action=f"/web/teams/{team.id}/commitments/{commitment.id}",
            fields=self._commitment_fields(lang),
            values=values,
            kind=field_kind,
            heading=heading,
            lines=lines or [],
            can_save=True,
            preview="",
            save=t(lang, "web.commitment_save_button"),
            cancel="",
            back=("/web/commitments", t(lang, "web.back_to_commitments")),
        )

    async def commitment_form(
        self, request: web.Request, uow: UnitOfWork, viewer: Viewer | None
    ) -> web.StreamResponse:
        assert viewer is not None
        try:
            team, found = await self._commitment(request, uow, viewer)
        except Refusal as refusal:
            return self._cannot(viewer, refusal)
        values = {"text": found.text, "due": found.due_date.isoformat()}
        return self._commitment_page(viewer, team, found, values)

    def _cannot(self, viewer: Viewer, refusal: Refusal) -> web.Response:
        lang = viewer.lang
        statuses = {"errors.not_your_commitment": 403, "commitments.unknown": 404}
        status = statuses.get(refusal.key, 400)  # finished: it stays as it is
        return self.pages.render(
            "message.html", lang, viewer, status=status, heading=t(lang, "web.problem_heading"),
            lines=[t(lang, refusal.key, **refusal.params)],
            back=("/web/commitments", t(lang, "web.back_to_commitments")),
        )  # fmt: skip

    async def commitment_change(
        self, request: web.Request, uow: UnitOfWork, viewer: Viewer | None
    ) -> web.StreamResponse:
        """The chat's own `edit_commitment` form, through the core (which decides whose it is
        again), with only what changed: a date left as it was is not checked again (an overdue
        one would be "in the past"). The page says it without anyone's name."""
        assert viewer is not None
        try:
            team, found = await self._commitment(request, uow, viewer)
        except Refusal as refusal:
            return self._cannot(viewer, refusal)
        ref = str(found.id)
        posted = await request.post()
        shown = {"text": found.text, "due": found.due_date.isoformat(), "owner": ""}
        values = {
            name: str(posted.get(name, "")).strip()
            for name in shown
            if str(posted.get(name, "")).strip() not in ("", shown[name])
        }
        outcome = await self.pages.through_core(
            uow, viewer, team,
            lambda actor, place: FormSubmitted("edit_commitment", values, actor, place,
                                               context=ref),
        )  # fmt: skip
        lang = viewer.lang
        if outcome.refused:
            kept = {**shown, **values}
            return self._commitment_page(viewer, team, found, kept, status=400,
                                         heading=t(lang, "web.problem_heading"),
                                         lines=said(outcome))  # fmt: skip
        async with self.pages.app.uow() as again:
            now = await again.get(Commitment, id_of(found))
        assert now is not None
        lines = [t(lang, "web.commitment_saved", number=now.id, text=now.text,
                   due=day_text(lang, now.due_date))]  # fmt: skip
        if "owner" in values:
            lines.append(t(lang, "web.commitment_handed_over"))
        return self.pages.render(
            "message.html", lang, viewer, heading=t(lang, "web.saved_heading"), lines=lines,
            back=("/web/commitments", t(lang, "web.back_to_commitments")),
        )  # fmt: skip


def _edit_form(form_id: str, lang: str) -> Form:
    return edit_session_form(lang) if form_id == "edit_session" else edit_series_form(lang)


def _local_input(moment: datetime, person: Person) -> str:
    """A moment as a datetime-local control shows it: in the person's zone, to the minute."""
    return moment.astimezone(ZoneInfo(person.timezone)).strftime("%Y-%m-%dT%H:%M")
