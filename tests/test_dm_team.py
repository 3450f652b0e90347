"""Who is writing in a direct message, and for which team, found in one query
(`Directory.in_dm`): the person's team with a running session, else their first team."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from bot.clock import ManualClock
from bot.wiring import App, build
from handlers.messages import Actor, Choices, Command, FormSubmitted, Outcome, Place, Text, Typed
from prompts.catalog import t
from storage import tables

START = datetime(2027, 3, 2, 9, 0, tzinfo=UTC)
ANNA = Actor("slack", "T1", "U1", "Anna")
BRAM = Actor("slack", "T1", "U2", "Bram")
DM = Place("dm", "DU1")
FIRST, SECOND = Place("channel", "C1", "wijk"), Place("channel", "C2", "zorg")


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[App]:
    app = await build(database_url, ManualClock(START), migrate=False)
    yield app
    await app.close()


async def team_id(app: App, channel: str) -> int:
    async with app.engine.connect() as conn:
        found = sa.select(tables.teams.c.id).where(tables.teams.c.channel_id == channel)
        return int((await conn.execute(found)).scalar_one())


async def retro(app: App, place: Place, *, start: bool = True) -> None:
    values = {"format": "custom", "rounds": "start-stop-continue", "title": "r", "question": "q"}
    await app.coulisse.handle(FormSubmitted("new_session", values, ANNA, place))
    if start:
        await app.coulisse.handle(Command("start", ANNA, place))


async def in_dm(app: App, actor: Actor = ANNA) -> Outcome:
    return await app.coulisse.handle(Command("help", actor, DM))


async def test_a_dm_is_for_the_team_with_a_running_session_else_the_first(app: App) -> None:
    assert (await in_dm(app)).team_id is None  # nobody knows Anna yet: she is met, no team
    for place in (FIRST, SECOND):
        await app.coulisse.handle(Command("join", ANNA, place))
    first, second = await team_id(app, "C1"), await team_id(app, "C2")
    assert (await in_dm(app)).team_id == first  # no session anywhere: her first team

    await retro(app, FIRST, start=False)  # only being prepared: not running
    await retro(app, SECOND)
    assert (await in_dm(app)).team_id == second

    await app.coulisse.handle(Command("start", ANNA, FIRST))  # both running: the first
    assert (await in_dm(app)).team_id == first


async def test_an_answer_in_a_dm_reaches_the_running_round(app: App) -> None:
    for place in (FIRST, SECOND):
        await app.coulisse.handle(Command("join", ANNA, place))
    await app.coulisse.handle(Command("join", BRAM, SECOND))
    await retro(app, SECOND)
    outcome = await app.coulisse.handle(Typed("stop: de lange overleggen", BRAM, DM, "e1"))
    assert not outcome.refused and outcome.team_id == await team_id(app, "C2")
    label = t("nl", "rounds.start-stop-continue.categories.stop")
    text, buttons = outcome.replies[0].message.blocks[:2]  # anonymous unless chosen
    assert text == Text(t("nl", "contributions.stored_anonymous", category=label))
    async with app.engine.connect() as conn:
        rows = (await conn.execute(sa.select(tables.contributions))).all()
    assert [(r.text, r.category) for r in rows] == [("de lange overleggen", "stop")]
    assert isinstance(buttons, Choices)  # its withdraw button names the row just stored
    assert buttons.actions[1].value == str(rows[0].id)

    again = await app.coulisse.handle(Typed("stop: de lange overleggen", BRAM, DM, "e1"))
    assert again.duplicate  # the same delivery once more stores nothing
    count = sa.select(sa.func.count()).select_from(tables.contributions)
    async with app.engine.connect() as conn:
        assert (await conn.execute(count)).scalar_one() == 1
