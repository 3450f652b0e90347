"""The web view's My teams for a busy coordinator (20 teams, 200 sessions in series, 1,000
commitments), served over loopback, against rendering the same teams' series as the Markdown
export in the same run (ratio), and the number of database queries each takes.

Run: `.venv/bin/python bench/web.py [--teams 20] [--sessions 10] [--commitments 5]
[--database sqlite|postgresql]` (SQLite in a temporary folder; PostgreSQL: a database of its own
at COULISSE_BENCH_POSTGRES_URL, dropped afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import sqlalchemy as sa
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.clock import ManualClock
from bot.export.document import series_document
from bot.export.markdown import to_markdown
from bot.web import make_web_app
from bot.webapp import WebView
from bot.webapp.pages import COOKIE
from bot.wiring import build
from handlers import dashboard
from handlers.model import (
    Commitment,
    CommitmentStatus,
    Membership,
    Person,
    Platform,
    Role,
    Series,
    Session,
    SessionStatus,
    Team,
    Workspace,
)
from handlers.series_report import build_series_summary

NOW = datetime(2027, 3, 9, 9, 0, tzinfo=UTC)
PG_URL = os.environ.get("COULISSE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def seed(app: Any, teams: int, sessions: int, commitments: int) -> int:
    async with app.uow() as uow:
        ws = await uow.store(Workspace(Platform.SLACK, "T1"))
        me = await uow.store(Person(ws, "U1", "Sanne"))
        for n in range(teams):
            team = await uow.store(Team(ws, f"C{n}", f"team-{n}"))
            uow.add(Membership(team, me, Role.COORDINATOR))
            series = await uow.store(Series(team, f"Reeks {n}", "retro", "RRULE:FREQ=WEEKLY"))
            for s in range(sessions):
                when = NOW - timedelta(days=7 * (sessions - s))
                session = await uow.store(
                    Session(team, f"Sessie {s}", "Wat nu?", "retro", me, starts_at=when,
                            series_id=series, created_at=when, status=SessionStatus.CLOSED)
                )  # fmt: skip
                for c in range(commitments):
                    status = list(CommitmentStatus)[c % len(CommitmentStatus)]
                    due = date(2027, 3, 1) + timedelta(days=c)
                    uow.add(Commitment(session, team, me, f"Afspraak {c}", due, status=status))
        await uow.commit()
    return me


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--teams", type=int, default=20)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--commitments", type=int, default=5)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    url, drop = f"sqlite+aiosqlite:///{folder / 'bench.db'}", None
    if args.database == "postgresql":  # a database of its own on the shared server
        name = f"coulisse_bench_web_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(PG_URL, timeout=5)
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        url = PG_URL.rsplit("/", 1)[0] + f"/{name}"

        async def drop() -> None:
            conn = await asyncpg.connect(PG_URL)
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.close()

    app = await build(url, ManualClock(NOW))  # migrates the new database
    queries = [0]
    sa.event.listen(app.engine.sync_engine, "before_cursor_execute",
                    lambda *_a: queries.__setitem__(0, queries[0] + 1))  # fmt: skip
    try:
        me = await seed(app, args.teams, args.sessions, args.commitments)
        port = free_port()
        runner = web.AppRunner(make_web_app(app, None, None, WebView("k" * 40, "http://x")))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        async with app.uow() as uow:
            signed = await dashboard.open_session(uow, me, NOW)
            await uow.commit()

        async def get(path: str) -> int:
            headers = {"Cookie": f"{COOKIE}={signed.secret}"}
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"http://127.0.0.1:{port}{path}", headers=headers) as resp,
            ):
                assert resp.status == 200
                return len(await resp.read())

        async def page() -> int:
            return await get("/web/")

        async def commitments() -> int:
            return await get("/web/commitments")

        async def markdown() -> int:
            size = 0
            async with app.uow() as uow:
                for series in [await uow.get(Series, i + 1) for i in range(args.teams)]:
                    assert series is not None
                    summary = await build_series_summary(uow, series, NOW.date(), "nl")
                    assert summary is not None
                    size += len(to_markdown(series_document(summary, "nl")))
            return size

        timings: dict[str, list[float]] = {"page": [], "commitments": [], "markdown": []}
        counted: dict[str, int] = {}
        for _ in range(args.runs):  # alternating, so both meet the same machine
            for name, run in (("page", page), ("commitments", commitments), ("markdown", markdown)):
                queries[0] = 0
                start = time.perf_counter()
                await run()
                timings[name].append(time.perf_counter() - start)
                counted[name] = queries[0]
        await runner.cleanup()
    finally:
        await app.close()
        shutil.rmtree(folder)
        if drop is not None:
            await drop()
    page_s, md_s = statistics.median(timings["page"]), statistics.median(timings["markdown"])
    print(
        f"{args.teams} teams, {args.teams * args.sessions} sessions, "
        f"{args.teams * args.sessions * args.commitments} commitments ({args.database})"
    )
    print(f"My teams over HTTP: {page_s * 1000:.0f} ms median, {counted['page']} queries")
    print(
        f"Markdown export of the same series: {md_s * 1000:.0f} ms, {counted['markdown']} queries"
    )
    com_s = statistics.median(timings["commitments"])
    print(f"Commitments over HTTP: {com_s * 1000:.0f} ms median, {counted['commitments']} queries")
    print(
        f"ratio My teams / markdown: {page_s / md_s:.2f}, "
        f"commitments / markdown: {com_s / md_s:.2f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
