"""The backup and restore procedure of docs/DEPLOY.md, tried once: pg_dump of a database in use,
pg_restore into an empty one, and the restored database is ready (at the migration head) with
everything in it; an installed workspace's token opens only with the key kept outside."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

from bot.clock import ManualClock
from bot.health import readiness
from bot.wiring import build
from handlers.messages import Actor, Command, FormSubmitted, Place
from storage import tables as t
from storage.db import session_factory
from storage.installations import NoTokenKey, SlackWorkspace, SqlInstallations, TokenCipher
from storage.migrate import upgrade_async
from tests.conftest import IN_CI, START, database_of_its_own

pytestmark = pytest.mark.postgres

PLACE = Place("channel", "C1", "wijkteam-noord")


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        if IN_CI:
            pytest.fail(f"{name} (PostgreSQL's client programs) must be installed in CI")
        pytest.skip(f"{name} is not installed")
    return found


def libpq(url: str) -> str:
    """The URL as pg_dump and pg_restore take it (no SQLAlchemy driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def counts(rows: dict[str, int]) -> dict[str, int]:
    return {name: n for name, n in rows.items() if n}


async def table_counts(url: str) -> dict[str, int]:
    app = await build(url, ManualClock(START), migrate=False)
    try:
        async with app.engine.connect() as conn:
            return {
                table.name: int(await conn.scalar(sa.select(sa.func.count()).select_from(table)))
                for table in t.metadata.sorted_tables
            }
    finally:
        await app.close()


@pytest.fixture
def restored(postgres_url: str) -> Iterator[str]:
    """A second empty database, to restore into."""
    with database_of_its_own("coulisse_restored") as url:
        yield url


async def test_pg_dump_and_pg_restore_bring_back_a_ready_database(
    empty_postgres: str, restored: str, tmp_path: Path
) -> None:
    pg_dump, pg_restore = tool("pg_dump"), tool("pg_restore")
    key = Fernet.generate_key().decode()
    await upgrade_async(empty_postgres)
    app = await build(empty_postgres, ManualClock(START), migrate=False)
    try:
        people = [Actor("slack", "T1", f"U{n}", f"Deelnemer {n}") for n in range(4)]
        for who in people:
            await app.coulisse.handle(Command("join", who, PLACE))
        values = {"title": "Noord", "question": "Wat werkt?", "format": "retro"}
        await app.coulisse.handle(FormSubmitted("new_session", values, people[0], PLACE))
        await app.coulisse.handle(Command("start", people[0], PLACE))
        installations = SqlInstallations(session_factory(app.engine), TokenCipher([key]))
        await installations.save(
            SlackWorkspace(
                "T9", "", "A1", "B1", "UB", "chat:write", "xoxb-secret-9", None, None, START
            )
        )
    finally:
        await app.close()
    before = counts(await table_counts(empty_postgres))
    assert before.get("sessions") and before.get("outbox") and before.get("slack_installations")

    dump = tmp_path / "coulisse.dump"
    # The procedure (docs/DEPLOY.md, "Backup and restore"), as an operator runs it.
    done = await asyncio.to_thread(
        subprocess.run,
        [pg_dump, "--format=custom", "--no-owner", f"--file={dump}", libpq(empty_postgres)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert b"xoxb-secret-9" not in dump.read_bytes()  # the dump holds no usable token
    done = await asyncio.to_thread(
        subprocess.run,
        [pg_restore, "--no-owner", "--exit-on-error", f"--dbname={libpq(restored)}", str(dump)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert counts(await table_counts(restored)) == before
    app = await build(restored, ManualClock(START), migrate=False)
    try:
        ready, body = await readiness(app.engine)
        assert ready, body
        sessions = session_factory(app.engine)
        found = await SqlInstallations(sessions, TokenCipher([key])).find("T9")
        assert found is not None and found.bot_token == "xoxb-secret-9"
        with pytest.raises(NoTokenKey):  # without the key kept apart: nothing opens
            await SqlInstallations(sessions, TokenCipher([Fernet.generate_key().decode()])).find(
                "T9"
            )
        # The restored database carries on: the session's next round opens.
        outcome = await app.coulisse.handle(Command("next", people[0], PLACE))
        assert not outcome.refused
    finally:
        await app.close()
