"""Dates and times as people type them (handlers/when.py), and every form field that takes one:
a session's start, a commitment's due date, the Teams card's pickers, `nudges list --due-before`."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.clock import ManualClock
from bot.teams.cards import submission
from bot.wiring import App
from handlers.context import Refusal
from handlers.when import parse_day, parse_moment, understood_text
from prompts.catalog import LANGUAGES, t, words
from tests.driver import Driver, team_of

AMS = "Europe/Amsterdam"
LONDON = "Europe/London"
# Tuesday 1 December 2026, 15:00 in Amsterdam.
NOW = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
ZONES = (AMS, LONDON, "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC")


def at(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone))  # type: ignore[misc]


TUESDAY_TEN = at(AMS, 2026, 12, 8, 10, 0)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2026-12-08 10:00", TUESDAY_TEN),
        ("8 dec 10:00", TUESDAY_TEN),
        ("8 december 2026 10.00", TUESDAY_TEN),
        ("di 10:00", TUESDAY_TEN),
        ("dinsdag 10 uur", TUESDAY_TEN),
        ("tue 10am", TUESDAY_TEN),
        ("Tuesday at 10:00", TUESDAY_TEN),
        ("December 8th, 10:00", TUESDAY_TEN),
        ("op 8 december om 10u", TUESDAY_TEN),
        ("8-12-2026 10:00", TUESDAY_TEN),
        ("8/12 10:00", TUESDAY_TEN),
        ("2026-12-08T10:00+01:00", TUESDAY_TEN),
        ("2026-12-08T09:00Z", TUESDAY_TEN),
        ("2026-12-08T14:30+05:30", TUESDAY_TEN),
        ("morgen 9:00", at(AMS, 2026, 12, 2, 9, 0)),
        ("tomorrow 9:00", at(AMS, 2026, 12, 2, 9, 0)),
        ("tomorrow 2pm", at(AMS, 2026, 12, 2, 14, 0)),
        ("overmorgen", at(AMS, 2026, 12, 3, 9, 0)),  # no time: 09:00, said back
        ("the day after tomorrow 12pm", at(AMS, 2026, 12, 3, 12, 0)),
        ("di 16:00", at(AMS, 2026, 12, 1, 16, 0)),  # today, still to come
        ("di 14:00", TUESDAY_TEN.replace(hour=14)),  # today's has passed: next week's
        ("volgende dinsdag 10:00", TUESDAY_TEN),
        ("12 jan 9:30", at(AMS, 2027, 1, 12, 9, 30)),  # no year: the next 12 January
        ("dinsdag 8 december 2026 om 10:00 (Europe/Amsterdam)", TUESDAY_TEN),
        ("8 dec 10:00 (Europe/London)", at(LONDON, 2026, 12, 8, 10, 0)),
    ],
)
def test_the_common_dutch_and_english_forms(typed: str, expected: datetime) -> None:
    understood = parse_moment(typed, AMS, NOW)
    assert understood.moment == expected
    assert understood.moment.tzinfo is not None


def test_what_was_understood_is_said_back_in_the_persons_language() -> None:
    understood = parse_moment("di 10:00", AMS, NOW)
    assert (
        understood.check("nl")
        == "Begrijp ik goed: dinsdag 8 december 2026 om 10:00 (Europe/Amsterdam)?"
    )
    assert understood.text("en") == t(
        "en", "when.understood", weekday="Tuesday", day=8, month="December", year=2026,
        time="10:00", zone=AMS,
    )  # fmt: skip
    # Month and day names are the catalog's, in both languages.
    for lang in LANGUAGES:
        assert words(lang, "when.weekdays")[1] in understood.text(lang)
        assert words(lang, "when.months")[11] in understood.text(lang)


def listed_examples(text: str) -> list[str]:
    """The forms an answer lists, on its "•" lines, split at commas and "of"/"or"."""
    return [
        form.strip()
        for line in text.splitlines()
        if line.startswith("•")
        for form in re.split(r",| of | or ", line.removeprefix("•"))
    ]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_unreadable_time_is_answered_with_forms_that_are_all_accepted(lang: str) -> None:
    with pytest.raises(Refusal) as refused:
        parse_moment("volgende maand ergens", AMS, NOW)
    assert refused.value.key == "when.not_understood"
    text = t(lang, refused.value.key, **refused.value.params)
    assert "volgende maand ergens" in text and AMS in text
    # Every example the answer lists is itself understood.
    examples = listed_examples(text)
    assert len(examples) >= 6
    for form in examples:
        parse_moment(form, AMS, NOW)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_unreadable_day_lists_days_that_are_all_accepted(lang: str) -> None:
    with pytest.raises(Refusal) as refused:
        parse_day("ooit", date(2026, 12, 1))
    text = t(lang, refused.value.key, **refused.value.params)
    examples = listed_examples(text)
    assert len(examples) >= 6
    for form in examples:
        parse_day(form, date(2026, 12, 1))


@pytest.mark.parametrize(
    "typed", ["", "volgende maand", "32 dec", "8 dec 25:00", "wo 8 dec", "13pm", "8.12 10:00", "10"]
)
def test_what_is_not_a_moment_is_refused_politely(typed: str) -> None:
    with pytest.raises(Refusal) as refused:
        parse_moment(typed, AMS, NOW)
    assert refused.value.key.startswith("when.")
    for lang in LANGUAGES:
        assert t(lang, refused.value.key, **refused.value.params)


def test_a_weekday_that_does_not_match_the_date_is_asked_about() -> None:
    with pytest.raises(Refusal) as refused:
        parse_moment("woensdag 8 december 10:00", AMS, NOW)
    assert refused.value.key == "when.weekday_mismatch"


def test_the_clocks_changing() -> None:
    # 02:30 does not exist on 28 March 2027 in Amsterdam: the moment moves forward, and says so.
    skipped = parse_moment("28 maart 2027 02:30", AMS, NOW)
    assert skipped.moment == at(AMS, 2027, 3, 28, 3, 30)
    assert "03:30" in skipped.text("nl")
    # 02:30 happens twice on 31 October 2027: the words carry the offset, and read back the same.
    twice = parse_moment("2027-10-31T02:30+01:00", AMS, NOW)
    assert "+01:00" in twice.text("nl")
    again = parse_moment(twice.text("nl"), AMS, NOW).moment
    assert again.astimezone(UTC) == twice.moment.astimezone(UTC)


# --- any accepted input reads back to the same moment ----------------------------------------

moments = st.datetimes(
    min_value=datetime(2026, 12, 2), max_value=datetime(2040, 12, 31), timezones=st.just(UTC)
).map(lambda d: d.replace(second=0, microsecond=0))


@settings(max_examples=300, deadline=None)
@given(moment=moments, zone=st.sampled_from(ZONES), lang=st.sampled_from(LANGUAGES))
@example(moment=datetime(2027, 10, 31, 0, 30, tzinfo=UTC), zone=AMS, lang="nl")  # 02:30 twice
@example(moment=datetime(2027, 10, 31, 1, 30, tzinfo=UTC), zone=AMS, lang="en")
def test_any_moment_said_back_reads_back_to_itself(moment: datetime, zone: str, lang: str) -> None:
    said = understood_text(lang, moment, zone)
    # In UTC: an hour that happens twice never equals across zones (PEP 495).
    assert parse_moment(said, AMS, NOW).moment.astimezone(UTC) == moment  # its zone is in the words


def _typed_forms(day: date, hour: int, minute: int, lang: str) -> st.SearchStrategy[str]:
    """The ways someone may type this day and time."""
    months = words(lang, "when.months")
    weekdays = words(lang, "when.weekdays")
    month, weekday = months[day.month - 1], weekdays[day.weekday()]
    clock = st.sampled_from(
        [f"{hour}:{minute:02d}", f"{hour:02d}.{minute:02d}", f"{hour}u{minute:02d}"]
        + ([f"{hour} uur", f"{hour}h"] if minute == 0 else [])
        + ([f"{hour % 12 or 12}{'am' if hour < 12 else 'pm'}"] if minute == 0 else [])
        + [f"{hour % 12 or 12}:{minute:02d} {'pm' if hour >= 12 else 'am'}"]
    )
    dated = st.sampled_from(
        [
            f"{day.day} {month} {day.year}",
            f"{day.day} {month[:3]} {day.year}",
            f"{weekday} {day.day} {month.lower()} {day.year}",
            f"{month} {day.day} {day.year}",
            f"{day.isoformat()}",
            f"{day.day}-{day.month}-{day.year}",
            f"{day.day}/{day.month}/{day.year}",
        ]
    )
    return st.tuples(dated, clock, st.sampled_from(["", "om ", "at "])).map(
        lambda p: f"{p[0]} {p[2]}{p[1]}"
    )


@st.composite
def typed_moments(draw: st.DrawFn) -> tuple[str, str]:
    day = draw(st.dates(min_value=date(2026, 12, 2), max_value=date(2040, 12, 31)))
    hour, minute = draw(st.integers(0, 23)), draw(st.integers(0, 59))
    lang = draw(st.sampled_from(LANGUAGES))
    return draw(_typed_forms(day, hour, minute, lang)), lang


@settings(max_examples=400, deadline=None)
@given(typed=typed_moments(), zone=st.sampled_from(ZONES))
def test_any_typed_form_reads_back_through_what_is_said(typed: tuple[str, str], zone: str) -> None:
    text, lang = typed
    understood = parse_moment(text, zone, NOW)
    again = parse_moment(understood.text(lang), zone, NOW)
    assert again.moment.astimezone(UTC) == understood.moment.astimezone(UTC), text
    assert again.text(lang) == understood.text(lang)


def _vocabulary() -> list[str]:
    found = {
        "10:00",
        "9.30",
        "8",
        "12",
        "2027",
        "3pm",
        "10am",
        "uur",
        "om",
        "at",
        "+01:00",
        "14u15",
    }
    for lang in LANGUAGES:
        for key in ("months", "weekdays", "weekday_abbreviations", "today", "tomorrow", "next"):
            found |= set(words(lang, f"when.{key}"))
    return sorted(found)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pieces=st.lists(st.sampled_from(_vocabulary()), min_size=1, max_size=5),
    zone=st.sampled_from(ZONES),
    lang=st.sampled_from(LANGUAGES),
)
def test_anything_typed_is_refused_politely_or_reads_back(
    pieces: list[str], zone: str, lang: str
) -> None:
    text = " ".join(pieces)
    try:
        understood = parse_moment(text, zone, NOW)
    except Refusal as refused:
        assert t(lang, refused.key, **refused.params)
        return
    again = parse_moment(understood.text(lang), zone, NOW).moment
    assert again.astimezone(UTC) == understood.moment.astimezone(UTC)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_text_at_all_is_a_moment_or_a_polite_no(text: str) -> None:
    try:
        parse_moment(text, AMS, NOW)
    except Refusal as refused:
        assert refused.key.startswith("when.")


# --- every field that takes a time or a date --------------------------------------------------


async def test_a_session_starts_at_a_time_typed_as_people_type_it(
    app: App, clock: ManualClock
) -> None:
    """Issue 14, item 11: `2026-12-08 10:00` was refused (only ISO with an offset was read)."""
    clock.set(NOW)
    d = Driver(app)
    await team_of(d, "Sanne", "Ahmed")
    reply = await d.form(
        "Sanne", "new_session", title="T", question="Q", starts_at="2026-12-08 10:00"
    )
    said = t("nl", "when.check", when=understood_text("nl", TUESDAY_TEN, AMS))
    assert said in reply
    async with app.uow() as uow:
        (session,) = await uow.sessions.for_team(1)
    assert session.starts_at == TUESDAY_TEN


async def test_a_session_start_in_the_coordinators_own_zone(app: App, clock: ManualClock) -> None:
    clock.set(NOW)
    d = Driver(app)
    d.lang = "en"
    await team_of(d, "Sanne", "Ahmed")
    await d.cmd("Sanne", "tz", LONDON)
    reply = await d.form("Sanne", "new_session", title="T", question="Q", starts_at="tue 10am")
    london_ten = at(LONDON, 2026, 12, 8, 10, 0)
    assert understood_text("en", london_ten, LONDON) in reply
    async with app.uow() as uow:
        (session,) = await uow.sessions.for_team(1)
    assert session.starts_at == london_ten


async def test_a_due_date_typed_as_people_type_it(app: App, clock: ManualClock) -> None:
    clock.set(NOW)
    d = Driver(app)
    await team_of(d, "Sanne", "Ahmed")
    await d.form("Sanne", "new_session", title="T", question="Q", format="custom", rounds="commit")
    await d.cmd("Sanne", "start")
    await d.form("Ahmed", "commit", text="Bellen", due="vrijdag", mode="samen doen")
    await d.form("Ahmed", "commit", text="Mailen", due="8 dec", mode="samen doen")
    async with app.uow() as uow:
        dues = sorted(c.due_date for c in await uow.commitments.for_team(1))
    assert dues == [date(2026, 12, 4), date(2026, 12, 8)]


def test_the_teams_pickers_give_the_persons_wall_clock_across_the_clock_change() -> None:
    zone = ZoneInfo(AMS)
    sent = {"form": "new_session", "new_session:starts_at:date": "2027-03-28",
            "new_session:starts_at:time": "02:30"}  # fmt: skip
    found = submission(sent, zone)
    assert found is not None and not hasattr(found, "action_id")
    moment = datetime.fromisoformat(found.values["starts_at"])  # type: ignore[union-attr]
    # 02:30 is skipped that night: the same instant as before (01:30 UTC), now written as the
    # wall time that exists, 03:30+02:00, as the core says it back (not "02:30+01:00").
    assert moment == at(AMS, 2027, 3, 28, 3, 30)
    assert moment.utcoffset() == timedelta(hours=2)


async def test_nudges_list_due_before_takes_the_same_forms(sqlite_url: str) -> None:
    env = {"COULISSE_DATABASE_URL": sqlite_url, "COULISSE_TIMEZONE": AMS}
    runner = CliRunner()
    for typed in ("2027-03-20 00:00", "20 maart 2027 0:00", "tomorrow 9:00"):
        done = await asyncio.to_thread(
            runner.invoke, cli, ["nudges", "list", "--due-before", typed], env=env
        )
        assert done.exit_code == 0, (typed, done.output, done.exception)
    refused = await asyncio.to_thread(
        runner.invoke, cli, ["nudges", "list", "--due-before", "ooit"], env=env
    )
    assert refused.exit_code == 2
    assert t("nl", "when.not_understood", text="ooit", zone=AMS).splitlines()[0] in (
        refused.output + (refused.stderr if refused.stderr_bytes is not None else "")
    )


def test_a_wall_time_with_no_date_is_today_or_tomorrow() -> None:
    assert parse_moment("16:00", AMS, NOW).moment == at(AMS, 2026, 12, 1, 16, 0)
    assert parse_moment("9:00", AMS, NOW).moment == at(AMS, 2026, 12, 2, 9, 0)
    assert parse_moment("9:00", AMS, NOW, default_time=time(9, 0)).has_time


@settings(max_examples=200, deadline=None)
@given(
    day=st.dates(min_value=date(2026, 12, 1), max_value=date(2040, 12, 31)),
    lang=st.sampled_from(LANGUAGES),
)
def test_any_day_said_back_reads_back_to_itself(day: date, lang: str) -> None:
    said = understood_text(lang, datetime.combine(day, time(12, 0), UTC), "UTC", with_time=False)
    assert parse_day(said, date(2026, 12, 1)) == day
