"""The reply to a new async session shows its round plan before anything is sent, in the
coordinator's language and time zone, with dates as people say them: each round by its name,
the zone once in the heading, the year only when it is not this year's. Before, every line
repeated the year and the zone and named rounds only by number."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.clock import ManualClock
from bot.console.clock import move_clock
from bot.wiring import App
from handlers.lookup import round_title
from prompts.catalog import t, words
from tests.driver import Driver, team_of

AMS = ZoneInfo("Europe/Amsterdam")


def said(lang: str, weekday: int, day: int, month: int, clock: str, year: int = 0) -> str:
    """A moment as the catalog words it (weekday 0 is Monday, month 1 January)."""
    names = {
        "weekday": words(lang, "when.weekdays")[weekday],
        "day": day,
        "month": words(lang, "when.months")[month - 1],
        "time": clock,
    }
    return t(lang, "when.said_year", **names, year=year) if year else t(lang, "when.said", **names)


async def _titles(app: App, lang: str) -> list[str]:
    async with app.uow() as uow:
        session = (await uow.sessions.for_team(1))[-1]
        return [round_title(lang, r) for r in await uow.sessions.rounds(session.id or 0)]


async def _plan_of(d: Driver, who: str, starts_at: str) -> list[str]:
    reply = await d.form(
        who, "new_session", title="Plan", question="Q", format="custom",
        rounds="checkin start-stop-continue", starts_at=starts_at, round_length="1",
    )  # fmt: skip
    return reply.splitlines()


async def test_a_dutch_coordinator_reads_the_plan_in_dutch(app: App, clock: ManualClock) -> None:
    clock.set(datetime(2027, 3, 22, 9, 0, tzinfo=AMS))
    d = Driver(app)
    await team_of(d, "Sanne", "Ahmed")
    lines = await _plan_of(d, "Sanne", "di 23 maart 10:00")
    first, second = await _titles(d.app, "nl")
    heading = t("nl", "sessions.created_async", zone="Europe/Amsterdam")
    assert lines[-3:] == [
        heading,
        t("nl", "sessions.plan_round", position=1, title=first,
          opens=said("nl", 1, 23, 3, "10:00"), closes=said("nl", 2, 24, 3, "10:00")),
        t("nl", "sessions.plan_round", position=2, title=second,
          opens=said("nl", 2, 24, 3, "10:00"), closes=said("nl", 3, 25, 3, "10:00")),
    ], lines  # fmt: skip
    assert not [line for line in lines[-2:] if "2027" in line or "Europe/" in line]


async def test_an_english_coordinator_in_london_reads_it_in_english_in_london_time(
    app: App, clock: ManualClock
) -> None:
    clock.set(datetime(2027, 3, 22, 9, 0, tzinfo=AMS))
    d = Driver(app, lang="en")
    await team_of(d, "Oliver", "Ahmed")
    await d.cmd("Oliver", "tz", "Europe/London")
    lines = await _plan_of(d, "Oliver", "tue 23 march 9:00")
    first, second = await _titles(d.app, "en")
    assert lines[-3:] == [
        t("en", "sessions.created_async", zone="Europe/London"),
        t("en", "sessions.plan_round", position=1, title=first,
          opens=said("en", 1, 23, 3, "09:00"), closes=said("en", 2, 24, 3, "09:00")),
        t("en", "sessions.plan_round", position=2, title=second,
          opens=said("en", 2, 24, 3, "09:00"), closes=said("en", 3, 25, 3, "09:00")),
    ], lines  # fmt: skip


async def test_the_year_is_said_only_when_it_is_not_this_one(app: App, clock: ManualClock) -> None:
    """From Thursday 30 December 2027: round 2 closes on Monday 3 January 2028 (New Year's Day
    is a Saturday)."""
    clock.set(datetime(2027, 12, 20, 9, 0, tzinfo=AMS))
    d = Driver(app)
    await team_of(d, "Sanne", "Ahmed")
    lines = await _plan_of(d, "Sanne", "2027-12-30 10:00")
    _first, second = await _titles(d.app, "nl")
    assert lines[-1] == t(
        "nl", "sessions.plan_round", position=2, title=second,
        opens=said("nl", 4, 31, 12, "10:00"), closes=said("nl", 0, 3, 1, "10:00", year=2028),
    ), lines  # fmt: skip


async def test_the_coordinator_reads_a_moved_next_plan_as_they_say_it(
    app: App, clock: ManualClock
) -> None:
    """After the first session, Fleur only takes messages from 10:30 to 11:00: the series' next
    plan moves round 1's close a working day on, and the coordinator's DM says why and shows
    the plan in their language, as the reply to the form does."""
    clock.set(datetime(2027, 3, 1, 9, 0, tzinfo=AMS))
    d = Driver(app, lang="en")
    await team_of(d, "Sanne", "Ahmed", "Fleur")
    await d.form(
        "Sanne", "new_session", title="Week", question="Q", format="custom", rounds="checkin",
        starts_at="2027-03-02 12:00", round_length="1", recurrence="weekly",
    )  # fmt: skip
    await d.cmd("Fleur", "quiet", "11:00-10:30")
    await move_clock(app, clock, datetime(2027, 3, 3, 13, 0, tzinfo=AMS), d.deliver)
    told = [s for s in d.sent if s.kind == "plan_moved"]
    (title,) = await _titles(app, "en")
    assert [(s.to.kind, s.to.id) for s in told] == [("dm", 1)]
    assert told[0].text.splitlines() == [
        t("en", "sessions.plan_moved_heading", title="Week", zone="Europe/Amsterdam"),
        t("en", "sessions.plan_moves.reach", position=1),
        t("en", "sessions.plan_round", position=1, title=title,
          opens=said("en", 1, 9, 3, "12:00"), closes=said("en", 3, 11, 3, "12:00")),
    ]  # fmt: skip
