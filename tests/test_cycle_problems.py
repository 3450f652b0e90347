"""The six problems of "a team's quarter, left alone" with the session cycle, each as it was
found: every test here failed before the fix (checked on the code before it). The first
assertion of each is on what is stored or sent, so that it fails for the reason it names."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.clock import ManualClock
from bot.console.clock import move_clock
from bot.wiring import App
from handlers import plan
from handlers.model import OutboxStatus, RoundStatus, SessionMode, SessionStatus
from handlers.plan import moment_text
from handlers.reports import build_summary
from prompts.catalog import t
from tests.driver import Driver, team_of

AMS = ZoneInfo("Europe/Amsterdam")


def ams(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMS)


async def _run(d: Driver, clock: ManualClock, until: datetime) -> None:
    await move_clock(d.app, clock, until, d.deliver)


async def _sessions(d: Driver) -> list:
    async with d.app.uow() as uow:
        return list(await uow.sessions.for_team(1))


async def _weekly_live(d: Driver) -> None:
    await team_of(d, "Sanne", "Ahmed", "Fleur", "Joost")
    reply = await d.form(
        "Sanne", "new_session", title="Weekstart", question="Wat speelt er?", format="custom",
        rounds="checkin commit", starts_at="2027-03-23T10:00+01:00", recurrence="weekly",
    )  # fmt: skip
    assert "staat klaar" in reply, reply


async def _held_live_meeting(d: Driver) -> None:
    assert "begonnen" in await d.cmd("Sanne", "start")
    await d.cmd("Ahmed", "add", "goed")
    await d.cmd("Fleur", "add", "moe")
    await d.cmd("Sanne", "next")
    assert "is gesloten" in await d.cmd("Sanne", "end")


async def test_1_the_daily_cap_never_swallows_a_round_question(
    app: App, clock: ManualClock
) -> None:
    """A weekly retro from 23 March 2027, one-day rounds: over Good Friday and Easter each
    question reaches everyone, the vote's on the day it opens, and no round is planned over a
    holiday (it was: the vote question was due 30 March, its round closed 27 March)."""
    clock.set(ams(2027, 3, 22, 9, 0))
    d = Driver(app)
    await team_of(d, "Sanne", "Ahmed", "Fleur", "Joost")
    # Ahmed's two check-ins of Wednesday 24 March fill his daily cap before round 2 opens.
    await d.form("Sanne", "new_session", title="Eerder", question="Q", format="custom",
                 rounds="commit")  # fmt: skip
    await d.cmd("Sanne", "start")
    for text in ("Bellen", "Mailen"):
        await d.form("Ahmed", "commit", text=text, due="2027-03-24", mode="samen doen")
    await d.cmd("Sanne", "end")
    await d.form(
        "Sanne", "new_session", title="Retro", question="Wat werkte?", format="custom",
        rounds="checkin start-stop-continue group vote commit",
        starts_at="2027-03-23T10:00+01:00", round_length="1", recurrence="weekly",
    )  # fmt: skip
    await _run(d, clock, ams(2027, 3, 23, 10, 30))
    await d.cmd("Ahmed", "add", "fris")
    await _run(d, clock, ams(2027, 3, 24, 10, 30))
    await d.cmd("Ahmed", "add", "start: samen plannen")
    await _run(d, clock, ams(2027, 4, 2, 12, 0))
    async with app.uow() as uow:
        retro = (await uow.sessions.for_team(1))[1]
        rounds = {r.id: r for r in await uow.sessions.rounds(retro.id or 0)}
        rows = [
            r
            for r in await uow.outbox.all_done()
            if r.kind == "round_open" and r.payload["nudge"]["round_id"] in rounds
        ]
        checkins = [r for r in await uow.outbox.all_done() if r.kind == "checkin"]
    vote = next(r for r in rounds.values() if r.name == "vote")
    assert len([r for r in checkins if r.status == OutboxStatus.SENT]) >= 2  # the cap was full
    skipped = [r for r in rows if r.status == OutboxStatus.SKIPPED]
    assert not skipped, [(r.dedupe_key, r.reason) for r in skipped]
    assert len(rows) == 4 * 4  # four people, four rounds that ask
    # Each question the moment its round opens, Ahmed's on his full Wednesday too.
    late = [
        r.dedupe_key for r in rows if r.sent_at != rounds[r.payload["nudge"]["round_id"]].opens_at
    ]
    assert not late
    assert vote.opens_at == ams(2027, 3, 30, 10, 0) and vote.closes_at == ams(2027, 3, 31, 10, 0)
    asked = [r for r in rows if r.dedupe_key.startswith(f"round-prompt:{vote.id}:")]
    assert {r.sent_at for r in asked} == {ams(2027, 3, 30, 10, 0)}
    # … and the channel never said the team chose a theme with no dots.
    assert not [s for s in d.sent if s.kind == "reveal" and "0 stippen" in s.text
                and "koos" in s.text]  # fmt: skip


async def test_2_the_next_session_of_a_live_series_never_runs_by_itself(
    app: App, clock: ManualClock
) -> None:
    clock.set(ams(2027, 3, 23, 9, 55))
    d = Driver(app)
    await _weekly_live(d)
    await _run(d, clock, ams(2027, 3, 23, 10, 0))
    await _held_live_meeting(d)
    await d.deliver()
    sent_before = len(d.sent)
    await _run(d, clock, ams(2027, 3, 31, 12, 0))  # past the next Tuesday's meeting time
    sessions = await _sessions(d)
    assert [s.status for s in sessions][:2] == [SessionStatus.CLOSED, SessionStatus.NOT_HELD]
    later = d.sent[sent_before:]
    assert not [s for s in later if s.kind in ("session_open", "round_open", "reveal", "summary")]
    # What did reach anyone: the reminder the working day before, and the question whether
    # to keep the series, both to the coordinator.
    assert {s.kind for s in later} <= {"session_reminder", "keep_series", "digest"}
    assert {s.to.id for s in later if s.kind != "digest"} == {1}


async def test_3_a_series_without_a_time_is_refused_with_a_question(
    app: App, clock: ManualClock
) -> None:
    d = Driver(app)
    await team_of(d, "Sanne", "Ahmed")
    before = await d.snapshot()
    reply = await d.form(
        "Sanne", "new_session", title="Reeks", question="Q", format="custom",
        rounds="checkin", recurrence="weekly",
    )  # fmt: skip
    assert await d.snapshot() == before  # nothing half-stored
    assert t("nl", "sessions.series_needs_time") in reply


async def test_4_end_typed_twice_leaves_next_weeks_draft_alone(
    app: App, clock: ManualClock
) -> None:
    clock.set(ams(2027, 3, 23, 10, 0))
    d = Driver(app)
    await _weekly_live(d)
    await _held_live_meeting(d)
    second = await d.cmd("Sanne", "end")
    await d.deliver()
    sessions = await _sessions(d)
    assert [s.status for s in sessions] == [SessionStatus.CLOSED, SessionStatus.DRAFT]
    async with app.uow() as uow:
        rounds = await uow.sessions.rounds(sessions[1].id or 0)
    assert {r.status for r in rounds} == {RoundStatus.PENDING}
    assert len([s for s in d.sent if s.kind == "summary"]) == 1
    assert t("nl", "sessions.nothing_to_end") in second


async def test_5_summary_shows_the_last_closed_session_never_a_draft(
    app: App, clock: ManualClock
) -> None:
    clock.set(ams(2027, 3, 23, 10, 0))
    d = Driver(app)
    await _weekly_live(d)
    await _held_live_meeting(d)
    shown = await d.cmd("Ahmed", "summary")
    assert "2 bijdragen" in shown and "0 bijdragen" not in shown, shown


async def test_6_a_sessions_export_keeps_the_map_as_it_stood_when_it_closed(
    app: App, clock: ManualClock
) -> None:
    clock.set(ams(2027, 3, 23, 10, 0))
    d = Driver(app)
    await team_of(d, "Sanne", "Ahmed", "Fleur")
    for question in ("Eerste", "Tweede"):
        await d.form("Sanne", "new_session", title=question, question="Q", format="custom",
                     rounds="causal")  # fmt: skip
        await d.cmd("Sanne", "start")
        link = "wachtlijst -> +druk" if question == "Eerste" else "druk -> +verzuim"
        await d.cmd("Ahmed", "add", link)
        await d.cmd("Sanne", "end")
    first, second = await _sessions(d)
    async with app.uow() as uow:
        kept = await build_summary(uow, first)
        now = await build_summary(uow, second)
    assert [(lk.source, lk.target) for lk in kept.causal_links] == [("wachtlijst", "druk")]
    assert len(now.causal_links) == 2


async def test_a_session_nobody_took_part_in_did_not_take_place(
    app: App, clock: ManualClock
) -> None:
    """Async, nobody answers: closed as 'did not take place', no summary, no empty reveal; the
    coordinator is asked by DM whether to keep the series, and can stop it."""
    clock.set(ams(2027, 3, 22, 9, 0))
    d = Driver(app)
    await team_of(d, "Sanne", "Ahmed", "Fleur")
    await d.form(
        "Sanne", "new_session", title="Stil", question="Q", format="custom",
        rounds="checkin start-stop-continue", starts_at="2027-03-23T10:00+01:00",
        round_length="1", recurrence="weekly",
    )  # fmt: skip
    await _run(d, clock, ams(2027, 3, 25, 12, 0))
    sessions = await _sessions(d)
    assert [s.status for s in sessions] == [SessionStatus.NOT_HELD, SessionStatus.DRAFT]
    assert not [s for s in d.sent if s.kind in ("summary", "reveal")]
    asked = [s for s in d.sent if s.kind == "keep_series"]
    assert len(asked) == 1 and asked[0].to.id == 1
    assert t("nl", "sessions.keep_series_question", title="Stil") in asked[0].text
    # Nothing to sum up or export: said politely, no empty summary.
    assert t("nl", "sessions.no_summary_yet") in await d.cmd("Ahmed", "summary")
    assert t("nl", "exporting.nothing") in await d.cmd("Sanne", "export")
    assert "gestopt" in await d.action("Sanne", "series_stop", str(sessions[0].series_id))
    assert [s.status for s in await _sessions(d)] == [SessionStatus.NOT_HELD]
    # Its reminder-free draft is gone, and nothing more comes of the series.
    await _run(d, clock, ams(2027, 4, 2, 12, 0))
    assert [s.status for s in await _sessions(d)] == [SessionStatus.NOT_HELD]
    # Only a coordinator of the series' team may stop it.
    refused = await d.action("Ahmed", "series_stop", str(sessions[0].series_id))
    assert t("nl", "errors.coordinators_only") in refused


async def test_recurrence_words_in_both_languages(app: App, clock: ManualClock) -> None:
    from handlers.series import recurrence_of

    for words, key in (
        (("wekelijks", "elke week", "weekly", "every week", "Elke  Week"), "weekly"),
        (("om de week", "tweewekelijks", "fortnightly", "every other week", "bi-weekly"),
         "biweekly"),
        (("maandelijks", "elke maand", "monthly", "every month"), "monthly"),
    ):  # fmt: skip
        for word in words:
            assert recurrence_of(word) == key, word


async def test_a_holiday_occurrence_is_skipped_when_the_series_says_so(
    app: App, clock: ManualClock
) -> None:
    clock.set(ams(2027, 4, 20, 9, 0))
    d = Driver(app)
    await team_of(d, "Sanne", "Ahmed")
    await d.form(
        "Sanne", "new_session", title="Di", question="Q", format="custom", rounds="checkin",
        starts_at="2027-04-20T10:00+02:00", recurrence="elke week", on_holiday="overslaan",
    )  # fmt: skip
    await d.cmd("Sanne", "start")
    await d.cmd("Ahmed", "add", "goed")
    await d.cmd("Sanne", "end")
    await _run(d, clock, ams(2027, 4, 20, 12, 0))
    sessions = await _sessions(d)
    assert sessions[1].starts_at == ams(2027, 5, 4, 10, 0)  # 27 April (King's Day) skipped
    notice = [s for s in d.sent if s.kind == "holiday_notice"]
    assert len(notice) == 1 and "27 april" in notice[0].text and "4 mei" in notice[0].text
    assert "Koningsdag" in notice[0].text  # named in the session's language


async def test_an_async_plan_moves_when_a_question_would_not_reach_someone_in_time(
    app: App, clock: ManualClock
) -> None:
    """Fleur only takes messages from 10:30 to 11:00: a round opening at 12:00 would reach her
    the next morning, too close to its close. The round closes a working day later, and the
    coordinator reads why before anything is sent."""
    clock.set(ams(2027, 3, 22, 9, 0))
    d = Driver(app)
    await team_of(d, "Sanne", "Ahmed", "Fleur")
    await d.cmd("Fleur", "quiet", "11:00-10:30")
    reply = await d.form(
        "Sanne", "new_session", title="Plan", question="Q", format="custom",
        rounds="checkin start-stop-continue", starts_at="2027-03-23T12:00+01:00",
        round_length="1",
    )  # fmt: skip
    assert t("nl", "sessions.plan_moves.reach", position=1) in reply, reply
    async with app.uow() as uow:
        rounds = list(await uow.sessions.rounds(1))
    assert [(r.opens_at, r.closes_at) for r in rounds] == [
        (ams(2027, 3, 23, 12, 0), ams(2027, 3, 25, 12, 0)),
        # Good Friday and Easter Monday: Tuesday is too close for Fleur, so Wednesday.
        (ams(2027, 3, 25, 12, 0), ams(2027, 3, 31, 12, 0)),
    ]
    assert d.sent == []  # nothing sent: the coordinator reads the plan first


async def test_a_london_colleagues_bank_holiday_moves_the_async_plan(
    app: App, clock: ManualClock
) -> None:
    """Monday 3 May 2027 is a working day in Amsterdam and a bank holiday in London: Oliver
    would read round 1's question on Tuesday morning, just before it closes. It closes on
    Wednesday instead, and the coordinator reads why, with the holiday's name."""
    clock.set(ams(2027, 4, 30, 9, 0))
    d = Driver(app)
    await team_of(d, "Sanne", "Ahmed", "Oliver")
    await d.cmd("Oliver", "tz", "Europe/London")
    reply = await d.form(
        "Sanne", "new_session", title="Mei", question="Q", format="custom",
        rounds="checkin start-stop-continue", starts_at="2027-05-03T10:00+02:00",
        round_length="1",
    )  # fmt: skip
    reason = t("nl", "sessions.plan_moves.reach", position=1)
    assert t("nl", "sessions.plan_move_holiday", reason=reason, holiday="May Day") in reply, reply
    async with app.uow() as uow:
        rounds = list(await uow.sessions.rounds(1))
    assert [(r.opens_at, r.closes_at) for r in rounds] == [
        (ams(2027, 5, 3, 10, 0), ams(2027, 5, 5, 10, 0)),
        (ams(2027, 5, 5, 10, 0), ams(2027, 5, 7, 10, 0)),  # Thursday 6 May is Ascension
    ]


async def test_an_async_next_session_that_cannot_be_planned_is_prepared_live(
    app: App, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The series' next session cannot reach everyone in time (no real calendar keeps someone
    away for MAX_MOVES working days, so the bound is made 1 after the first plan, and Fleur's
    hours shrink): it is prepared live, with no round plan, so the clock never runs it; the
    coordinator is told by DM, in their hours, and reminded the working day before."""
    clock.set(ams(2027, 3, 1, 9, 0))
    d = Driver(app)
    await team_of(d, "Sanne", "Ahmed", "Fleur")
    reply = await d.form(
        "Sanne", "new_session", title="Week", question="Q", format="custom", rounds="checkin",
        starts_at="2027-03-02T12:00+01:00", round_length="1", recurrence="weekly",
    )  # fmt: skip
    assert t("nl", "sessions.created_async", zone="Europe/Amsterdam") in reply, reply
    await d.cmd("Fleur", "quiet", "11:00-10:30")  # a question at 12:00 reaches her too late
    monkeypatch.setattr(plan, "MAX_MOVES", 1)
    await _run(d, clock, ams(2027, 3, 3, 13, 0))  # round 1 closes on Wednesday 12:00
    first, follow = await _sessions(d)
    assert first.status == SessionStatus.NOT_HELD and follow.status == SessionStatus.DRAFT
    assert follow.mode == SessionMode.LIVE and follow.starts_at == ams(2027, 3, 9, 12, 0)
    async with app.uow() as uow:
        rounds = list(await uow.sessions.rounds(follow.id or 0))
    assert [(r.opens_at, r.closes_at) for r in rounds] == [(None, None)]  # no plan to run
    told = [s for s in d.sent if s.kind == "plan_moved"]
    when = moment_text("nl", ams(2027, 3, 9, 12, 0), "Europe/Amsterdam")
    assert [(s.to.kind, s.to.id, s.text) for s in told] == [
        ("dm", 1, t("nl", "sessions.unplannable_next", title="Week", when=when))
    ]
    before = len(d.sent)
    await _run(d, clock, ams(2027, 3, 9, 14, 0))  # its time passes: it never starts by itself
    sessions = await _sessions(d)
    assert sessions[1].status == SessionStatus.DRAFT
    assert not [s for s in d.sent[before:] if s.kind in ("session_open", "round_open")]
    reminders = [s for s in d.sent[before:] if s.kind == "session_reminder"]
    assert [(s.to.kind, s.to.id) for s in reminders] == [("dm", 1)]
