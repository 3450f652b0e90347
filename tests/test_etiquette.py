"""Nudges respect working hours, weekends, Dutch holidays and daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from handlers.etiquette import Etiquette, holiday_name

AMS = ZoneInfo("Europe/Amsterdam")
E = Etiquette()


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMS)


@pytest.mark.parametrize(
    ("asked", "expected"),
    [
        (local(2027, 3, 5, 17, 59), local(2027, 3, 5, 17, 59)),  # Friday, still working
        (local(2027, 3, 5, 18, 0), local(2027, 3, 8, 8, 30)),  # Friday evening -> Monday
        (local(2027, 3, 6, 11, 0), local(2027, 3, 8, 8, 30)),  # Saturday -> Monday
        (local(2027, 3, 9, 6, 0), local(2027, 3, 9, 8, 30)),  # early Tuesday -> 08:30
        (local(2027, 3, 9, 8, 30), local(2027, 3, 9, 8, 30)),  # exactly the start
        (local(2027, 4, 26, 19, 0), local(2027, 4, 28, 8, 30)),  # Koningsdag (Tue 27 April)
        (local(2027, 5, 5, 20, 0), local(2027, 5, 7, 8, 30)),  # Hemelvaartsdag (Thu 6 May)
        (local(2027, 12, 24, 18, 30), local(2027, 12, 27, 8, 30)),  # Christmas on a weekend
        # Saturday before the spring DST change (Sun 28 March), which is Easter: Monday 29
        # is Tweede Paasdag, so the slot is Tuesday 08:30 summer time.
        (local(2027, 3, 27, 12, 0), local(2027, 3, 30, 8, 30)),
        (local(2027, 10, 30, 12, 0), local(2027, 11, 1, 8, 30)),  # over the autumn DST change
    ],
)
def test_next_working_slot(asked: datetime, expected: datetime) -> None:
    slot = E.next_slot(asked)
    assert slot.tzinfo == UTC
    assert slot == expected.astimezone(UTC)
    assert slot.astimezone(AMS).time() == expected.time()


def test_the_wall_clock_holds_across_dst() -> None:
    before = E.next_slot(local(2027, 3, 27, 12, 0))  # -> Tue 30 March 08:30 CEST
    after = E.next_slot(local(2027, 11, 1, 7, 0))  # -> Mon 1 Nov 08:30 CET
    assert before.hour == 6 and after.hour == 7  # UTC hours differ, local 08:30 both


def test_time_zones_and_own_quiet_hours() -> None:
    london = Etiquette(timezone="Europe/London", quiet_start=time(17, 0), quiet_end=time(9, 0))
    asked = datetime(2027, 3, 9, 16, 30, tzinfo=UTC)  # 16:30 in London: allowed
    assert london.next_slot(asked) == asked
    late = datetime(2027, 3, 9, 17, 30, tzinfo=UTC)
    assert london.next_slot(late) == datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
    daytime_quiet = Etiquette(quiet_start=time(12, 0), quiet_end=time(13, 0))
    assert daytime_quiet.next_slot(local(2027, 3, 9, 12, 15)) == local(2027, 3, 9, 13, 0)


def test_holidays_are_configurable_by_country() -> None:
    assert holiday_name("NL", date(2027, 4, 27)) is not None
    belgium = Etiquette(country="BE")
    assert belgium.allows(local(2027, 4, 27, 10, 0))  # no Koningsdag in Belgium
    assert not belgium.allows(local(2027, 7, 21, 10, 0))  # but its national day


def test_day_bounds_on_dst_days() -> None:
    start, end = E.day_bounds(date(2027, 3, 28))
    assert (end - start).total_seconds() == 23 * 3600
    start, end = E.day_bounds(date(2027, 10, 31))
    assert (end - start).total_seconds() == 25 * 3600
