"""The console's clock: a newcomer moves the time on (`/clock +2d`, `/klok di 10:00`) and
watches what a series does by itself: the reminder the working day before, a live meeting
that waits for its coordinator, the question whether to keep a series nobody came to."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.clock import ManualClock
from bot.console.adapter import Console
from bot.console.clock import target_of
from bot.wiring import App
from handlers.model import SessionStatus
from handlers.when import understood_text
from prompts.catalog import t

AMS = ZoneInfo("Europe/Amsterdam")


def test_the_clock_understands_both_languages() -> None:
    now = datetime(2027, 3, 1, 9, 0, tzinfo=AMS)
    for text, hours in (("+2d", 48), ("+2 dagen", 48), ("+3u", 3), ("+3 hours", 3),
                        ("+1 week", 168), ("+2 weken", 336), ("+90 min", 1.5)):  # fmt: skip
        assert (target_of(text, now, "Europe/Amsterdam") - now).total_seconds() == hours * 3600
    assert target_of("2027-03-23 10:00", now, "Europe/Amsterdam") == datetime(
        2027, 3, 23, 10, 0, tzinfo=AMS
    )
    assert target_of("morgen 9:00", now, "Europe/Amsterdam") == datetime(
        2027, 3, 2, 9, 0, tzinfo=AMS
    )


async def test_a_newcomer_watches_a_series_by_moving_the_clock(
    sqlite_app: App, clock: ManualClock
) -> None:
    clock.set(datetime(2027, 3, 1, 8, 0, tzinfo=AMS))
    printed: list[str] = []
    console = Console(sqlite_app, clock, printed.append, team="noord", lang="nl")
    for line in ("/as Sanne gemeente", "/as Ahmed ggd", "/as Sanne gemeente"):
        await console.handle_line(line)
    await console.handle_line(
        "/nieuw Weekstart ; Wat speelt er? ; custom ; rounds=checkin ; starts_at=2027-03-02 10:00"
        " ; recurrence=wekelijks"
    )
    printed.clear()
    await console.handle_line("/klok +2 uur")  # Monday 10:00: the reminder of 09:00 came
    text = "\n".join(printed)
    assert t("nl", "sessions.reminder_heading", title="Weekstart") in text
    when = understood_text("nl", datetime(2027, 3, 1, 10, 0, tzinfo=AMS), "Europe/Amsterdam")
    assert t("nl", "console.clock_moved", when=when, stops=2) in text
    printed.clear()
    await console.handle_line("/clock 2027-03-03 12:00")  # past Tuesday: nobody started it
    text = "\n".join(printed)
    assert t("nl", "sessions.keep_series_question", title="Weekstart") in text
    assert "Ronde 1" not in text  # the meeting never ran by itself
    async with sqlite_app.uow() as uow:
        sessions = list(await uow.sessions.for_team(1))
    assert [s.status for s in sessions] == [SessionStatus.NOT_HELD, SessionStatus.DRAFT]
    printed.clear()
    await console.handle_line("/klok 2027-03-01 10:00")  # the clock only moves forward
    assert t("nl", "console.clock_past", when=understood_text(
        "nl", clock.now(), "Europe/Amsterdam")) in "\n".join(printed)  # fmt: skip
    printed.clear()
    await console.handle_line("/klok straks")
    assert t("nl", "console.clock_help") in "\n".join(printed)
