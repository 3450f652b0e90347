"""`forget-me` reaches the web view too: the person's sign-in links, web sessions and reader
grants go (their person row is blanked, not deleted, so the tables' ON DELETE CASCADE never
fires), and a grant they gave someone else stays, given by nobody."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from bot.wiring import App
from handlers import dashboard
from handlers.messages import Command, Place
from prompts.catalog import t
from storage import tables
from tests.driver import Driver, team_of


async def rows(app: App, table: sa.Table, column: str, person_id: int) -> int:
    async with app.engine.connect() as conn:
        found = await conn.execute(sa.select(table).where(table.c[column] == person_id))
        return len(found.all())


async def test_forget_me_removes_web_links_sessions_and_reader_grants(app: App) -> None:
    d = Driver(app)
    await team_of(d, "Sanne", "Ahmed")
    await app.coulisse.handle(Command("help", d.actor("Mila"), Place("dm")))
    await d.cmd("Sanne", "reader", "Mila")
    now = app.coulisse.clock.now()
    async with app.uow() as uow:
        mila = (await uow.directory.people_by_platform_id("mila"))[0]
        sanne = (await uow.directory.people_by_platform_id("sanne"))[0]
        assert mila.id is not None and sanne.id is not None
        links = dashboard.Links(b"k" * 40, "http://127.0.0.1")
        signed = await dashboard.redeem(uow, links, links.token(mila.id, now), now)
        assert isinstance(signed, dashboard.Signed)  # a link used, a web session open
        await dashboard.open_session(uow, sanne.id, now)
        await uow.commit()
    assert await rows(app, tables.web_links, "person_id", mila.id) == 1
    assert await rows(app, tables.web_sessions, "person_id", mila.id) == 1
    assert await rows(app, tables.web_readers, "person_id", mila.id) == 1

    # Sanne, who granted it, is forgotten: the grant stays, given by nobody.
    assert await d.cmd("Sanne", "vergeet-mij") == t("nl", "people.forgotten")
    assert await rows(app, tables.web_sessions, "person_id", sanne.id) == 0
    assert await rows(app, tables.web_readers, "granted_by", sanne.id) == 0
    assert await rows(app, tables.web_readers, "person_id", mila.id) == 1

    outcome = await app.coulisse.handle(Command("forget-me", d.actor("Mila"), Place("dm")))
    assert outcome.messages
    for table in (tables.web_links, tables.web_sessions, tables.web_readers):
        assert await rows(app, table, "person_id", mila.id) == 0, table.name
    async with app.uow() as uow:  # her cookie opens nothing now
        later = now + timedelta(minutes=1)
        assert await dashboard.signed_in(uow, signed.secret, later) is None
        assert await dashboard.seats(uow, mila.id) == {}
