"""Whose public holidays: each person's own for their nudges (from their time zone, or as they
set it), the team's for its digest, and the console with the same policy as serve
(issue 14, item 10)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

import bot.cli
from bot.clock import ManualClock
from bot.wiring import App
from handlers.etiquette import Etiquette, NudgePolicy, holidays_for_zone, known_holidays
from handlers.model import Person
from handlers.schedule import tick
from prompts.catalog import t
from tests.driver import Driver, started_session

AMS = ZoneInfo("Europe/Amsterdam")
LONDON = ZoneInfo("Europe/London")


def ams(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMS)


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


async def due_check_ins(app: App) -> dict[str, datetime]:
    async with app.uow() as uow:
        return {r.dedupe_key: r.due_at for r in await uow.outbox.pending() if r.kind == "checkin"}


async def person(app: App, platform_id: str) -> Person:
    async with app.uow() as uow:
        found = await uow.directory.person_by_platform_id(1, platform_id)
    assert found is not None
    return found


def test_a_time_zone_says_whose_holidays_by_default() -> None:
    assert holidays_for_zone("Europe/Amsterdam") == ("NL", "")
    assert holidays_for_zone("Europe/London") == ("GB", "ENG")
    assert holidays_for_zone("Europe/Brussels") == ("BE", "")
    assert holidays_for_zone("Asia/Tokyo", "NL") == ("NL", "")  # not listed: the installation's
    assert known_holidays("gb", "sct") == ("GB", "SCT")
    assert known_holidays("XX") is None and known_holidays("NL", "Atlantis") is None
    # England keeps Boxing Day's substitute, not King's Day; the Netherlands the other way round.
    england = Etiquette("Europe/London", country="GB", region="ENG")
    assert not england.is_working_day(datetime(2026, 12, 28).date())
    assert england.is_working_day(datetime(2027, 4, 27).date())
    assert not Etiquette(country="NL").is_working_day(datetime(2027, 4, 27).date())


async def test_a_london_colleagues_check_in_does_not_move_for_kings_day(
    app: App, clock: ManualClock
) -> None:
    """Before: everyone kept Dutch holidays, so London's check-in moved off 27 April too."""
    clock.set(ams(2027, 4, 12, 10, 0))
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="commit")
    await d.cmd("Ahmed", "tz", "Europe/London")
    await d.form("Ahmed", "commit", text="a", due="2027-04-27", mode="samen doen")
    await d.form("Fleur", "commit", text="b", due="2027-04-27", mode="samen doen")
    due = await due_check_ins(app)
    assert due["checkin:1:due"] == london(2027, 4, 27, 9, 0)  # King's Day is not his
    assert due["checkin:2:due"] == ams(2027, 4, 28, 8, 30)  # it is Fleur's: her next morning


async def test_a_london_colleagues_check_in_does_not_land_on_boxing_day(
    app: App, clock: ManualClock
) -> None:
    """Before: 28 December 2026 (Boxing Day's substitute in England) was a working day."""
    clock.set(ams(2026, 12, 14, 10, 0))
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="commit")
    await d.cmd("Ahmed", "tz", "Europe/London")
    await d.form("Ahmed", "commit", text="a", due="2026-12-28", mode="samen doen")
    await d.form("Fleur", "commit", text="b", due="2026-12-28", mode="samen doen")
    due = await due_check_ins(app)
    assert due["checkin:1:due"] == london(2026, 12, 29, 8, 30)  # his next working morning
    assert due["checkin:2:due"] == ams(2026, 12, 28, 9, 0)  # a working day in the Netherlands


async def test_people_set_their_own_holidays_in_settings(app: App, clock: ManualClock) -> None:
    clock.set(ams(2026, 12, 14, 10, 0))
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="commit")
    shown = await d.cmd("Ahmed", "instellingen")
    assert "Feestdagen: NL (bij je tijdzone)" in shown
    # Refused politely, nothing stored.
    refused = await d.cmd("Ahmed", "instellingen", "feestdagen Atlantis")
    assert t("nl", "people.unknown_holidays", code="Atlantis") in refused
    assert (await person(app, "ahmed")).holiday_country == ""
    assert t("nl", "people.settings_usage") in await d.cmd("Ahmed", "instellingen", "kleur")
    # Scotland: 4 January 2027 is the 2nd of January's substitute there, not in England.
    said = await d.cmd("Ahmed", "instellingen", "feestdagen gb-sct")
    assert t("nl", "people.holidays_set", code="GB-SCT") in said
    stored = await person(app, "ahmed")
    assert (stored.holiday_country, stored.holiday_region) == ("GB", "SCT")
    await d.cmd("Ahmed", "tz", "Europe/London")
    assert "Feestdagen: GB-SCT." in await d.cmd("Ahmed", "instellingen")
    await d.form("Ahmed", "commit", text="a", due="2027-01-04", mode="samen doen")
    assert (await due_check_ins(app))["checkin:1:due"] == london(2027, 1, 5, 8, 30)
    # Back to the time zone's.
    said = await d.cmd("Ahmed", "instellingen", "feestdagen automatisch")
    assert t("nl", "people.holidays_auto", code="GB-ENG") in said
    assert (await person(app, "ahmed")).holiday_country == ""


async def test_settings_holidays_in_english_and_typed_in_a_dm(app: App, clock: ManualClock) -> None:
    from handlers.messages import Place, Typed

    clock.set(ams(2026, 12, 14, 10, 0))
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="commit")
    outcome = await app.coulisse.handle(
        Typed("settings holidays BE", d.actor("Joost"), Place("dm"))
    )
    assert t("nl", "people.holidays_set", code="BE") in d.text(outcome.messages)
    assert (await person(app, "joost")).holiday_country == "BE"


async def test_no_digest_on_easter_monday_it_comes_on_tuesday(app: App, clock: ManualClock) -> None:
    """Before: the Monday digest went out on Easter Monday (29 March 2027)."""
    clock.set(ams(2027, 3, 26, 10, 0))  # Good Friday
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="commit")
    await d.form("Ahmed", "commit", text="a", due="2027-04-30", mode="samen doen")
    while clock.now() < ams(2027, 3, 29, 23, 0):
        clock.advance(timedelta(hours=2))
        await tick(d.app.uow, clock)
        await d.deliver()
    assert not [s for s in d.sent if s.kind == "digest"]
    while clock.now() < ams(2027, 3, 30, 11, 0):
        clock.advance(timedelta(hours=1))
        await tick(d.app.uow, clock)
        await d.deliver()
    digests = [s for s in d.sent if s.kind == "digest"]
    assert len(digests) == 1
    async with app.uow() as uow:
        row = await uow.outbox.by_key("digest:1:2027-W13:1")  # team 1, week 13, Sanne
    assert row is not None and row.due_at.astimezone(AMS).date().isoformat() == "2027-03-30"


@pytest.mark.parametrize("command", ["console"])
def test_the_console_applies_the_installations_cap_and_holidays(
    command: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before, the console was built with the default policy whatever the settings said."""
    seen: list[NudgePolicy | None] = []
    real_build = bot.cli.build

    async def recording(*args: Any, **kwargs: Any) -> App:
        seen.append(kwargs.get("policy"))
        return await real_build(*args, **kwargs)

    monkeypatch.setattr(bot.cli, "build", recording)
    env = {
        "COULISSE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'c.db'}",
        "COULISSE_NUDGE_DAILY_CAP": "1",
        "COULISSE_HOLIDAYS": "BE",
    }
    done = CliRunner().invoke(bot.cli.app, [command], env=env, input="")
    assert done.exit_code == 0, (done.output, done.exception)
    assert seen == [NudgePolicy(daily_cap=1, country="BE")]
