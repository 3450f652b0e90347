"""Contributions per second through the handlers, against a bare SQLAlchemy Core insert loop.

Both run in the same process, on the same database, one transaction per contribution (as a
real answer is stored), so the ratio shows what the handlers cost on top of the database:
finding the person, team, session and open round, validating, and the inbox record.
Run: `make bench` or `.venv/bin/python bench/ingest.py [--rows N] [--skip-postgres]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.clock import ManualClock
from bot.wiring import App, build
from handlers.messages import Actor, Command, FormSubmitted, Place
from storage import tables
from storage.migrate import upgrade

PG_URL = os.environ.get("COULISSE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
PEOPLE = 20
PLACE = Place("channel", "bench", "bench")


def actor(i: int) -> Actor:
    return Actor("console", "bench", f"p{i}", f"Person {i}", "GGD", "nl")


async def prepare(app: App) -> int:
    """A team with a running retro whose reflection round is open; returns that round's id."""
    for i in range(PEOPLE):
        await app.coulisse.handle(Command("join", actor(i), PLACE))
    await app.coulisse.handle(
        FormSubmitted(
            "new_session",
            {"format": "custom", "rounds": "start-stop-continue", "title": "b", "question": "q"},
            actor(0),
            PLACE,
        )
    )
    await app.coulisse.handle(Command("start", actor(0), PLACE))
    async with app.engine.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.max(tables.rounds.c.id)))).scalar_one())


async def through_handlers(app: App, rows: int, _round_id: int) -> None:
    for n in range(rows):
        outcome = await app.coulisse.handle(
            Command("add", actor(n % PEOPLE), PLACE, args=f"stop: punt {n}", event_key=f"b{n}")
        )
        assert outcome.replies, "every contribution is acknowledged"


async def bare_core(app: App, rows: int, round_id: int) -> None:
    now = datetime.now(UTC)
    insert = tables.contributions.insert()
    for n in range(rows):
        async with app.engine.begin() as conn:
            await conn.execute(
                insert,
                {
                    "round_id": round_id,
                    "author_id": 1,
                    "text": f"punt {n}",
                    "category": "stop",
                    "theme_id": None,
                    "created_at": now,
                },
            )


Loop = Callable[[App, int, int], Awaitable[None]]


async def timed(url: str, loop: Loop, rows: int, *, memory: bool = False) -> tuple[float, int]:
    """Rows per second (or peak traced KiB when `memory`) of one loop on a fresh database."""
    app = await build(url, ManualClock(datetime(2027, 3, 9, 9, 0, tzinfo=UTC)), migrate=False)
    try:
        round_id = await prepare(app)
        if memory:
            tracemalloc.start()
            await loop(app, rows, round_id)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            return 0.0, peak // 1024
        start = time.perf_counter()
        await loop(app, rows, round_id)
        return rows / (time.perf_counter() - start), 0
    finally:
        await app.close()


async def statements(url: str, loop: Loop, rows: int) -> tuple[float, float]:
    """Statements sent (cursor executions, SQLite's BEGIN IMMEDIATE included) and commits, per
    contribution, counted by SQLAlchemy events on the loop's engine."""
    app = await build(url, ManualClock(datetime(2027, 3, 9, 9, 0, tzinfo=UTC)), migrate=False)
    counts = {"statements": 0, "commits": 0}

    def statement(*_args: object) -> None:
        counts["statements"] += 1

    def commit(*_args: object) -> None:
        counts["commits"] += 1

    try:
        round_id = await prepare(app)
        sa.event.listen(app.engine.sync_engine, "before_cursor_execute", statement)
        sa.event.listen(app.engine.sync_engine, "commit", commit)
        await loop(app, rows, round_id)
        return counts["statements"] / rows, counts["commits"] / rows
    finally:
        await app.close()


async def fresh_sqlite(folder: Path, name: str) -> str:
    url = f"sqlite+aiosqlite:///{folder / name}.db"
    await asyncio.to_thread(upgrade, url)
    return url


async def fresh_postgres() -> tuple[str, Callable[[], Awaitable[None]]]:
    name = f"coulisse_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_URL, timeout=5)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    await asyncio.to_thread(upgrade, url)

    async def drop() -> None:
        conn = await asyncpg.connect(PG_URL)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()

    return url, drop


async def compare(label: str, make_url: Callable[[str], Awaitable[str]], rows: int) -> None:
    # Alternate the two loops so that machine noise hits both alike.
    handler_rates, core_rates = [], []
    for attempt in range(2):
        handler_rates.append(
            (await timed(await make_url(f"h{attempt}"), through_handlers, rows))[0]
        )
        core_rates.append((await timed(await make_url(f"c{attempt}"), bare_core, rows))[0])
    handlers_rate, core_rate = max(handler_rates), max(core_rates)
    mem_rows = max(100, rows // 4)
    _, handler_kib = await timed(await make_url("mh"), through_handlers, mem_rows, memory=True)
    _, core_kib = await timed(await make_url("mc"), bare_core, mem_rows, memory=True)
    counted = {name: await statements(await make_url(f"s{name}"), loop, 50)
               for name, loop in (("handlers", through_handlers), ("core", bare_core))}  # fmt: skip
    print(f"{label}: {rows} contributions, one transaction each (best of 2)")
    print(f"  through the handlers : {handlers_rate:8.0f} /s")
    print(f"  bare Core insert loop: {core_rate:8.0f} /s")
    print(f"  ratio handlers/core  : {handlers_rate / core_rate:8.2f}")
    print(f"  peak traced memory over {mem_rows} rows: handlers {handler_kib} KiB, "
          f"core {core_kib} KiB, ratio {handler_kib / max(core_kib, 1):.1f}")  # fmt: skip
    for name, (sent, commits) in counted.items():
        print(f"  per contribution, {name}: {sent:.1f} statements, {commits:.1f} commits")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:

        async def sqlite_url(name: str) -> str:
            return await fresh_sqlite(Path(folder), name)

        await compare("SQLite (WAL, BEGIN IMMEDIATE)", sqlite_url, args.rows)
    if args.skip_postgres:
        return
    drops: list[Callable[[], Awaitable[None]]] = []

    async def pg_url(_name: str) -> str:
        url, drop = await fresh_postgres()
        drops.append(drop)
        return url

    try:
        await compare("PostgreSQL (asyncpg)", pg_url, args.rows)
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"PostgreSQL: not measured ({type(exc).__name__}: {exc})")
    finally:
        for drop in drops:
            await drop()


if __name__ == "__main__":
    asyncio.run(main())
