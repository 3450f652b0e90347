"""Contributions per second through the handlers, against a bare SQLAlchemy Core insert loop.

All run in the same process, on the same database, one transaction per contribution (as a
real answer is stored), so the ratio shows what the handlers cost on top of the database:
finding the person, team, session and open round, validating, and the inbox record. The
answer is what people send: a DM ("stop: …") as the Slack adapter hands it on, kept first
(`Coulisse.receive`) and then handled with its delivery. A third loop replays the very
statements one answer sends, bare, to show the floor that those statements alone set.
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
from typing import Any

import asyncpg
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.clock import ManualClock
from bot.wiring import App, build
from handlers.messages import Actor, Command, FormSubmitted, Place, Typed
from storage import tables
from storage.migrate import upgrade

PG_URL = os.environ.get("COULISSE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
PEOPLE = 20
PLACE = Place("channel", "bench", "bench")
DM = Place("dm", "Dbench")


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


# The counts of an engine being counted (`statements`), by its app's id: reset when its loop's
# clock starts, so that what a loop sets up beforehand is not counted.
COUNTED: dict[int, dict[str, int]] = {}


def started(app: App) -> float:
    counts = COUNTED.get(id(app))
    if counts is not None:
        counts.update(statements=0, commits=0)
    return time.perf_counter()


def answer(n: int) -> Typed:
    return Typed(f"stop: punt {n}", actor(n % PEOPLE), DM, event_key=f"slack:event:b{n}")


async def through_handlers(app: App, rows: int, _round_id: int) -> float:
    """The answer's own transaction, timed: each answer is kept beforehand (untimed), as the
    adapter does before its 200, and handled with its delivery, which goes in that same
    transaction."""
    kept = [await app.coulisse.receive(answer(n)) for n in range(rows)]
    start = started(app)
    for n in range(rows):
        outcome = await app.coulisse.handle(answer(n), delivery=kept[n])
        assert outcome.replies and not outcome.refused, "every contribution is acknowledged"
    return time.perf_counter() - start


async def whole_answer(app: App, rows: int, _round_id: int) -> float:
    """Everything one answer costs: kept (its own transaction), handled, and, where the
    adapter says the replies went out (`replied`), let go."""
    replied = getattr(app.coulisse, "replied", None)
    start = started(app)
    for n in range(rows):
        kept = await app.coulisse.receive(answer(n))
        outcome = await app.coulisse.handle(answer(n), delivery=kept)
        assert outcome.replies and not outcome.refused, "every contribution is acknowledged"
        if replied is not None:
            replied(kept)
    await asyncio.sleep(0)  # whatever `replied` started
    return time.perf_counter() - start


async def bare_core(app: App, rows: int, round_id: int) -> float:
    now = datetime.now(UTC)
    insert = tables.contributions.insert()
    start = started(app)
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
    return time.perf_counter() - start


async def replayed(app: App, rows: int, round_id: int) -> float:
    """The statements of one handled answer (its delivery included), captured and sent again
    bare, in one transaction per answer: no handlers, no ORM. What they cost is the floor for
    the handlers with that many statements; the handlers' ratio can only come near it."""
    sent: list[tuple[str, Any]] = []

    def capture(
        _conn: object, _cursor: object, statement: str, parameters: Any, *_: object
    ) -> None:
        if not statement.startswith("BEGIN"):  # the engine's own, sent again by begin()
            sent.append((statement, parameters))

    first = answer(-1)
    kept = await app.coulisse.receive(first)
    sa.event.listen(app.engine.sync_engine, "before_cursor_execute", capture)
    await app.coulisse.handle(first, delivery=kept)
    sa.event.remove(app.engine.sync_engine, "before_cursor_execute", capture)
    key = first.event_key
    start = started(app)
    for n in range(rows):
        async with app.engine.begin() as conn:
            for statement, parameters in sent:
                # A new inbox key each time: the same one would only be a duplicate.
                fresh = type(parameters)(f"{key}:{n}" if p == key else p for p in parameters)
                result = await conn.exec_driver_sql(statement, fresh)
                if result.returns_rows:
                    result.all()
    return time.perf_counter() - start


Loop = Callable[[App, int, int], Awaitable[float]]


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
        return rows / await loop(app, rows, round_id), 0
    finally:
        await app.close()


async def statements(url: str, loop: Loop, rows: int) -> tuple[float, float]:
    """Statements sent (cursor executions, SQLite's BEGIN IMMEDIATE included) and commits, per
    contribution, counted by SQLAlchemy events on the loop's engine."""
    app = await build(url, ManualClock(datetime(2027, 3, 9, 9, 0, tzinfo=UTC)), migrate=False)
    counts = COUNTED[id(app)] = {"statements": 0, "commits": 0}

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
        COUNTED.pop(id(app))
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


LOOPS: dict[str, Loop] = {
    "the answer's transaction": through_handlers,
    "the whole answer (receive too)": whole_answer,
    "its statements replayed bare": replayed,
    "bare Core insert loop": bare_core,
}


async def compare(label: str, make_url: Callable[[str], Awaitable[str]], rows: int) -> None:
    # Alternate the loops so that machine noise hits them alike; the best of two counts.
    rates: dict[str, list[float]] = {name: [] for name in LOOPS}
    for attempt in range(2):
        for number, (name, loop) in enumerate(LOOPS.items()):
            url = await make_url(f"r{attempt}{number}")
            rates[name].append((await timed(url, loop, rows))[0])
    best = {name: max(found) for name, found in rates.items()}
    core = best["bare Core insert loop"]
    mem_rows = max(100, rows // 4)
    _, handler_kib = await timed(await make_url("mh"), through_handlers, mem_rows, memory=True)
    _, core_kib = await timed(await make_url("mc"), bare_core, mem_rows, memory=True)
    counted = {name: await statements(await make_url(f"s{number}"), loop, 50)
               for number, (name, loop) in enumerate(LOOPS.items())}  # fmt: skip
    print(f"{label}: {rows} contributions, one transaction each (best of 2)")
    for name, rate in best.items():
        sent, commits = counted[name]
        print(f"  {name:32}: {rate:6.0f} /s  ratio to core {rate / core:5.2f}  "
              f"{sent:4.1f} statements {commits:3.1f} commits an answer")  # fmt: skip
    print(f"  peak traced memory over {mem_rows} rows: handlers {handler_kib} KiB, "
          f"core {core_kib} KiB, ratio {handler_kib / max(core_kib, 1):.1f}")  # fmt: skip


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
