"""Several processes started together on an empty PostgreSQL database all come up: each
migrates under one advisory lock, and the later ones find the schema current."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest

ROOT = Path(__file__).resolve().parents[1]
PROCESSES = 3


@pytest.mark.postgres
def test_three_processes_migrate_an_empty_database_at_once(empty_postgres: str) -> None:
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
            [sys.executable, "-c", script, empty_postgres, str(go)],
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
        conn = await asyncpg.connect(empty_postgres.replace("+asyncpg", ""))
        try:
            return [r[0] for r in await conn.fetch("SELECT version_num FROM alembic_version")]
        finally:
            await conn.close()

    assert len(asyncio.run(version())) == 1
