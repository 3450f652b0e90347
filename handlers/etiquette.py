"""When a nudge may reach someone: their working hours, in their time zone, on working days.

Quiet hours (default 18:00–08:30), weekends and public holidays move a nudge to the next
working slot. All arithmetic is done on the person's local wall clock, so a nudge meant for
08:30 stays at 08:30 across daylight-saving changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

DEFAULT_COUNTRY = "NL"
WORKDAYS = frozenset(range(5))  # Monday to Friday


@dataclass(frozen=True)
class NudgePolicy:
    """How many nudges, where, and when (settings can change these)."""

    daily_cap: int = 2
    country: str = DEFAULT_COUNTRY
    closing_soon_before: timedelta = timedelta(hours=24)
    overdue_after: timedelta = timedelta(days=1)


@dataclass(frozen=True)
class Etiquette:
    """The rules for one person."""

    timezone: str = "Europe/Amsterdam"
    quiet_start: time = time(18, 0)
    quiet_end: time = time(8, 30)
    country: str = DEFAULT_COUNTRY

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in WORKDAYS and day not in _holidays(self.country, day.year)

    def is_quiet(self, local: time) -> bool:
        if self.quiet_start > self.quiet_end:  # overnight, e.g. 18:00–08:30
            return local >= self.quiet_start or local < self.quiet_end
        return self.quiet_start <= local < self.quiet_end

    def allows(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        return self.is_working_day(local.date()) and not self.is_quiet(local.time())

    def next_slot(self, moment: datetime) -> datetime:
        """The earliest moment at or after `moment` that may carry a nudge (UTC)."""
        local = moment.astimezone(self.zone)
        for _ in range(400):  # a year of days is more than any holiday run
            if self.allows(local):
                return local.astimezone(UTC)
            day = local.date()
            if self.is_working_day(day) and local.time() < self.quiet_end:
                candidate = self.at(day, self.quiet_end)
            else:
                candidate = self.at(day + timedelta(days=1), self.quiet_end)
            local = max(candidate, local + timedelta(minutes=1))
        raise ValueError("no working slot within a year")

    def at(self, day: date, wall: time) -> datetime:
        """A wall-clock time on a local day (a time that does not exist moves forward)."""
        naive = datetime.combine(day, wall)
        aware = naive.replace(tzinfo=self.zone)
        # Round-trip through UTC normalises times skipped by a spring-forward change.
        return aware.astimezone(UTC).astimezone(self.zone)

    def local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def day_bounds(self, day: date) -> tuple[datetime, datetime]:
        """The UTC start and end of a local day (23 or 25 hours on a DST change)."""
        return self.at(day, time(0)).astimezone(UTC), self.at(
            day + timedelta(days=1), time(0)
        ).astimezone(UTC)


@cache
def _holidays(country: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, years=year)


def holiday_name(country: str, day: date) -> str | None:
    found = _holidays(country, day.year).get(day)
    return str(found) if found else None
