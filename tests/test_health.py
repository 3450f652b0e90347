"""/healthz says the process is alive; /readyz whether to send it traffic: the database answers
and its schema is at this code's migration head."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import aiohttp
import pytest
import sqlalchemy as sa
from aiohttp import web

from bot.clock import ManualClock
from bot.health import migration_heads
from bot.web import make_web_app
from bot.wiring import App, build
from tests.fake_slack import free_port

Get = Callable[[str], Awaitable[tuple[int, dict[str, object]]]]


@pytest.fixture
async def get(app: App) -> AsyncIterator[Get]:
    """GET a path of the web app of `app`, on loopback: (status, JSON body)."""
    async with served(app) as base, aiohttp.ClientSession() as session:

        async def fetch(path: str) -> tuple[int, dict[str, object]]:
            async with session.get(base + path) as resp:
                return resp.status, await resp.json()

        yield fetch


class served:
    def __init__(self, app: App) -> None:
        self.runner = web.AppRunner(make_web_app(app, None))

    async def __aenter__(self) -> str:
        await self.runner.setup()
        port = free_port()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *_exc: object) -> None:
        await self.runner.cleanup()


async def test_alive_and_ready_at_the_migration_head(get: Get) -> None:
    assert await get("/healthz") == (200, {"status": "ok"})
    status, body = await get("/readyz")
    assert status == 200 and body == {"status": "ready", "revision": sorted(migration_heads())}


@pytest.fixture
async def version_put_back(app: App) -> AsyncIterator[None]:
    """The tests below change the database's revision: the next test's database (the shared
    PostgreSQL one is only emptied between tests) gets it back."""
    yield
    async with app.engine.begin() as conn:
        await conn.execute(
            sa.text("CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL)")
        )
        await conn.execute(sa.text("DELETE FROM alembic_version"))
        for head in migration_heads():
            await conn.execute(sa.text("INSERT INTO alembic_version VALUES (:v)"), {"v": head})


@pytest.mark.usefixtures("version_put_back")
async def test_a_database_behind_the_code_is_alive_but_not_ready(app: App, get: Get) -> None:
    """A replica whose code is newer than the database (the migration job has not run yet)."""
    async with app.engine.begin() as conn:
        await conn.execute(sa.text("UPDATE alembic_version SET version_num = '0004'"))
    status, body = await get("/readyz")
    assert status == 503 and body["status"] == "migrations not at head"
    assert body["database"] == ["0004"] and body["code"] == sorted(migration_heads())
    assert (await get("/healthz"))[0] == 200


@pytest.mark.usefixtures("version_put_back")
async def test_a_never_migrated_database_is_not_ready(app: App, get: Get) -> None:
    async with app.engine.begin() as conn:
        await conn.execute(sa.text("DROP TABLE alembic_version"))
    status, body = await get("/readyz")
    assert status == 503 and body["status"] == "migrations not at head"
    assert body["database"] == []


async def test_an_unreachable_database_is_not_ready_and_says_only_its_error_type() -> None:
    port = free_port()  # nothing listens there
    app = await build(
        f"postgresql://coulisse:s3cret-pw@127.0.0.1:{port}/coulisse",
        ManualClock(datetime.now(UTC)),
        migrate=False,
    )
    try:
        async with served(app) as base, aiohttp.ClientSession() as session:
            async with session.get(base + "/healthz") as resp:
                assert resp.status == 200
            async with session.get(base + "/readyz") as resp:
                assert resp.status == 503
                text = await resp.text()
            async with session.get(base + "/metrics") as resp:
                assert resp.status == 503
                text += await resp.text()
        assert "database unreachable" in text
        assert "s3cret-pw" not in text and str(port) not in text
    finally:
        await app.close()
