"""`coulisse serve` keeps the retention period by itself: at start and every
COULISSE_PURGE_HOURS it deletes the sessions older than COULISSE_RETENTION_DAYS (the privacy
text's two years by default), and only those."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.config import Settings
from bot.serve import running
from bot.wiring import App
from handlers.messages import Actor, Command, FormSubmitted, Place
from storage import tables as t
from tests.conftest import eventually
from tests.fake_slack import free_port

PLACE = Place("channel", "C1", "wijkteam-noord")


async def two_sessions(app: App) -> None:
    """One made 800 days ago, one last week (their creation moved back in the database)."""
    coordinator = Actor("console", "W1", "u1", "Sanne")
    await app.coulisse.handle(Command("join", coordinator, PLACE))
    for title in ("Oud", "Nieuw"):
        values = {"title": title, "question": "Wat werkt?", "format": "retro"}
        outcome = await app.coulisse.handle(
            FormSubmitted("new_session", values, coordinator, PLACE)
        )
        assert not outcome.refused
        for word in ("start", "end"):
            assert not (await app.coulisse.handle(Command(word, coordinator, PLACE))).refused
    now = datetime.now(UTC)
    async with app.engine.begin() as conn:
        for title, age in (("Oud", 800), ("Nieuw", 7)):
            await conn.execute(
                sa.update(t.sessions)
                .where(t.sessions.c.title == title)
                .values(created_at=now - timedelta(days=age))
            )


async def titles(app: App) -> list[str]:
    async with app.engine.connect() as conn:
        return sorted((await conn.scalars(sa.select(t.sessions.c.title))).all())


@pytest.mark.parametrize("hours", [24.0, 0.0])
async def test_serve_purges_what_is_past_the_retention_period(
    app: App, database_url: str, hours: float
) -> None:
    await two_sessions(app)
    assert await titles(app) == ["Nieuw", "Oud"]
    settings = Settings(database_url=database_url, allow_unauthenticated=True, purge_hours=hours)
    async with running(settings, "127.0.0.1", free_port()):
        if hours:
            await eventually(lambda: titles_are(app, ["Nieuw"]))
        else:  # switched off: nothing goes
            await asyncio.sleep(1.0)
        assert await titles(app) == (["Nieuw"] if hours else ["Nieuw", "Oud"])


async def titles_are(app: App, expected: list[str]) -> bool:
    return await titles(app) == expected
