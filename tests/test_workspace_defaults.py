"""COULISSE_LANGUAGE and COULISSE_TIMEZONE are what a new workspace starts with."""

from __future__ import annotations

import pytest

from bot.clock import ManualClock
from bot.config import Settings, SettingsError
from bot.wiring import build
from handlers.messages import Actor, Command, Place
from handlers.model import Person, Workspace


async def test_a_new_workspace_takes_the_installations_language_and_zone(
    sqlite_url: str, clock: ManualClock
) -> None:
    settings = Settings(database_url=sqlite_url, timezone="Europe/London", default_language="en")
    app = await build(sqlite_url, clock, migrate=False, defaults=settings.workspace_defaults)
    try:
        actor = Actor("slack", "T9", "U1", "Sam")
        outcome = await app.coulisse.handle(Command("join", actor, Place("channel", "C1", "x")))
        assert outcome.lang == "en"
        async with app.uow() as uow:
            workspace = await uow.get(Workspace, 1)
            person = await uow.get(Person, outcome.person_id or 0)
        assert workspace is not None and person is not None
        assert (workspace.timezone, workspace.locale) == ("Europe/London", "en")
        assert (person.timezone, person.locale) == ("Europe/London", "en")
    finally:
        await app.close()


def test_an_unknown_zone_is_refused_at_start() -> None:
    with pytest.raises(SettingsError, match="not an IANA time zone"):
        Settings(timezone="Europe/Atlantis")
