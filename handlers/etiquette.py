"""When a nudge may reach someone: their working hours, in their time zone, on working days.

Quiet hours (default 18:00–08:30), weekends and public holidays move a nudge to the next
working slot. Whose holidays: each person's own (their country and region, from their time
zone unless they set it); a team's calendar uses the installation's (COULISSE_HOLIDAYS).
All arithmetic is done on the person's local wall clock, so a nudge meant for
08:30 stays at 08:30 across daylight-saving changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # imported where used: loading every country's calendar takes 3.6 MiB
    import holidays

DEFAULT_COUNTRY = "NL"
WORKDAYS = frozenset(range(5))  # Monday to Friday

# Whose public holidays a time zone's people most likely keep, as COUNTRY or COUNTRY-REGION
# (ISO 3166, as the holidays package names them): a person's default until they say otherwise
# (`settings holidays GB-SCT`). A zone not listed keeps the installation's COULISSE_HOLIDAYS.
ZONE_HOLIDAYS = {
    "Europe/Amsterdam": "NL",
    "Europe/London": "GB-ENG",
    "Europe/Belfast": "GB-NIR",
    "Europe/Brussels": "BE",
    "Europe/Luxembourg": "LU",
    "Europe/Paris": "FR",
    "Europe/Berlin": "DE",
    "Europe/Dublin": "IE",
    "Europe/Lisbon": "PT",
    "Europe/Madrid": "ES",
    "Europe/Rome": "IT",
    "Europe/Vienna": "AT",
    "Europe/Zurich": "CH",
    "Europe/Copenhagen": "DK",
    "Europe/Stockholm": "SE",
    "Europe/Oslo": "NO",
    "Europe/Helsinki": "FI",
    "Europe/Warsaw": "PL",
    "Europe/Prague": "CZ",
    "Europe/Athens": "GR",
    "America/Paramaribo": "SR",
    "America/Curacao": "CW",
    "America/Aruba": "AW",
}


def split_holidays(code: str) -> tuple[str, str]:
    """'GB-ENG' -> ('GB', 'ENG'); 'nl' -> ('NL', '')."""
    country, _, region = code.strip().partition("-")
    return country.upper(), region


def holidays_for_zone(timezone: str, fallback: str = DEFAULT_COUNTRY) -> tuple[str, str]:
    """The holidays a person in this time zone keeps unless they set their own."""
    return split_holidays(ZONE_HOLIDAYS.get(timezone, fallback))


def own_holidays(country: str, region: str, timezone: str, fallback: str) -> tuple[str, str]:
    """A person's holidays: as they set them, else their time zone's, else the installation's."""
    return (country, region) if country else holidays_for_zone(timezone, fallback)


def known_holidays(country: str, region: str = "") -> tuple[str, str] | None:
    """The country and region as the holidays package spells them, or None when unknown
    ('gb', 'eng' -> ('GB', 'ENG'); 'NL', 'Noord' is a region of the Netherlands)."""
    import holidays

    supported = holidays.list_supported_countries()
    country = country.upper()
    if country not in supported:
        return None
    if not region:
        return country, ""
    regions = {r.casefold(): r for r in supported[country]}
    found = regions.get(region.casefold())
    return (country, found) if found else None


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
    country: str = DEFAULT_COUNTRY  # whose public holidays ("GB-ENG" works too)
    region: str = ""  # e.g. "ENG" for England in "GB"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in WORKDAYS and self.holiday(day) is None

    def holiday(self, day: date) -> str | None:
        """The name of the public holiday on this local day, if it is one."""
        return holiday_name(self.country, day, self.region)

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
def _holidays(
    country: str, region: str, year: int, language: str | None = None
) -> holidays.HolidayBase:
    import holidays

    return holidays.country_holidays(country, subdiv=region or None, years=year, language=language)


def holiday_name(country: str, day: date, region: str = "", lang: str = "en") -> str | None:
    """The public holiday on `day` in a country ("NL", "GB-ENG") or a country and region, named
    in `lang` ("Koningsdag" in Dutch, "King's Day" in English); in English when the calendar
    has no names in that language, in its own when it has no English ones either. Always
    asked for explicitly: left to itself the package picks a language from the environment."""
    if "-" in country:
        country, region = split_holidays(country)
    native = _holidays(country, region, day.year)
    if day not in native:
        return None
    spoken = native.supported_languages

    def code_for(wanted: str) -> str | None:  # 'nl'; 'en' is 'en_GB' in GB, 'en_US' in NL
        regional = sorted(code for code in spoken if code.partition("_")[0] == wanted)
        return next((c for c in (wanted, f"{wanted}_{country}", *regional) if c in spoken), None)

    language = code_for(lang) or code_for("en") or native.default_language
    return str(_holidays(country, region, day.year, language)[day])
