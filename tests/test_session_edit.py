"""Changing what is planned: a coordinator moves a planned session, changes its title or way
of running, cancels it, or changes a series; what was queued for the old time goes (nothing
fires then, nothing twice), the new plan is said back, the team is told in the channel. A
session that started cannot move, a date that cannot be read is answered politely in the
person's language, and a participant cannot change any of it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.clock import ManualClock
from bot.slack import blocks
from bot.wiring import App
from handlers.context import Refusal
from handlers.etiquette import NudgePolicy
from handlers.messages import Command, FormSubmitted, To
from handlers.model import OutboxStatus, RoundStatus, Series, Session, SessionStatus
from handlers.plan import moment_text, team_calendar, why_not_working
from handlers.replanning import edit_series_form, edit_session_form
from handlers.series import recurrence_key
from handlers.when import parse_moment
from prompts.catalog import t
from tests.driver import Driver, team_of
from tests.slack_limits import view_problems

AMS = ZoneInfo("Europe/Amsterdam")
ZONE = "Europe/Amsterdam"


async def planned(d: Driver, **values: str) -> Session:
    await team_of(d, "Sanne", "Ahmed", "Fleur")
    reply = await d.form("Sanne", "new_session", title="Wijk Noord", question="Wat nu?",
                         format="retro", **values)  # fmt: skip
    assert "Wijk Noord" in reply and Refusal.__name__ not in reply, reply
    return await only_session(d.app)


async def submit(d: Driver, who: str, form_id: str, context: str, **values: str) -> str:
    """A form about one session or series (its number is the form's context, as the web and
    a Slack modal send it)."""
    outcome = await d.app.coulisse.handle(
        FormSubmitted(form_id, values, d.actor(who), d.place, context=context)
    )
    return d.text(outcome.messages)


async def only_session(app: App) -> Session:
    async with app.uow() as uow:
        sessions = [s for s in await uow.sessions.for_team(1) if s.status == SessionStatus.DRAFT]
    assert len(sessions) == 1, sessions
    return sessions[0]


async def pending(app: App) -> dict[str, datetime]:
    async with app.uow() as uow:
        return {m.dedupe_key: m.due_at for m in await uow.outbox.pending()}


def said(lang: str, moment: datetime) -> str:
    return moment_text(lang, moment, ZONE)


async def test_a_live_session_moves_with_its_reminder_and_the_team_is_told(
    app: App, clock: ManualClock
) -> None:
    d = Driver(app)
    session = await planned(d, starts_at="2027-03-16 10:00")
    old = f"session-reminder:{session.id}"
    assert (await pending(app))[old] == datetime(2027, 3, 15, 9, 0, tzinfo=AMS)
    await d.deliver()  # what creating sent

    reply = await d.cmd("Sanne", "verzet", "do 25 maart 14:00")
    new_start = datetime(2027, 3, 25, 14, 0, tzinfo=AMS)
    assert t("nl", "sessions.changed", title="Wijk Noord") in reply, reply
    assert t("nl", "sessions.created_live", when=said("nl", new_start)) in reply
    assert t("nl", "when.check", when=parse_moment("do 25 maart 14:00", ZONE, clock.now())
             .text("nl")) in reply  # fmt: skip
    queued = await pending(app)
    assert old not in queued  # nothing at the old time
    again_key = f"{old}:{new_start.astimezone(UTC).isoformat()}"
    assert [k for k in queued if k.startswith(old)] == [again_key]
    assert queued[again_key] == datetime(2027, 3, 24, 9, 0, tzinfo=AMS)
    sent = await d.deliver()
    to_team = [s.text for s in sent if s.to.kind == "channel"]
    mode = t("nl", "sessions.mode_names.live")
    assert to_team == [t("nl", "sessions.changed_announce", title="Wijk Noord",
                         when=said("nl", new_start), mode=mode)]  # fmt: skip
    # The day before the old time, nothing comes; the day before the new one, its reminder.
    clock.set(datetime(2027, 3, 15, 9, 30, tzinfo=AMS))
    assert [s for s in await d.deliver() if s.kind == "session_reminder"] == []
    clock.set(datetime(2027, 3, 24, 9, 30, tzinfo=AMS))
    reminders = [s for s in await d.deliver() if s.kind == "session_reminder"]
    assert len(reminders) == 1 and said("nl", new_start) in reminders[0].text
    async with app.uow() as uow:
        again = await uow.get(Session, session.id or 0)
    assert again is not None and again.starts_at == new_start


async def test_moved_again_after_its_reminder_went_it_is_reminded_once_more(
    app: App, clock: ManualClock
) -> None:
    d = Driver(app)
    session = await planned(d, starts_at="2027-03-11 10:00")
    clock.set(datetime(2027, 3, 10, 9, 30, tzinfo=AMS))
    assert [s.kind for s in await d.deliver()].count("session_reminder") == 1
    await d.cmd("Sanne", "reschedule", "2027-03-18 10:00")
    clock.set(datetime(2027, 3, 17, 9, 30, tzinfo=AMS))
    assert [s.kind for s in await d.deliver()].count("session_reminder") == 1
    async with app.uow() as uow:
        assert (await uow.get(Session, session.id or 0)) is not None


async def test_an_async_session_moved_gets_a_new_plan_said_back(
    app: App, clock: ManualClock
) -> None:
    d = Driver(app)
    session = await planned(d, starts_at="2027-03-16 10:00", round_length="2")
    async with app.uow() as uow:
        before = [(r.opens_at, r.closes_at) for r in await uow.sessions.rounds(session.id or 0)]
    reply = await d.form("Sanne", "edit_session", starts_at="2027-03-23 10:00",
                         title="Wijk Noord, later")  # fmt: skip
    assert t("nl", "sessions.created_async", zone=ZONE) in reply, reply
    async with app.uow() as uow:
        moved = await uow.get(Session, session.id or 0)
        rounds = list(await uow.sessions.rounds(session.id or 0))
    assert moved is not None and moved.title == "Wijk Noord, later"
    first = datetime(2027, 3, 23, 10, 0, tzinfo=AMS)
    assert moved.starts_at == first and rounds[0].opens_at == first
    assert rounds[0].closes_at == datetime(2027, 3, 25, 10, 0, tzinfo=AMS)  # two working days
    assert [(r.opens_at, r.closes_at) for r in rounds] != before
    # Live now: no plan, a reminder instead.
    reply = await submit(d, "Sanne", "edit_session", str(session.id), mode="live")
    assert t("nl", "sessions.created_live", when=said("nl", first)) in reply, reply
    async with app.uow() as uow:
        rounds = list(await uow.sessions.rounds(session.id or 0))
    assert all(r.opens_at is None and r.closes_at is None for r in rounds)
    assert f"session-reminder:{session.id}:{first.astimezone(UTC).isoformat()}" in await pending(
        app
    )


async def test_cancelled_in_a_series_the_next_date_is_planned(app: App, clock: ManualClock) -> None:
    d = Driver(app)
    session = await planned(d, starts_at="2027-03-16 10:00", recurrence="weekly")
    await d.deliver()
    reply = await d.cmd("Sanne", "afzeggen")
    following = datetime(2027, 3, 23, 10, 0, tzinfo=AMS)
    assert t("nl", "sessions.cancelled", title="Wijk Noord") in reply
    assert t("nl", "sessions.cancelled_next", when=said("nl", following)) in reply
    follow = await only_session(app)
    assert follow.id != session.id and follow.starts_at == following
    queued = await pending(app)
    assert f"session-reminder:{session.id}" not in queued
    assert f"session-reminder:{follow.id}" in queued
    sent = await d.deliver()
    to_team = [s.text for s in sent if s.to.kind == "channel"]
    old = datetime(2027, 3, 16, 10, 0, tzinfo=AMS)
    assert t("nl", "sessions.cancelled_announce", title="Wijk Noord", when=said("nl", old),
             mode=t("nl", "sessions.mode_names.live")) in to_team  # fmt: skip


async def test_a_series_changes_pauses_and_goes_on(app: App, clock: ManualClock) -> None:
    d = Driver(app)
    first = await planned(d, starts_at="2027-03-16 10:00", recurrence="weekly")
    series_id = first.series_id
    assert series_id is not None
    # Every other week, on Thursdays at 14:00 from the 18th.
    reply = await d.form("Sanne", "edit_series", recurrence="biweekly",
                         starts_at="2027-03-18 14:00")  # fmt: skip
    repeats = t("nl", "sessions.recurrences.biweekly")
    assert t("nl", "sessions.series_changed", title="Wijk Noord", repeats=repeats) in reply
    moved = await only_session(app)
    thursday = datetime(2027, 3, 18, 14, 0, tzinfo=AMS)
    assert moved.id == first.id and moved.starts_at == thursday and moved.occurrence == thursday
    async with app.uow() as uow:
        series = await uow.get(Series, series_id)
    assert series is not None and recurrence_key(series.rrule) == "biweekly"
    assert "20270318T140000" in series.rrule
    queued = await pending(app)
    assert f"session-reminder:{first.id}" not in queued
    assert f"session-reminder:{first.id}:{thursday.astimezone(UTC).isoformat()}" in queued
    sent = await d.deliver()
    assert t("nl", "sessions.series_changed_announce", title="Wijk Noord", repeats=repeats,
             when=said("nl", thursday)) in [s.text for s in sent]  # fmt: skip
    # Paused: nothing is planned, nothing fires.
    reply = await d.form("Sanne", "edit_series", state="pauze")
    assert reply == t("nl", "sessions.series_paused", title="Wijk Noord")
    waiting = await only_session(app)
    assert waiting.id == first.id and waiting.starts_at is None  # its question and people kept
    assert not [k for k in await pending(app) if k.startswith("session-reminder")]
    # Goes on: the next date from now is prepared again.
    clock.set(datetime(2027, 3, 20, 10, 0, tzinfo=AMS))
    reply = await d.form("Sanne", "edit_series", state="doorgaan")
    again = await only_session(app)
    assert again.starts_at == datetime(2027, 4, 1, 14, 0, tzinfo=AMS), reply
    # Stopped: it ends; the calendar's rule ends too.
    await d.form("Sanne", "edit_series", state="stop")
    async with app.uow() as uow:
        series = await uow.get(Series, series_id)
    assert series is not None and not series.active and "UNTIL=" in series.rrule
    assert await d.count("sessions") == 0


@pytest.mark.parametrize("lang", ["nl", "en"])
async def test_a_started_session_cannot_move_and_bad_dates_are_answered_politely(
    app: App, clock: ManualClock, lang: str
) -> None:
    d = Driver(app, lang=lang)
    session = await planned(d, starts_at="2027-03-16 10:00", recurrence="weekly")
    refusal = pytest.raises(Refusal)
    with refusal as caught:
        parse_moment("blauwe maandag om half", ZONE, clock.now())
    reply = await d.cmd("Sanne", "reschedule", "blauwe maandag om half")
    assert reply == t(lang, caught.value.key, **caught.value.params)
    reply = await d.form("Sanne", "edit_session", starts_at="2027-03-01 10:00")
    assert reply == t(lang, "errors.start_in_past")
    reply = await d.form("Sanne", "edit_series", until="2027-03-01")
    assert reply == t(lang, "errors.date_in_past")
    reply = await d.form("Sanne", "edit_series", state="misschien")
    assert reply == t(lang, "sessions.unknown_series_state")
    await d.cmd("Sanne", "start")
    for reply in (
        await d.cmd("Sanne", "reschedule", "2027-03-20 10:00"),
        await submit(d, "Sanne", "edit_session", str(session.id), title="Anders"),
        await d.cmd("Sanne", "cancel"),
        await d.action("Sanne", "cancel_session", str(session.id)),
    ):
        assert reply == t(lang, "sessions.edit_started", title="Wijk Noord")
    async with app.uow() as uow:
        kept = await uow.get(Session, session.id or 0)
        rounds = list(await uow.sessions.rounds(session.id or 0))
    assert kept is not None and kept.title == "Wijk Noord" and kept.status == SessionStatus.OPEN
    assert rounds[0].status == RoundStatus.OPEN


async def test_a_participant_changes_nothing_planned(app: App, clock: ManualClock) -> None:
    d = Driver(app)
    session = await planned(d, starts_at="2027-03-16 10:00", recurrence="weekly")
    before = await d.snapshot()
    queued = await pending(app)
    refused = t("nl", "errors.coordinators_only")
    assert await d.cmd("Ahmed", "verzet", "2027-03-20 10:00") == refused
    assert await submit(d, "Ahmed", "edit_session", str(session.id), title="X") == refused
    assert await d.cmd("Ahmed", "afzeggen") == refused
    assert await d.action("Ahmed", "cancel_session", str(session.id)) == refused
    assert await d.form("Ahmed", "edit_series", state="stop") == refused
    assert await d.cmd("Ahmed", "reeks") == refused
    assert await d.snapshot() == before and await pending(app) == queued
    # Another team's session is not this coordinator's to change either.
    south = Driver(app, channel="team-zuid")
    await team_of(south, "Joost")
    reply = await submit(south, "Joost", "edit_session", str(session.id), title="X")
    assert reply == t("nl", "sessions.no_such_session", number=str(session.id))


async def test_the_outbox_rows_left_are_never_for_the_old_time(
    app: App, clock: ManualClock
) -> None:
    """After a move and a cancel, every pending row about the session is for what stands."""
    d = Driver(app)
    session = await planned(d, starts_at="2027-03-16 10:00", recurrence="weekly")
    await d.cmd("Sanne", "reschedule", "2027-03-17 10:00")
    await d.cmd("Sanne", "reschedule", "2027-03-18 10:00")
    async with app.uow() as uow:
        rows = [m for m in await uow.outbox.pending() if m.kind == "session_reminder"]
    assert [m.due_at for m in rows] == [datetime(2027, 3, 17, 9, 0, tzinfo=AMS)]
    assert all(m.status == OutboxStatus.PENDING for m in rows)
    assert [m.payload["nudge"]["session_id"] for m in rows] == [session.id]


@pytest.mark.parametrize("lang", ["nl", "en"])
async def test_the_forms_fit_a_slack_modal_and_carry_what_they_are_about(
    app: App, lang: str
) -> None:
    d = Driver(app, lang=lang)
    session = await planned(d, starts_at="2027-03-16 10:00", recurrence="weekly")
    async with app.uow() as uow:
        series = await uow.get(Series, session.series_id or 0)
    assert series is not None
    for form in (edit_session_form(lang, session), edit_series_form(lang, series)):
        view = blocks.modal(form)
        assert view_problems(view) == [], form.id
        assert view["callback_id"] == f"{form.id}|{form.context}" and form.context.isdigit()
    outcome = await app.coulisse.handle(Command("reschedule", d.actor("Sanne"), d.place))
    (opened,) = [r for r in outcome.replies if r.to == To.FORM]
    assert opened.form is not None and opened.form.context == str(session.id)


async def test_after_a_held_session_a_pause_leaves_nothing_waiting(
    app: App, clock: ManualClock
) -> None:
    """Once a session of the series was held, pausing removes the prepared one (the team may
    plan a one-off meanwhile); going on prepares the next date from the one held. Changed while
    paused, it stays paused; a last day before the prepared session cancels it."""
    d = Driver(app)
    first = await planned(d, starts_at="2027-03-09 10:30", recurrence="weekly")
    clock.set(datetime(2027, 3, 9, 10, 30, tzinfo=AMS))
    await d.cmd("Sanne", "start")
    await d.cmd("Ahmed", "add", "start: samen lunchen")
    await d.cmd("Sanne", "end")
    prepared = await only_session(app)
    assert prepared.id != first.id
    assert prepared.starts_at == datetime(2027, 3, 16, 10, 30, tzinfo=AMS)
    await d.form("Sanne", "edit_series", state="pauze")
    async with app.uow() as uow:
        drafts = [s for s in await uow.sessions.for_team(1) if s.status == SessionStatus.DRAFT]
    assert drafts == []
    reply = await d.form("Sanne", "edit_series", recurrence="om de week")
    assert t("nl", "sessions.series_still_paused") in reply
    async with app.uow() as uow:
        drafts = [s for s in await uow.sessions.for_team(1) if s.status == SessionStatus.DRAFT]
        series = await uow.get(Series, first.series_id or 0)
    assert drafts == [] and series is not None and not series.active
    reply = await d.form("Sanne", "edit_series", state="doorgaan")
    again = await only_session(app)
    assert again.starts_at == datetime(2027, 3, 23, 10, 30, tzinfo=AMS), reply
    reply = await d.form("Sanne", "edit_series", until="2027-03-20")
    assert t("nl", "sessions.series_no_next") in reply
    async with app.uow() as uow:
        drafts = [s for s in await uow.sessions.for_team(1) if s.status == SessionStatus.DRAFT]
    assert drafts == []
    gone = (f"session-reminder:{prepared.id}", f"session-reminder:{again.id}")
    assert not [k for k in await pending(app) if k.startswith(gone)]


async def test_a_series_state_can_be_typed_after_its_word(app: App, clock: ManualClock) -> None:
    d = Driver(app)
    session = await planned(d, starts_at="2027-03-16 10:00", recurrence="weekly")
    assert await d.cmd("Sanne", "reeks", "pauze") == t("nl", "sessions.series_paused",
                                                       title="Wijk Noord")  # fmt: skip
    reply = await d.cmd("Sanne", "reeks", f"{session.series_id} doorgaan")
    assert t("nl", "sessions.series_changed", title="Wijk Noord",
             repeats=t("nl", "sessions.recurrences.weekly")) in reply  # fmt: skip
    assert (await only_session(app)).starts_at == datetime(2027, 3, 16, 10, 0, tzinfo=AMS)
    assert await d.cmd("Sanne", "reeks", "misschien") == t("nl", "sessions.unknown_series_state")


@pytest.mark.parametrize("lang", ["nl", "en"])
async def test_a_live_session_moved_onto_a_public_holiday_is_said_so(
    app: App, clock: ManualClock, lang: str
) -> None:
    d = Driver(app, lang=lang)
    await planned(d, starts_at="2027-03-16 10:00")
    reply = await d.cmd("Sanne", "reschedule", "2027-04-27 10:00")  # King's Day
    kings_day = datetime(2027, 4, 27, 10, 0, tzinfo=AMS)
    holiday = why_not_working(team_calendar(None, NudgePolicy()), kings_day, lang)
    assert holiday, "the calendar knows King's Day"
    assert t(lang, "sessions.live_on_holiday", holiday=holiday) in reply.splitlines(), reply


async def test_a_change_waits_for_the_schedule_starting_the_session_and_is_refused(
    app: App, clock: ManualClock
) -> None:
    """The schedule holds the session while it starts it (another process, on PostgreSQL);
    a change sent meanwhile waits for it, then sees it started: nothing of the running
    session changes."""
    d = Driver(app)
    session = await planned(d, starts_at="2027-03-09 10:30")
    clock.set(datetime(2027, 3, 9, 10, 30, tzinfo=AMS))
    holding, release = asyncio.Event(), asyncio.Event()

    async def schedule_starts_it() -> None:
        async with app.uow() as uow:
            claimed = await uow.sessions.claim_due(session.id or 0, clock.now(), "start")
            assert claimed is not None
            claimed.status = SessionStatus.OPEN
            await uow.flush()
            holding.set()
            await release.wait()
            await uow.commit()

    starting = asyncio.create_task(schedule_starts_it())
    await holding.wait()
    change = asyncio.create_task(submit(d, "Sanne", "edit_session", str(session.id), title="X"))
    await asyncio.sleep(0.5)  # the change is on its way, waiting for the row
    release.set()
    await starting
    assert await change == t("nl", "sessions.edit_started", title="Wijk Noord")
    async with app.uow() as uow:
        kept = await uow.get(Session, session.id or 0)
    assert kept is not None and kept.title == "Wijk Noord" and kept.status == SessionStatus.OPEN


@pytest.mark.parametrize(("lang", "series_word", "go_on", "stop"), [
    ("nl", "reeks", "doorgaan", "stop"), ("en", "series", "go on", "stop"),
])  # fmt: skip
async def test_a_paused_series_waiting_first_session_says_how_to_plan_another(
    app: App, clock: ManualClock, lang: str, series_word: str, go_on: str, stop: str
) -> None:
    """The paused series' first session still waits (without a date): a new session is
    refused with what to do, and the words the refusal names do it."""
    d = Driver(app, lang=lang)
    await planned(d, starts_at="2027-03-16 10:00", recurrence="weekly")
    await d.cmd("Sanne", series_word, "pauze" if lang == "nl" else "pause")
    another = {"title": "Los overleg", "question": "Wat speelt er?", "format": "retro"}
    refused = await d.form("Sanne", "new_session", **another)
    assert refused == t(lang, "errors.session_waits_for_series", title="Wijk Noord")
    assert await d.count("sessions") == 1  # nothing new was stored
    going = await d.cmd("Sanne", series_word, go_on)
    assert t(lang, "sessions.series_changed", title="Wijk Noord",
             repeats=t(lang, "sessions.recurrences.weekly")) in going  # fmt: skip
    assert (await only_session(app)).starts_at is not None
    assert await d.form("Sanne", "new_session", **another) == t(lang, "errors.session_exists")
    await d.cmd("Sanne", series_word, "pauze" if lang == "nl" else "pause")
    await d.cmd("Sanne", series_word, stop)
    planned_now = await d.form("Sanne", "new_session", **another)
    assert "Los overleg" in planned_now and (await only_session(app)).title == "Los overleg"
