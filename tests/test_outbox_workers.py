"""Several `coulisse serve` processes on one PostgreSQL share the outbox: each message goes out
once, and none is lost, also when one of them is killed with SIGKILL halfway through.

Real processes (`python -m bot serve`), a real database and real HTTP to a recording fake Slack
Web API on loopback. Every outbox row is a pre-rendered message ("digest" kind, so nudge
etiquette never postpones it) with its own text, to a DM of its own person (so per-channel
pacing plays no part): counting the texts the fake received counts duplicates and losses.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import pytest
import sqlalchemy as sa
from aiohttp import web

from bot.clock import SystemClock
from bot.wiring import App, build
from handlers.messages import Destination, Text, encode_destination, encode_message, message
from handlers.model import OutboxMessage, OutboxStatus, Person, Platform, Workspace
from storage import tables
from storage.migrate import upgrade
from tests.conftest import until_healthy
from tests.fake_slack import BOT_TOKEN, SIGNING_SECRET, FakeSlackApi, free_port

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[1]
ROWS = 2000
WORKERS = 3
LEASE_SECONDS = 3
BATCH = 50  # OutboxDispatcher's batch: a worker holds at most this many claimed rows
DEADLINE = 120.0
KILL_AFTER = 0.3  # the share of messages sent before one worker is killed
MARKER = re.compile(r"nudge-(\d{5})")


def text_of(n: int) -> str:
    return f"Weekoverzicht nudge-{n:05d}"


@pytest.fixture
def workers_db(empty_postgres: str) -> str:
    """A database of its own, migrated."""
    upgrade(empty_postgres)
    return empty_postgres


async def seed(app: App, rows: int) -> None:
    """One Slack workspace, `rows` people and one message to each, due only in an hour (the
    test makes them due at once when every worker is up)."""
    later = datetime.now(UTC) + timedelta(hours=1)
    async with app.uow() as uow:
        workspace = Workspace(Platform.SLACK, "T1")
        uow.add(workspace)
        await uow.flush()
        assert workspace.id is not None
        people = [Person(workspace.id, f"U{n:05d}", f"Persoon {n}") for n in range(rows)]
        for person in people:
            uow.add(person)
        await uow.flush()
        for n, person in enumerate(people):
            assert person.id is not None
            queued = await uow.outbox.enqueue(
                OutboxMessage(
                    f"digest:{n}",
                    "digest",
                    encode_destination(Destination.dm(person.id)),
                    encode_message(message(Text(text_of(n)))),
                    later,
                    person.id,
                )
            )
            assert queued
        await uow.commit()


async def make_all_due(app: App) -> datetime:
    now = datetime.now(UTC)
    async with app.engine.begin() as conn:
        await conn.execute(sa.update(tables.outbox).values(due_at=now))
    return now


async def statuses(app: App) -> Counter[str]:
    o = tables.outbox.c
    async with app.engine.connect() as conn:
        rows = await conn.execute(sa.select(o.status, sa.func.count()).group_by(o.status))
        return Counter({str(status): int(count) for status, count in rows.all()})


async def reclaimed(app: App) -> set[int]:
    """Rows claimed more than once: a lease ran out before the row was marked."""
    o = tables.outbox.c
    async with app.engine.connect() as conn:
        keys = (await conn.execute(sa.select(o.dedupe_key).where(o.attempts > 1))).scalars()
        return {int(key.split(":")[1]) for key in keys}


@dataclass
class Worker:
    proc: asyncio.subprocess.Process
    port: int
    log: IO[bytes]
    log_path: Path

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@contextlib.asynccontextmanager
async def fake_slack() -> AsyncIterator[FakeSlackApi]:
    api = FakeSlackApi()
    runner = web.AppRunner(api.app(), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    api.url = f"http://127.0.0.1:{port}"
    try:
        yield api
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def workers(url: str, api_url: str, folder: Path, count: int) -> AsyncIterator[list[Worker]]:
    """`count` real `coulisse serve` processes, healthy; terminated (then killed) on the way
    out, whatever happened."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "PYTHONUNBUFFERED": "1",
        "COULISSE_DATABASE_URL": url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_APP_TOKEN": "",
        "MICROSOFT_APP_ID": "",
        "COULISSE_ALLOW_UNAUTHENTICATED": "0",
        "COULISSE_SLACK_API_URL": f"{api_url}/api/",
        "COULISSE_OUTBOX_INTERVAL": "0.05",
        "COULISSE_SLACK_CHANNEL_INTERVAL": "0",
        "COULISSE_OUTBOX_LEASE": str(LEASE_SECONDS),
    }
    started: list[Worker] = []
    try:
        for n in range(count):
            port = free_port()
            log_path = folder / f"worker{n}.log"
            log = log_path.open("wb")
            proc = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "bot", "serve", "--port", str(port)),
                cwd=folder,  # no .env from the repository, no stray coulisse.db
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
            started.append(Worker(proc, port, log, log_path))
        for worker in started:
            base = f"http://127.0.0.1:{worker.port}"
            await until_healthy(base, worker.proc, worker.output, "worker", 60)
        yield started
    finally:
        for worker in started:
            if worker.proc.returncode is None:
                worker.proc.send_signal(signal.SIGTERM)
        for worker in started:
            try:
                await asyncio.wait_for(worker.proc.wait(), 15)
            except TimeoutError:
                worker.proc.kill()
                await asyncio.wait_for(worker.proc.wait(), 5)
            worker.log.close()


def posted(api: FakeSlackApi) -> Counter[int]:
    """How often each message number reached chat.postMessage."""
    found: Counter[int] = Counter()
    for call in api.calls:
        if call.method == "chat.postMessage":
            match = MARKER.search(str(call.params.get("text", "")))
            assert match is not None, call.params
            found[int(match.group(1))] += 1
    return found


async def wait_until(app: App, api: FakeSlackApi, share: float) -> None:
    """Until `share` of the messages reached the fake or, for all of them, none is pending."""
    deadline = asyncio.get_running_loop().time() + DEADLINE
    while asyncio.get_running_loop().time() < deadline:
        if share < 1 and sum(c.method == "chat.postMessage" for c in api.calls) >= share * ROWS:
            return
        # Every row marked, not merely every text received: a row the killed worker sent
        # but did not mark is received early and marked only after its lease ran out.
        if share >= 1 and (await statuses(app))[OutboxStatus.PENDING.value] == 0:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"only {len(posted(api))} of {ROWS} sent after {DEADLINE:.0f} s")


def report(label: str, counts: Counter[int], extra: str = "") -> None:
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    print(f"\n{label}: {len(counts)} of {ROWS} messages sent, duplicates: {duplicates}{extra}")


async def test_three_workers_send_each_due_message_exactly_once(
    workers_db: str, tmp_path: Path
) -> None:
    app = await build(workers_db, SystemClock(), migrate=False)
    try:
        await seed(app, ROWS)
        async with fake_slack() as api:
            async with workers(workers_db, api.url, tmp_path, WORKERS) as running:
                started = await make_all_due(app)
                await wait_until(app, api, 1.0)
                assert all(w.proc.returncode is None for w in running)
            # The workers are stopped (SIGTERM waits for jobs in flight): nothing more comes.
            elapsed = (datetime.now(UTC) - started).total_seconds()
            counts = posted(api)
            report("3 workers", counts, f", {elapsed:.1f} s")
            assert [n for n, times in counts.items() if times > 1] == []  # 0 duplicates
            assert set(counts) == set(range(ROWS))  # 0 lost
            assert await statuses(app) == Counter({OutboxStatus.SENT.value: ROWS})
            assert len(api.of("conversations.open")) == ROWS  # one DM channel per person
    finally:
        await app.close()


async def test_a_killed_worker_loses_nothing_and_duplicates_at_most_its_claimed_batch(
    workers_db: str, tmp_path: Path
) -> None:
    app = await build(workers_db, SystemClock(), migrate=False)
    try:
        await seed(app, ROWS)
        async with fake_slack() as api:
            async with workers(workers_db, api.url, tmp_path, WORKERS) as running:
                await make_all_due(app)
                await wait_until(app, api, KILL_AFTER)
                victim = running[0]
                victim.proc.send_signal(signal.SIGKILL)
                await asyncio.wait_for(victim.proc.wait(), 10)
                sent_at_kill = sum(c.method == "chat.postMessage" for c in api.calls)
                assert victim.proc.returncode == -signal.SIGKILL
                assert sent_at_kill < ROWS, "the kill came after everything was sent"
                # The survivors take over what the dead worker held once its lease ran out.
                await wait_until(app, api, 1.0)
                assert all(w.proc.returncode is None for w in running[1:])
            counts = posted(api)
            again = await reclaimed(app)
            duplicated = {n for n, times in counts.items() if times > 1}
            report(
                "3 workers, one killed",
                counts,
                f" (killed after {sent_at_kill} sent; {len(again)} rows claimed again "
                f"after their lease ran out)",
            )
            assert set(counts) == set(range(ROWS))  # 0 lost
            assert await statuses(app) == Counter({OutboxStatus.SENT.value: ROWS})
            # A duplicate is a row the dead worker sent but had not marked: claimed again.
            assert all(counts[n] == 2 for n in duplicated)
            assert duplicated <= again
            assert len(again) <= BATCH  # one kill strands at most one claimed batch
    finally:
        await app.close()
