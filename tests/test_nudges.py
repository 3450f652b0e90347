"""Nudges on a fake clock: planned in the outbox, sent at a moment that suits the person,
skipped with a reason when they no longer make sense."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clock import ManualClock
from bot.wiring import App
from handlers.model import OutboxMessage, OutboxStatus
from handlers.schedule import tick
from prompts.catalog import t
from tests.driver import Driver, started_session, team_of

AMS = ZoneInfo("Europe/Amsterdam")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMS)


async def all_rows(app: App, person_id: int) -> list[OutboxMessage]:
    async with app.uow() as uow:
        return list(await uow.outbox.for_person(person_id))


async def run_until(d: Driver, clock: ManualClock, until: datetime, step: timedelta) -> None:
    """Let time pass: the schedule ticks and the outbox is sent, step by step."""
    while clock.now() < until:
        clock.advance(step)
        await tick(d.app.uow, clock)
        await d.deliver()


async def test_check_ins_halfway_on_the_due_date_and_one_overdue_note(
    app: App, clock: ManualClock
) -> None:
    clock.set(local(2027, 3, 9, 10, 0))  # a Tuesday
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="commit")
    await d.form("Ahmed", "commit", text="Huisartsen bellen", due="2027-03-23", mode="samen doen")
    async with app.uow() as uow:
        planned = {
            r.dedupe_key: r.due_at
            for r in await uow.outbox.pending()
            if r.kind in ("checkin", "overdue")
        }
    assert planned == {
        "checkin:1:halfway": local(2027, 3, 16, 9, 0),
        "checkin:1:due": local(2027, 3, 23, 9, 0),
        "overdue:1": local(2027, 3, 24, 9, 0),
    }
    await run_until(d, clock, local(2027, 3, 16, 10, 0), timedelta(hours=1))
    halfway = [s for s in d.sent if s.kind == "checkin"]
    assert len(halfway) == 1 and "halverwege" in halfway[0].text
    assert "[klaar]" in halfway[0].text and "[Vraag het later]" in halfway[0].text
    # Done before the due date: the later check-in and the overdue note are skipped.
    await d.action("Ahmed", "checkin", "1:done")
    await run_until(d, clock, local(2027, 3, 25, 12, 0), timedelta(hours=3))
    assert [s.kind for s in d.sent].count("checkin") == 1 and "overdue" not in [
        s.kind for s in d.sent
    ]
    rows = {r.dedupe_key: r for r in await all_rows(app, 2)}
    assert (
        rows["checkin:1:due"].status == OutboxStatus.SKIPPED
        and rows["checkin:1:due"].reason == "done"
    )
    assert rows["overdue:1"].reason == "done"


async def test_nothing_in_quiet_hours_weekends_or_on_koningsdag(
    app: App, clock: ManualClock
) -> None:
    clock.set(local(2027, 4, 22, 15, 0))  # Thursday before Koningsdag (Tuesday 27 April)
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="commit")
    await d.form("Ahmed", "commit", text="a", due="2027-04-27", mode="co-produce")
    async with app.uow() as uow:
        due = {
            r.dedupe_key: r.due_at
            for r in await uow.outbox.pending()
            if r.kind in ("checkin", "overdue")
        }
    # The due date is a holiday: the check-in moves to Wednesday; halfway lands on a Saturday
    # (24 April) and moves to Monday; the overdue note to Thursday.
    assert due["checkin:1:due"] == local(2027, 4, 28, 8, 30)
    assert due["checkin:1:halfway"] == local(2027, 4, 26, 8, 30)
    assert due["overdue:1"] == local(2027, 4, 29, 8, 30)


async def test_at_most_two_nudges_a_day(app: App, clock: ManualClock) -> None:
    clock.set(local(2027, 3, 9, 10, 0))
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="commit")
    for text in ("a", "b"):
        await d.form("Ahmed", "commit", text=text, due="2027-03-11", mode="co-produce")
    async with app.uow() as uow:
        due = sorted(r.due_at for r in await uow.outbox.pending() if r.kind == "checkin")
    # Two due-date check-ins wanted on Thursday 11th 09:00: the cap lets both through that
    # day; the overdue notes on Friday likewise. A third commitment's check-in moves on.
    await d.form("Ahmed", "commit", text="c", due="2027-03-11", mode="co-produce")
    async with app.uow() as uow:
        rows = [r for r in await uow.outbox.pending() if r.dedupe_key == "checkin:3:due"]
    assert due == [local(2027, 3, 11, 9, 0)] * 2
    # Thursday has two already and Friday two overdue notes: the third waits for Monday.
    assert rows[0].due_at == local(2027, 3, 15, 8, 30)


async def test_a_nudge_that_fell_due_while_down_waits_for_morning(
    app: App, clock: ManualClock
) -> None:
    clock.set(local(2027, 3, 9, 10, 0))
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="commit")
    await d.form("Ahmed", "commit", text="a", due="2027-03-12", mode="co-produce")
    await d.deliver()  # the session's opening goes out; then the bot is down
    # Down from Thursday to Friday 22:00: the check-in due Friday 09:00 must not go out at 22:00.
    clock.set(local(2027, 3, 12, 22, 0))
    assert [s.kind for s in await d.deliver()] == []
    async with app.uow() as uow:
        row = next(r for r in await uow.outbox.pending() if r.dedupe_key == "checkin:1:due")
    assert row.due_at == local(2027, 3, 15, 8, 30)  # Monday morning
    clock.set(local(2027, 3, 15, 8, 31))
    assert [s.kind for s in await d.deliver()] == ["checkin"]
    # The overdue note, also due by now, waits a day after the check-in: one thing at a time.
    clock.set(local(2027, 3, 16, 8, 40))
    assert [s.kind for s in await d.deliver()] == ["overdue"]


async def test_paused_people_are_not_nudged_until_they_resume(app: App, clock: ManualClock) -> None:
    clock.set(local(2027, 3, 9, 10, 0))
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="commit")
    await d.form("Ahmed", "commit", text="a", due="2027-03-23", mode="co-produce")
    await d.cmd("Ahmed", "pause")
    await run_until(d, clock, local(2027, 3, 17, 12, 0), timedelta(hours=6))
    assert not [s for s in d.sent if s.kind == "checkin"]
    await d.cmd("Ahmed", "resume")
    await run_until(d, clock, local(2027, 3, 23, 12, 0), timedelta(hours=6))
    rows = {r.dedupe_key: r for r in await all_rows(app, 2)}
    assert rows["checkin:1:halfway"].status == OutboxStatus.SKIPPED
    assert rows["checkin:1:halfway"].reason == "paused"
    assert rows["checkin:1:due"].status == OutboxStatus.SENT


async def test_a_planned_session_runs_on_its_own(app: App, clock: ManualClock) -> None:
    clock.set(local(2027, 3, 8, 15, 0))  # Monday
    d = Driver(app)
    await team_of(d, "Sanne", "Ahmed", "Fleur")
    start = local(2027, 3, 9, 9, 0)
    await d.form(
        "Sanne",
        "new_session",
        title="Gepland",
        question="Q",
        format="custom",
        rounds="start-stop-continue commit",
        starts_at=start.isoformat(),
        round_length="2",
    )
    await run_until(d, clock, local(2027, 3, 9, 10, 0), timedelta(minutes=30))
    prompts = [s for s in d.sent if s.kind == "round_open"]
    assert len(prompts) == 3 and all(s.to.kind == "dm" for s in prompts)
    await d.cmd("Ahmed", "add", "stop: te veel overleg")
    # The round closes on Thursday 09:00: a day before, only those who have not answered
    # hear it by DM, and the channel hears the count.
    await run_until(d, clock, local(2027, 3, 10, 10, 0), timedelta(hours=1))
    soon = [s for s in d.sent if s.kind == "closing_soon"]
    team_soon = [s for s in d.sent if s.kind == "closing_soon_team"]
    assert sorted(s.to.id for s in soon) == [1, 3]  # Sanne and Fleur, not Ahmed
    title = t("nl", "rounds.start-stop-continue.title")
    expected = t("nl", "nudges.closing_soon_team", title=title, shared=1, members=3)
    assert len(team_soon) == 1 and team_soon[0].text == expected  # "1 van de 3 heeft"
    assert "Ahmed" not in team_soon[0].text
    await run_until(d, clock, local(2027, 3, 11, 10, 0), timedelta(hours=1))
    assert any(s.kind == "reveal" and "te veel overleg" in s.text for s in d.sent)
    async with app.uow() as uow:
        found = await uow.sessions.open_round(1)
    assert found is not None and found[1].name == "commit"


async def test_a_series_keeps_its_local_time_across_dst(app: App, clock: ManualClock) -> None:
    for first, expected_next in [
        (local(2027, 3, 16, 9, 30), local(2027, 3, 30, 9, 30)),  # CET -> CEST
        (local(2027, 10, 26, 9, 30), local(2027, 11, 9, 9, 30)),  # CEST -> CET
    ]:
        clock.set(first - timedelta(days=1))
        d = Driver(app, channel=f"team-{first.month}")
        await team_of(d, "Sanne", "Ahmed")
        await d.form(
            "Sanne",
            "new_session",
            title="Reeks",
            question="Q",
            format="custom",
            rounds="checkin",
            starts_at=first.isoformat(),
            recurrence="biweekly",
        )
        # A live series: the coordinator starts it in the meeting, never the clock.
        await run_until(d, clock, first + timedelta(hours=1), timedelta(hours=1))
        assert "begonnen" in await d.cmd("Sanne", "start")
        await d.cmd("Ahmed", "add", "goed")
        assert "is gesloten" in await d.cmd("Sanne", "end")
        async with app.uow() as uow:
            team_id = (await uow.directory.team_by_channel(1, d.channel)).id  # type: ignore[union-attr]
            sessions = await uow.sessions.for_team(team_id or 0)
        assert len(sessions) == 2 and sessions[1].starts_at == expected_next
        # 09:30 on the wall clock both times, so a different hour in UTC.
        assert sessions[1].starts_at.astimezone(AMS).strftime("%H:%M") == "09:30"
        assert sessions[1].starts_at.astimezone(UTC).hour != first.astimezone(UTC).hour


async def test_monday_digest_in_counts_only(app: App, clock: ManualClock) -> None:
    clock.set(local(2027, 3, 12, 10, 0))  # Friday
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="commit")
    await d.form("Ahmed", "commit", text="a", due="2027-03-30", mode="co-produce")
    await d.form("Fleur", "commit", text="b", due="2027-03-30", mode="co-produce")
    await d.action("Fleur", "checkin", "2:stuck")
    await run_until(d, clock, local(2027, 3, 15, 9, 30), timedelta(hours=6))
    digests = [s for s in d.sent if s.kind == "digest"]
    assert len(digests) == 1 and digests[0].to.id == 1  # Sanne, the coordinator
    assert "Open afspraken: 2" in digests[0].text and "vastgelopen 1" in digests[0].text
    for name in ("Ahmed", "Fleur"):
        assert name not in digests[0].text
    await run_until(d, clock, local(2027, 3, 15, 17, 0), timedelta(hours=2))
    assert len([s for s in d.sent if s.kind == "digest"]) == 1  # once a week


async def test_snooze_asks_again_in_three_days(app: App, clock: ManualClock) -> None:
    clock.set(local(2027, 3, 9, 10, 0))
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="commit")
    await d.form("Ahmed", "commit", text="a", due="2027-03-30", mode="co-produce")
    assert "over 3 dagen" in await d.action("Ahmed", "snooze", "1")
    assert "niet van jou" in await d.action("Fleur", "snooze", "1")
    async with app.uow() as uow:
        keys = {r.dedupe_key: r.due_at for r in await uow.outbox.pending()}
    assert keys["checkin:1:snooze:2027-03-12"] == local(2027, 3, 12, 10, 0)


async def test_nudges_list_shows_what_is_queued(sqlite_app: App, sqlite_url: str) -> None:
    from typer.testing import CliRunner

    from bot.cli import app as cli

    clock = sqlite_app.coulisse.clock
    assert isinstance(clock, ManualClock)
    clock.set(local(2027, 3, 9, 10, 0))
    d = Driver(sqlite_app)
    await started_session(d, fmt="custom", rounds="commit")
    await d.deliver()
    await d.form("Ahmed", "commit", text="a", due="2027-03-23", mode="co-produce")
    env = {"COULISSE_DATABASE_URL": sqlite_url}
    runner = CliRunner()
    # The command runs its own event loop: give it a thread of its own.
    listed = await asyncio.to_thread(runner.invoke, cli, ["nudges", "list"], env=env)
    assert listed.exit_code == 0
    lines = listed.output.strip().splitlines()
    assert [line.split()[-1] for line in lines] == [
        "checkin:1:halfway",
        "checkin:1:due",
        "overdue:1",
    ]
    assert "dm:2" in lines[0] and "a" not in lines[0].split()  # ids, never the content
    early = await asyncio.to_thread(
        runner.invoke, cli, ["nudges", "list", "--due-before", "2027-03-20T00:00+01:00"], env=env
    )
    assert early.exit_code == 0, (early.output, early.exception)
    assert early.output.strip().splitlines() == lines[:1]


async def test_people_set_their_own_time_zone_and_quiet_hours(app: App, clock: ManualClock) -> None:
    clock.set(local(2027, 3, 9, 10, 0))
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="commit")
    assert "Europe/London" in await d.cmd("Ahmed", "tijdzone", "Europe/London")
    assert "tussen 07:00 en 09:30" in await d.cmd("Ahmed", "stil", "07:00-09:30")
    assert "ken ik niet" in await d.cmd("Ahmed", "tz", "Mars/Olympus")
    assert "bijvoorbeeld" in await d.cmd("Ahmed", "quiet", "altijd")
    await d.form("Ahmed", "commit", text="a", due="2027-03-23", mode="co-produce")
    async with app.uow() as uow:
        due = {r.dedupe_key: r.due_at for r in await uow.outbox.pending() if r.kind == "checkin"}
    # 09:00 in London is inside his quiet hours (07:00–09:30): the check-in waits until 09:30.
    london = ZoneInfo("Europe/London")
    assert due["checkin:1:due"] == datetime(2027, 3, 23, 9, 30, tzinfo=london)
