"""Dates and times as people type them, in Dutch or English, in their own time zone.

`2026-12-08 10:00`, `8 dec 10:00`, `8 december 2026 10.00`, `di 10:00`, `dinsdag 10 uur`,
`tue 10am`, `morgen 9:00`, `tomorrow 9:00`, `overmorgen`, ISO 8601 with an offset. Month and day
names come from `prompts/*/when.yaml`, both languages at once (people mix them). What was
understood comes back as text in the person's language ("dinsdag 8 december 2026 om 10:00
(Europe/Amsterdam)"), which reads back to the same moment: people see what the bot will do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from handlers.context import Refusal
from prompts.catalog import LANGUAGES, t, words

# "dec", "dins", "tues": a name's first three or four letters (longer starts are words of
# their own: "maand" is no Monday).
PREFIXES = (3, 4)
_ISO = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[t ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:z|[+-]\d{2}:?\d{2})?)?"
)
_NUMERIC_DATE = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})|(\d{1,2})([-/.])(\d{1,2})(?:\5(\d{2}|\d{4}))?"
)
_CLOCK = re.compile(r"(\d{1,2})(?:[:.](\d{2})|[uh](\d{2}))?(am|pm|a\.m\.|p\.m\.)?([uh]|uur)?")
_DAY_NUMBER = re.compile(r"(\d{1,2})(?:st|nd|rd|th|e|ste|de)?\.?")
_YEAR = re.compile(r"\d{4}")
_OFFSET = re.compile(r"(?:utc|gmt)?([+-])(\d{2}):?(\d{2})|z|utc")
_ZONE = re.compile(r"\(?\s*([A-Za-z_]+(?:/[A-Za-z0-9_+-]+)+|UTC)\s*\)?\s*$")
_AM_PM = {"am": 0, "a.m.": 0, "pm": 12, "p.m.": 12}


@dataclass(frozen=True)
class Understood:
    """A moment as understood: aware, with the zone it is told in."""

    moment: datetime
    zone: str
    has_time: bool = True

    def text(self, lang: str) -> str:
        """In words, the way it reads back to the same moment."""
        return understood_text(lang, self.moment, self.zone, with_time=self.has_time)

    def check(self, lang: str) -> str:
        """'Begrijp ik goed: …?'"""
        return t(lang, "when.check", when=self.text(lang))


@dataclass(frozen=True)
class _Words:
    months: dict[str, int]
    weekdays: dict[str, int]
    relative: dict[str, int]  # "morgen" -> 1
    phrases: tuple[tuple[str, str], ...]  # multi-word relative words -> one token
    next: frozenset[str]
    fillers: frozenset[str]
    hours: frozenset[str]


def _names(key: str, short_key: str, count: int) -> dict[str, int]:
    """Full names, their short forms, and their unambiguous first three or four letters,
    in both languages, to their index (0-based)."""
    found: dict[str, int] = {}
    starts: dict[str, set[int]] = {}
    for lang in LANGUAGES:
        names = [n.casefold() for n in words(lang, f"when.{key}")[:count]]
        for index, name in enumerate(names):
            found[name] = index
            for end in PREFIXES:
                if end < len(name):
                    starts.setdefault(name[:end], set()).add(index)
        shorts = [s.casefold() for s in words(lang, f"when.{short_key}")]
        for position, short in enumerate(shorts):
            # A full list is in order (ma, di, …); a few extras belong to the name that
            # starts with the same letter and shares the most letters ("mrt" is maart).
            found[short] = position if len(shorts) == count else _closest(names, short)
    for start, indexes in starts.items():
        if len(indexes) == 1:
            found.setdefault(start, next(iter(indexes)))
    return found


def _closest(names: list[str], short: str) -> int:
    alike = [i for i, name in enumerate(names) if name[0] == short[0]]
    return max(alike, key=lambda i: sum(c in names[i] for c in short))


@cache
def _words() -> _Words:
    relative: dict[str, int] = {}
    phrases: list[tuple[str, str]] = []
    for lang in LANGUAGES:
        for offset, key in enumerate(("today", "tomorrow", "day_after_tomorrow")):
            for word in words(lang, f"when.{key}"):
                word = word.casefold()
                if " " in word:
                    token = f"+{offset}d"
                    phrases.append((word, token))
                    relative[token] = offset
                else:
                    relative[word] = offset
    phrases.sort(key=lambda p: -len(p[0]))  # "the day after tomorrow" before "day after …"

    def listed(key: str) -> frozenset[str]:
        return frozenset(w.casefold() for lang in LANGUAGES for w in words(lang, f"when.{key}"))

    return _Words(
        months={k: v + 1 for k, v in _names("months", "month_abbreviations", 12).items()},
        weekdays=_names("weekdays", "weekday_abbreviations", 7),
        relative=relative,
        phrases=tuple(phrases),
        next=listed("next"),
        fillers=listed("fillers"),
        hours=listed("hour_words"),
    )


@cache
def _zones() -> dict[str, str]:
    return {name.casefold(): name for name in available_timezones()}


@dataclass
class _Parts:
    relative: int | None = None
    weekday: int | None = None
    next: bool = False
    day: int | None = None
    month: int | None = None
    year: int | None = None
    hour: int | None = None
    minute: int = 0
    offset: timezone | None = None

    def set(self, name: str, value: object) -> None:
        if getattr(self, name) not in (None, False):
            raise ValueError(f"{name} twice")
        setattr(self, name, value)


def parse_moment(
    text: str,
    zone: str,
    now: datetime,
    *,
    default_time: time | None = time(9, 0),
) -> Understood:
    """A date and time typed by someone in `zone`; a Refusal listing the accepted forms."""
    try:
        return _understand(text, zone, now, default_time)
    except Refusal:
        raise
    except (ValueError, OverflowError, KeyError):
        raise Refusal("when.not_understood", text=text.strip()[:60], zone=zone) from None


def parse_day(text: str, today: date) -> date:
    """A day typed by someone (`8 dec`, `di`, `morgen`, `2026-12-08`, `8-12-2026`): with
    today known where they are, no time zone is needed."""
    now = datetime.combine(today, time(0), UTC)
    try:
        return _understand(text, "UTC", now, None).moment.date()
    except Refusal:
        raise
    except (ValueError, OverflowError, KeyError):
        raise Refusal("when.not_understood_day", text=text.strip()[:60]) from None


def day_text(lang: str, day: date) -> str:
    """'dinsdag 8 december 2026': a day said back in words (a due date), no zone needed."""
    return understood_text(lang, datetime.combine(day, time(0), UTC), "UTC", with_time=False)


def understood_text(lang: str, moment: datetime, zone: str, *, with_time: bool = True) -> str:
    """'dinsdag 8 december 2026 om 10:00 (Europe/Amsterdam)'; the offset is added on the hour
    that happens twice when the clocks go back, so the words name one moment."""
    local = moment.astimezone(ZoneInfo(zone))
    names = _names_of(lang, local)
    if not with_time:
        return t(lang, "when.understood_day", **names)
    return t(lang, "when.understood", **names, time=_clock_of(local), zone=zone)


def said_text(lang: str, moment: datetime, zone: str, now: datetime) -> str:
    """'dinsdag 23 maart om 10:00', as people say a moment in a list whose heading names the
    zone: the year only when it is not this year's."""
    local = moment.astimezone(ZoneInfo(zone))
    names = _names_of(lang, local)
    key = "when.said" if local.year == now.astimezone(local.tzinfo).year else "when.said_year"
    return t(lang, key, **names, time=_clock_of(local))


def _names_of(lang: str, local: datetime) -> dict[str, object]:
    return {
        "weekday": words(lang, "when.weekdays")[local.weekday()],
        "day": local.day,
        "month": words(lang, "when.months")[local.month - 1],
        "year": local.year,
    }


def _clock_of(local: datetime) -> str:
    clock = local.strftime("%H:%M")
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        clock += local.strftime(" %z")[:-2] + ":" + local.strftime("%z")[-2:]
    return clock


def _understand(text: str, zone: str, now: datetime, default_time: time | None) -> Understood:
    raw = " ".join(text.split())
    found = _ZONE.search(raw)
    if found and (found[1].casefold() in _zones() or found[1] == "UTC"):
        zone = _zones().get(found[1].casefold(), "UTC")
        raw = raw[: found.start()].strip()
    tz = ZoneInfo(zone)
    lowered = raw.casefold().replace(",", " ")
    if not lowered:
        raise ValueError("empty")
    if _ISO.fullmatch(lowered):
        try:
            return _iso(lowered, zone, tz, default_time)
        except ValueError:
            pass  # "2026-12-08 10.00": read word by word below
    parts = _parts(lowered)
    day = _day(parts, now.astimezone(tz).date())
    if parts.hour is None:
        if default_time is None:
            return Understood(datetime.combine(day, time(0), tz), zone, has_time=False)
        wall = default_time
    else:
        wall = time(parts.hour, parts.minute)
    moment = _local(datetime.combine(day, wall), parts.offset or tz)
    if moment < now and parts.weekday is not None and parts.day is None and not parts.next:
        moment = _local(datetime.combine(day + timedelta(days=7), wall), parts.offset or tz)
    if parts.hour is not None and moment < now and _only_a_time(parts):
        moment = _local(datetime.combine(day + timedelta(days=1), wall), parts.offset or tz)
    return Understood(moment.astimezone(tz), zone)


def _iso(lowered: str, zone: str, tz: ZoneInfo, default_time: time | None) -> Understood:
    parsed = datetime.fromisoformat(lowered.upper())
    if "t" not in lowered and " " not in lowered:  # a date alone
        if default_time is None:
            return Understood(datetime.combine(parsed.date(), time(0), tz), zone, has_time=False)
        parsed = datetime.combine(parsed.date(), default_time)
    parsed = parsed.replace(second=0, microsecond=0)  # minutes: what is said back
    moment = parsed if parsed.tzinfo is not None else _local(parsed, tz)
    return Understood(moment.astimezone(tz), zone)


def wall_clock(day: date, wall: time, zone: str) -> datetime:
    """A date and time on a zone's clock (a platform's date and time pickers), aware."""
    return _local(datetime.combine(day, wall), ZoneInfo(zone))


def _local(naive: datetime, tz: ZoneInfo | timezone) -> datetime:
    """A wall-clock time in a zone; a time the clocks skip moves forward (02:30 -> 03:30)."""
    return naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)


def _only_a_time(parts: _Parts) -> bool:
    return parts.relative is None and parts.weekday is None and parts.month is None


def _tokens(lowered: str) -> list[str]:
    vocabulary = _words()
    for phrase, token in vocabulary.phrases:
        lowered = re.sub(rf"(?<!\S){re.escape(phrase)}(?!\S)", token, lowered)
    return [w for w in lowered.split() if w not in vocabulary.fillers]


def _parts(lowered: str) -> _Parts:
    vocabulary = _words()
    tokens = _tokens(lowered)
    parts = _Parts()
    i = 0
    while i < len(tokens):
        token, following = tokens[i], tokens[i + 1] if i + 1 < len(tokens) else ""
        bare = token.rstrip(".")
        i += 1
        if token in vocabulary.next:
            parts.set("next", True)
        elif token in vocabulary.relative:
            parts.set("relative", vocabulary.relative[token])
        elif bare in vocabulary.weekdays and not _month_here(bare, tokens, i - 1):
            parts.set("weekday", vocabulary.weekdays[bare])
        elif bare in vocabulary.months:
            parts.set("month", vocabulary.months[bare])
        elif (m := _NUMERIC_DATE.fullmatch(token)) and not _is_clock(token, following):
            _numeric_date(parts, m)
        elif _DAY_NUMBER.fullmatch(token) and following.rstrip(".") in vocabulary.months:
            parts.set("day", int(_DAY_NUMBER.fullmatch(token)[1]))  # type: ignore[index]
        elif _DAY_NUMBER.fullmatch(token) and parts.month is not None and parts.day is None:
            if not _is_clock(token, following):
                parts.set("day", int(_DAY_NUMBER.fullmatch(token)[1]))  # type: ignore[index]
            else:
                i = _clock(parts, token, following, i)
        elif _YEAR.fullmatch(token) and parts.month is not None and parts.year is None:
            parts.set("year", int(token))
        elif _CLOCK.fullmatch(token):
            i = _clock(parts, token, following, i)
        elif m := _OFFSET.fullmatch(token):
            parts.set("offset", _offset(m))
        else:
            raise ValueError(token)
    return parts


def _month_here(word: str, tokens: list[str], i: int) -> bool:
    """'maa' starts maandag and maart: next to a day's number it is the month."""
    if word not in _words().months:
        return False
    around = tokens[max(i - 1, 0) : i] + tokens[i + 1 : i + 2]
    return any(_DAY_NUMBER.fullmatch(w) for w in around)


def _is_clock(token: str, following: str) -> bool:
    """`10.00`, `9:30`, `10am`, `10u`, or a number followed by `uur`/`am`: a time of day."""
    m = _CLOCK.fullmatch(token)
    if m is None:
        return False
    if m[2] or m[3] or m[4] or m[5]:
        return True
    return following in _words().hours or following in _AM_PM


def _clock(parts: _Parts, token: str, following: str, i: int) -> int:
    m = _CLOCK.fullmatch(token)
    assert m is not None
    suffix = m[4]
    if not (m[2] or m[3] or m[4] or m[5]):
        if following in _AM_PM:
            suffix, i = following, i + 1
        elif following in _words().hours:
            i += 1
        else:
            raise ValueError(token)  # a bare number is no time
    elif suffix is None and following in _AM_PM:
        suffix, i = following, i + 1
    elif following in _words().hours:
        i += 1
    hour, minute = int(m[1]), int(m[2] or m[3] or 0)
    if suffix is not None:
        if not 1 <= hour <= 12:
            raise ValueError(token)
        hour = hour % 12 + _AM_PM[suffix]
    if hour > 23 or minute > 59:
        raise ValueError(token)
    parts.set("hour", hour)
    parts.minute = minute
    return i


def _numeric_date(parts: _Parts, m: re.Match[str]) -> None:
    if m[1]:
        parts.set("year", int(m[1]))
        parts.set("month", int(m[2]))
        parts.set("day", int(m[3]))
        return
    if m[5] == "." and not m[7]:
        raise ValueError("8.12 without a year")  # a time, not a date (handled before)
    parts.set("day", int(m[4]))
    parts.set("month", int(m[6]))
    if m[7]:
        year = int(m[7])
        parts.set("year", year + 2000 if year < 100 else year)


def _offset(m: re.Match[str]) -> timezone:
    if not m[1]:
        return UTC
    sign = 1 if m[1] == "+" else -1
    return timezone(sign * timedelta(hours=int(m[2]), minutes=int(m[3])))


def _day(parts: _Parts, today: date) -> date:
    if parts.relative is not None:
        if parts.month is not None or parts.next:
            raise ValueError("a relative day and a date")
        day = today + timedelta(days=parts.relative)
    elif parts.month is not None:
        if parts.day is None or parts.next:
            raise ValueError("a month without a day")
        day = _dated(parts.day, parts.month, parts.year, today)
    elif parts.weekday is not None:
        ahead = (parts.weekday - today.weekday()) % 7
        day = today + timedelta(days=ahead or (7 if parts.next else 0))
        return day
    elif parts.hour is not None and not parts.next:
        return today
    else:
        raise ValueError("no day")
    if parts.weekday is not None and day.weekday() != parts.weekday:
        raise Refusal("when.weekday_mismatch", date=day.isoformat())
    return day


def _dated(day: int, month: int, year: int | None, today: date) -> date:
    if year is not None:
        return date(year, month, day)
    for candidate in range(today.year, today.year + 9):  # 29 February comes back in 8 years
        try:
            found = date(candidate, month, day)
        except ValueError:
            if month == 2 and day == 29:
                continue
            raise
        if found >= today:
            return found
    raise ValueError("no such day")
