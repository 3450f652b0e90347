"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, a clock, the bot."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import asyncpg
import pytest
import sqlalchemy as sa

from bot.clock import ManualClock
from bot.config import Settings
from bot.serve import running
from bot.wiring import App, build
from storage.db import create_engine
from storage.migrate import upgrade
from storage.tables import metadata
from tests.fake_slack import (
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlackApi,
    SlackClient,
    free_port,
    on_loopback,
)

# Every Slack and Teams payload the fakes accept, for the official validators, which run last.
pytest_plugins = ["tests.payloads"]

PG_ADMIN_URL = os.environ.get(
    "COULISSE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
START = datetime(2027, 3, 9, 10, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))


def _pg_reachable() -> str | None:
    async def probe() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy (migrating per test is slow)."""
    path = tmp_path_factory.mktemp("template") / "coulisse.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, migrated once, dropped at the end."""
    problem = _pg_reachable()
    if problem is not None:
        if IN_CI:
            pytest.fail(f"PostgreSQL must be available in CI: {problem}")
        pytest.skip(f"PostgreSQL not available: {problem}")
    with database_of_its_own("coulisse_test") as url:
        upgrade(url)
        yield url


def _admin(sql: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


@contextlib.contextmanager
def database_of_its_own(prefix: str) -> Iterator[str]:
    """An empty PostgreSQL database on the shared server, dropped afterwards (the session's
    shared one is truncated by other tests)."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def empty_postgres(postgres_url: str) -> Iterator[str]:
    """A database of its own, with nothing in it (`postgres_url` skips or fails without one)."""
    with database_of_its_own("coulisse_own") as url:
        yield url


async def _truncate(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        await conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "coulisse.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    asyncio.run(_truncate(url))
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "coulisse.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def app(database_url: str, clock: ManualClock) -> AsyncIterator[App]:
    built = await build(database_url, clock, migrate=False)
    yield built
    await built.close()


@pytest.fixture
async def sqlite_app(sqlite_url: str, clock: ManualClock) -> AsyncIterator[App]:
    built = await build(sqlite_url, clock, migrate=False)
    yield built
    await built.close()


@dataclass
class SlackStack:
    api: FakeSlackApi
    slack: SlackClient
    app: App
    base: str  # the bot's http://127.0.0.1:port


async def until_healthy(
    base: str,
    proc: asyncio.subprocess.Process,
    output: Callable[[], str],
    name: str,
    timeout: float,
) -> None:
    """Until a `coulisse serve` process at `base` answers /healthz with 200; one that exits
    first, or never answers in `timeout` seconds, fails the test with its output."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with aiohttp.ClientSession() as session:
        while loop.time() < deadline:
            if proc.returncode is not None:
                raise AssertionError(f"{name} exited ({proc.returncode}):\n{output()}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{base}/healthz") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.05)
    raise AssertionError(f"{name} never became healthy:\n{output()}")


async def eventually(check: Callable[[], Awaitable[bool] | bool], timeout: float = 20) -> None:
    """Wait until `check` holds: the bot answers Slack first and works after the ack. The
    deadline only matters when something is broken; a loaded two-core machine needed over 10 s."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the condition did not hold in time")
        await asyncio.sleep(0.02)


@pytest.fixture
async def slack_stack(database_url: str) -> AsyncIterator[SlackStack]:
    """`coulisse serve` on loopback, talking to a fake Slack Web API that records every call."""
    async with slack_stack_on(database_url) as stack:
        yield stack


@contextlib.asynccontextmanager
async def slack_stack_on(database_url: str) -> AsyncIterator[SlackStack]:
    """The `slack_stack` fixture's stack, on a database of the caller's."""
    api = FakeSlackApi()
    async with on_loopback(api.app()) as api.url:
        settings = Settings(
            database_url=database_url,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=f"{api.url}/api/",
            outbox_interval=0.05,
            slack_channel_interval=0.01,
        )
        port = free_port()
        async with (
            running(settings, "127.0.0.1", port) as (app, _slack, _runner),
            aiohttp.ClientSession() as session,
        ):
            base = f"http://127.0.0.1:{port}"
            yield SlackStack(api, SlackClient(f"{base}/slack/events", session), app, base)
