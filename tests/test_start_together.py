"""Several processes started together on an empty PostgreSQL database all come up: each
migrates under one advisory lock, and the later ones find the schema current."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import PG_ADMIN_URL

ROOT = Path(__file__).resolve().parents[1]
PROCESSES = 3


@pytest.fixture
def empty_db(postgres_url: str) -> Iterator[str]:
    """A database of its own with nothing in it (`postgres_url` fails in CI without PostgreSQL)."""
    name = f"coulisse_start_{uuid.uuid4().hex[:10]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield postgres_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.mark.postgres
def test_three_processes_migrate_an_empty_database_at_once(empty_db: str) -> None:
    # A barrier file: every process is started and waiting before any of them migrates.
    go = ROOT / f".start-together-{uuid.uuid4().hex[:8]}"
    script = (
        "import pathlib, sys, time\n"
        "from storage.migrate import upgrade\n"
        "go = pathlib.Path(sys.argv[2])\n"
        "deadline = time.monotonic() + 60\n"
        "while not go.exists() and time.monotonic() < deadline:\n"
        "    time.sleep(0.005)\n"
        "upgrade(sys.argv[1])\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, empty_db, str(go)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    try:
        go.touch()
        results = [(p.returncode, p.communicate(timeout=120)[1]) for p in procs]
        results = [(p.returncode, err) for p, (_code, err) in zip(procs, results, strict=True)]
    finally:
        go.unlink(missing_ok=True)
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    assert [code for code, _err in results] == [0] * PROCESSES, [e[-600:] for _c, e in results]

    async def version() -> list[str]:
        conn = await asyncpg.connect(empty_db.replace("+asyncpg", ""))
        try:
            return [r[0] for r in await conn.fetch("SELECT version_num FROM alembic_version")]
        finally:
            await conn.close()

    assert len(asyncio.run(version())) == 1
