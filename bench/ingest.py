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
import inspect
import os
import sqlite3
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
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


async def prepare(app: App) -> None:
    """A team with a running retro whose reflection round is open."""
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


def answer(n: int) -> Typed:
    return Typed(f"stop: punt {n}", actor(n % PEOPLE), DM, event_key=f"slack:event:b{n}")


async def keep_all(app: App, rows: int) -> Any:
    return [await app.coulisse.receive(answer(n)) for n in range(rows)]


async def through_handlers(app: App, numbers: range, kept: Any) -> None:
    """The answer's own transaction: each answer was kept beforehand (`keep_all`, untimed), as
    the adapter does before its 200, and is handled with its delivery, which goes in that
    same transaction."""
    for n in numbers:
        outcome = await app.coulisse.handle(answer(n), delivery=kept[n])
        assert outcome.replies and not outcome.refused, "every contribution is acknowledged"


async def whole_answer(app: App, numbers: range, _state: Any) -> None:
    """Everything one answer costs: kept (its own transaction), handled, and, where the
    adapter says the replies went out (`replied`), let go."""
    replied = getattr(app.coulisse, "replied", None)
    for n in numbers:
        kept = await app.coulisse.receive(answer(n))
        outcome = await app.coulisse.handle(answer(n), delivery=kept)
        assert outcome.replies and not outcome.refused, "every contribution is acknowledged"
        if replied is not None and inspect.isawaitable(done := replied(kept)):
            await done  # a coroutine since the intake keeps the replies until they are given
    # The rows answered go with the keeper's next batch: its last one is this loop's too.
    await asyncio.gather(*asyncio.all_tasks() - {asyncio.current_task()})


async def round_of(app: App, _rows: int) -> Any:
    async with app.engine.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.max(tables.rounds.c.id)))).scalar_one())


async def bare_core(app: App, numbers: range, round_id: Any) -> None:
    now = datetime.now(UTC)
    insert = tables.contributions.insert()
    for n in numbers:
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


async def capture(app: App, _rows: int) -> Any:
    """The statements of one handled answer (its delivery included), as sent."""
    sent: list[tuple[str, Any]] = []

    def sending(_conn: object, _cursor: object, statement: str, parameters: Any, *_: Any) -> None:
        if not statement.startswith("BEGIN"):  # the engine's own, sent again by begin()
            sent.append((statement, parameters))

    first = answer(-1)
    kept = await app.coulisse.receive(first)
    sa.event.listen(app.engine.sync_engine, "before_cursor_execute", sending)
    await app.coulisse.handle(first, delivery=kept)
    sa.event.remove(app.engine.sync_engine, "before_cursor_execute", sending)
    return first.event_key, sent


async def replayed(app: App, numbers: range, captured: Any) -> None:
    """Those statements sent again bare, one transaction per answer: no handlers, no ORM.
    What they cost is the floor for handlers sending that many; the handlers can only come
    near it."""
    key, sent = captured
    for n in numbers:
        async with app.engine.begin() as conn:
            for statement, parameters in sent:
                # A new inbox key each time: the same one would only be a duplicate.
                fresh = type(parameters)(f"{key}:{n}" if p == key else p for p in parameters)
                result = await conn.exec_driver_sql(statement, fresh)
                if result.returns_rows:
                    result.all()


@dataclass(frozen=True)
class Loop:
    run: Callable[[App, range, Any], Awaitable[None]]
    setup: Callable[[App, int], Awaitable[Any]]  # untimed, before the first row


LOOPS = {
    "the answer's transaction": Loop(through_handlers, keep_all),
    "the whole answer (receive too)": Loop(whole_answer, round_of),
    "its statements replayed bare": Loop(replayed, capture),
    "bare Core insert loop": Loop(bare_core, round_of),
}
CHUNK = 25  # rows a loop stores before the next loop's turn


class Counted:
    """Statements sent (cursor executions, SQLite's BEGIN IMMEDIATE included) and commits on
    one engine, counted by SQLAlchemy's events."""

    def __init__(self, app: App) -> None:
        self.statements = self.commits = 0
        sa.event.listen(app.engine.sync_engine, "before_cursor_execute", self.statement)
        sa.event.listen(app.engine.sync_engine, "commit", self.commit)

    def statement(self, *_args: object) -> None:
        self.statements += 1

    def commit(self, *_args: object) -> None:
        self.commits += 1


async def fresh_app(url: str) -> App:
    app = await build(url, ManualClock(datetime(2027, 3, 9, 9, 0, tzinfo=UTC)), migrate=False)
    await prepare(app)
    return app


async def interleaved(make_url: Callable[[str], Awaitable[str]], rows: int) -> dict[str, Any]:
    """Each loop on a database of its own, all open at once, taking turns CHUNK rows at a
    time (the order turning too), so that the machine's noise hits them alike. Per loop: rows
    a second; CPU milliseconds (the process's, aiosqlite's thread included), statements and
    commits an answer. The CPU time moves much less with the machine's load than the rate."""
    apps = {name: await fresh_app(await make_url(f"l{n}")) for n, name in enumerate(LOOPS)}
    try:
        states = {name: await loop.setup(apps[name], rows) for name, loop in LOOPS.items()}
        counted = {name: Counted(app) for name, app in apps.items()}
        spent, cpu = dict.fromkeys(LOOPS, 0.0), dict.fromkeys(LOOPS, 0.0)
        names = list(LOOPS)
        for turn, first in enumerate(range(0, rows, CHUNK)):
            numbers = range(first, min(first + CHUNK, rows))
            for name in names[turn % len(names) :] + names[: turn % len(names)]:
                start, start_cpu = time.perf_counter(), time.process_time()
                await LOOPS[name].run(apps[name], numbers, states[name])
                spent[name] += time.perf_counter() - start
                cpu[name] += time.process_time() - start_cpu
        return {
            name: (rows / spent[name], cpu[name] * 1000 / rows, c.statements / rows,
                   c.commits / rows)
            for name, c in counted.items()
        }  # fmt: skip
    finally:
        for app in apps.values():
            await app.close()


async def peak_kib(url: str, name: str, rows: int) -> int:
    """Peak traced memory of one loop over `rows`, on a fresh database."""
    app, loop = await fresh_app(url), LOOPS[name]
    try:
        state = await loop.setup(app, rows)
        tracemalloc.start()
        await loop.run(app, range(rows), state)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak // 1024
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


def blocking(path: str, captured: Any, round_id: int, rows: int) -> tuple[float, float]:
    """The bare insert and the answer's statements through the standard library's sqlite3,
    in this thread (what aiosqlite runs in its own, one hand-off a call): rows a second of
    each, in turns. What is left is SQLite's own work."""
    key, sent = captured
    conn = sqlite3.connect(path, isolation_level=None)  # the engine's pragmas (storage/db.py)
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL"):
        conn.execute(f"PRAGMA {pragma}")
    insert = "INSERT INTO contributions (round_id, author_id, text, category, theme_id, created_at) VALUES (?, ?, ?, ?, NULL, ?)"  # noqa: E501
    spent = [0.0, 0.0]
    for first in range(0, rows, CHUNK):
        start = time.perf_counter()
        for n in range(first, min(first + CHUNK, rows)):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(insert, (round_id, 1, f"punt {n}", "stop", "2027-03-09 09:00:00.000000"))
            conn.commit()
        middle = time.perf_counter()
        for n in range(first, min(first + CHUNK, rows)):
            conn.execute("BEGIN IMMEDIATE")
            for statement, parameters in sent:
                conn.execute(
                    statement, tuple(f"{key}:{n}" if p == key else p for p in parameters)
                ).fetchall()
            conn.commit()
        spent[0] += middle - start
        spent[1] += time.perf_counter() - middle
    conn.close()
    return rows / spent[0], rows / spent[1]


async def without_aiosqlite(url: str, rows: int) -> tuple[float, float]:
    app = await fresh_app(url)
    try:
        captured, round_id = await capture(app, rows), await round_of(app, rows)
    finally:
        await app.close()
    return blocking(url.split(":///", 1)[1], captured, round_id, rows)


async def compare(label: str, make_url: Callable[[str], Awaitable[str]], rows: int) -> None:
    found = await interleaved(make_url, rows)
    core, core_cpu = found["bare Core insert loop"][:2]
    mem_rows = max(100, rows // 4)
    handler_kib = await peak_kib(await make_url("mh"), "the answer's transaction", mem_rows)
    core_kib = await peak_kib(await make_url("mc"), "bare Core insert loop", mem_rows)
    print(f"{label}: {rows} contributions, one transaction each, in turns of {CHUNK}")
    print(f"  {'':31}  {'rate':>8} {'ratio':>5}  {'CPU':>7} {'ratio':>5}  statements commits")
    for name, (rate, cpu, sent, commits) in found.items():
        print(f"  {name:31}: {rate:6.0f}/s {rate / core:5.2f}  {cpu:5.2f}ms {core_cpu / cpu:5.2f}  "
              f"{sent:10.1f} {commits:7.1f}")  # fmt: skip
    print(f"  peak traced memory over {mem_rows} rows: handlers {handler_kib} KiB, "
          f"core {core_kib} KiB, ratio {handler_kib / max(core_kib, 1):.1f}")  # fmt: skip
    url = await make_url("sync")
    if url.startswith("sqlite"):
        insert, sent = await without_aiosqlite(url, rows)
        print(f"  without aiosqlite (stdlib sqlite3, blocking): bare insert {insert:.0f} /s, "
              f"the answer's statements {sent:.0f} /s, ratio {sent / insert:.2f}")  # fmt: skip


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
