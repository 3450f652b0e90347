"""What one /metrics scrape costs the database as the outbox grows (its sent rows stay for the
retention period), against the cheapest question the same database can answer about it: how
many rows are pending, from the (status, due_at) index. Both in the same run, on the same data.

Run: `.venv/bin/python bench/metrics.py [--rows N]` (PostgreSQL at COULISSE_BENCH_POSTGRES_URL).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.metrics import exposition, shared_figures
from storage import tables
from storage.db import create_engine
from storage.migrate import upgrade

PG_URL = os.environ.get("COULISSE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
KINDS = ("round_prompt", "reply", "reveal", "summary", "digest", "checkin", "stuck", "export")


async def fill(url: str, rows: int) -> None:
    """`rows` outbox rows, 99 % sent over two years, the rest pending (some due)."""
    conn = await asyncpg.connect(url)
    try:
        now = datetime.now(UTC)
        records = []
        for n in range(rows):
            pending = n % 100 == 0
            due = now - timedelta(minutes=n % 700_000)
            records.append((f"bench-{n}", KINDS[n % len(KINDS)], '{"kind": "dm", "id": 1}',
                            '{"blocks": []}', due, "pending" if pending else "sent", 1,
                            None if pending else due, ""))  # fmt: skip
        await conn.copy_records_to_table(
            "outbox",
            records=records,
            columns=[
                "dedupe_key",
                "kind",
                "destination",
                "payload",
                "due_at",
                "status",
                "attempts",
                "sent_at",
                "reason",
            ],
        )
        await conn.execute("ANALYZE outbox")
    finally:
        await conn.close()


async def timed(work, repeat: int = 15) -> float:  # type: ignore[no-untyped-def]
    """Median seconds of `repeat` runs, after one warm-up."""
    await work()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def measure(url: str, rows: int) -> tuple[float, float, float]:
    engine = create_engine(url)
    now = datetime.now(UTC)
    try:

        async def scrape() -> None:
            await exposition(engine, now)

        async def figures() -> None:
            await shared_figures(engine, now)

        async def baseline() -> None:
            async with engine.connect() as conn:
                o = tables.outbox.c
                await conn.scalar(sa.select(sa.func.count()).where(o.status == "pending"))

        return await timed(scrape), await timed(figures), await timed(baseline)
    finally:
        await engine.dispose()


async def admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def main(sizes: list[int]) -> None:
    print(f"{'outbox rows':>12} {'scrape ms':>10} {'db part ms':>11} {'pending count ms':>17} "
          f"{'ratio':>6}")  # fmt: skip
    for rows in sizes:
        name = f"coulisse_bench_{uuid.uuid4().hex[:8]}"
        await admin(f'CREATE DATABASE "{name}"')
        url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
        try:
            await asyncio.to_thread(upgrade, url)
            await fill(url, rows)
            scrape, figures, baseline = await measure(url, rows)
            print(f"{rows:>12,} {scrape * 1000:>10.1f} {figures * 1000:>11.1f} "
                  f"{baseline * 1000:>17.2f} {figures / baseline:>6.0f}", flush=True)  # fmt: skip
        finally:
            await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="*", default=[10_000, 100_000, 500_000])
    asyncio.run(main(parser.parse_args().rows))
