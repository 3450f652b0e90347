"""Holiday names in the reader's language: a Dutch coordinator reads "Koningsdag", an English
one "King's Day" (python-holidays' own translations); a calendar without names in a language
gives the English ones. Before, every name was English, inside Dutch sentences too."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.clock import ManualClock
from bot.wiring import App
from handlers.etiquette import holiday_name
from prompts.catalog import t
from tests.driver import Driver, team_of

KINGS_DAY = date(2027, 4, 27)


def test_a_holiday_is_named_in_the_readers_language() -> None:
    assert holiday_name("NL", KINGS_DAY, lang="nl") == "Koningsdag"
    assert holiday_name("NL", KINGS_DAY, lang="en") == "King's Day"
    assert holiday_name("BE", date(2027, 5, 6), lang="nl") != holiday_name(
        "BE", date(2027, 5, 6), lang="en"
    )
    assert holiday_name("NL", date(2027, 4, 28), lang="nl") is None  # a working day


def test_without_names_in_a_language_the_english_ones() -> None:
    # England's calendar has no Dutch names: its English one, not an empty or a raw key.
    assert holiday_name("GB-ENG", date(2027, 5, 3), lang="nl") == "May Day"
    assert holiday_name("GB", date(2027, 5, 3), "ENG", lang="fy") == "May Day"
    # France's has none either: the English name, not the French one.
    assert holiday_name("FR", date(2027, 7, 14), lang="nl") == "National Day"
    assert holiday_name("FR", date(2027, 7, 14), lang="fr") == "Fête nationale"


def test_the_environment_does_not_choose_the_language(monkeypatch: pytest.MonkeyPatch) -> None:
    # The package would read LANGUAGE/LANG when no language is asked for.
    monkeypatch.setenv("LANGUAGE", "nl")
    assert holiday_name("NL", date(2027, 12, 26), lang="en") == "Second Day of Christmas"
    monkeypatch.setenv("LANGUAGE", "en_US")
    assert holiday_name("NL", date(2027, 12, 25), lang="nl") == "Eerste kerstdag"


@pytest.mark.parametrize(("lang", "name"), [("nl", "Koningsdag"), ("en", "King's Day")])
async def test_the_plan_names_the_holiday_in_the_coordinators_language(
    app: App, clock: ManualClock, lang: str, name: str
) -> None:
    clock.set(datetime(2027, 4, 20, 9, 0, tzinfo=ZoneInfo("Europe/Amsterdam")))
    d = Driver(app, lang=lang)
    await team_of(d, "Sanne", "Ahmed")
    reply = await d.form(
        "Sanne", "new_session", title="Koning", question="Q", format="custom",
        rounds="checkin start-stop-continue", starts_at="2027-04-27T10:00+02:00",
        round_length="1",
    )  # fmt: skip
    reason = t(lang, "sessions.plan_moves.start_moved", position=0)
    assert t(lang, "sessions.plan_move_holiday", reason=reason, holiday=name) in reply, reply
