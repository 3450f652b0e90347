"""Sending nudges, and keeping 100,000 of them: the outbox on PostgreSQL against a bare outbox
worker and against the naive design (one APScheduler job per nudge), measured in the same run.

(a) **Dispatch**: 10,000 due DMs, each to a person of its own (so Slack's per-channel pacing
    never waits) with a text of its own, sent to a fake Slack Web API on loopback (DM channel
    through conversations.open, then chat.postMessage) by 1 and by 4 real `coulisse serve`
    processes on one PostgreSQL database, with their default interval and lease. The baseline is
    a bare outbox worker (this script with --bare-worker): asyncpg and aiohttp only, the same
    `FOR UPDATE SKIP LOCKED` claim of 50, the same two HTTP calls, one UPDATE to mark each row
    sent; with 1 and 4 processes too. The rows are pre-rendered messages (kind "digest"), so
    nudge etiquette cannot postpone them on a weekend and rendering a nudge from the state of
    its round or commitment is not part of the figure. Every run starts from the same rows made
    due at one moment once all workers answer /healthz; it counts nudges/s (rows / (last sent_at
    - that moment)), duplicates and losses (texts the fake received; rows not marked sent) and
    the p99 lateness (sent_at - due_at, nearest rank, from the outbox table).
(b) **Keeping**: 100,000 nudges scheduled over the coming weeks (check-ins; payloads carry ids
    only). Coulisse keeps them as outbox rows (queued through the unit of work, 1,000 per
    transaction); the naive design as 100,000 APScheduler jobs in a SQLAlchemyJobStore on a
    SQLite file (sync SQLAlchemy; no sync PostgreSQL driver is a dependency), one `add_job`
    each, calling a no-op at the nudge's moment. Measured: the time to queue them, and of a
    process started fresh (median of three starts each, alternating): the time from spawning it
    to /healthz answering 200, and its resident memory (VmRSS) a second later. `coulisse serve`
    is the real one; the naive process starts an AsyncIOScheduler on that job store and serves
    /healthz with aiohttp (which asks the job store for its next run time). Both also start
    empty, which shows what the 100,000 cost each of them.

Loopback only; everything it creates (processes, databases, files) is removed at the end.
Run: `.venv/bin/python bench/nudges.py [--due 10000] [--future 100000]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import re
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.background import BackgroundScheduler

# The naive process is this script too, and its memory is measured: it imports only what the
# naive design needs (above). Coulisse's own modules and asyncpg are imported where used.

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SCRIPT = str(Path(__file__).resolve())
PG_URL = os.environ.get("COULISSE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
HOST = "127.0.0.1"
MARKER = re.compile(r"nudge-(\d+)")
PEOPLE_FUTURE = 1000  # the 100,000 future nudges go to this many people
NAIVE_FUNC = "bench.nudges:noop_nudge"
BATCH = 50  # OutboxDispatcher's claim size, used by the bare worker too
LEASE_SECONDS = 60  # COULISSE_OUTBOX_LEASE's default, used by the bare worker too
IDLE_SECONDS = 1.0  # COULISSE_OUTBOX_INTERVAL's default: how long an idle worker waits
STARTS = 3
START_TIMEOUT = 60.0
DISPATCH_TIMEOUT = 600.0
SETTLE_SECONDS = 1.0  # after /healthz, before VmRSS is read: the first ticks have run


def noop_nudge(outbox_id: int) -> None:
    """What a naive job calls at its moment (never, here: every job is in the future)."""
    del outbox_id


def text_of(n: int) -> str:
    return f"Weekoverzicht nudge-{n:05d}"


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest rank: the value at or below which p % of the values fall."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# --- processes ------------------------------------------------------------------------------


@dataclass
class Proc:
    proc: asyncio.subprocess.Process
    port: int
    spawned: float  # time.perf_counter() just before the spawn
    log: Path

    def cpu_seconds(self) -> float:
        """User and system time the process has used so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        assert found is not None
        return int(found.group(1))


def env_for(url: str, api_url: str) -> dict[str, str]:
    from tests.fake_slack import BOT_TOKEN, SIGNING_SECRET

    return {
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
    }


PROFILES: list[Path] = []  # with --profile: each `coulisse serve` under cProfile, into its file


def serve_args(port: int) -> list[str]:
    serve = ["-m", "bot", "serve", "--host", HOST, "--port", str(port)]
    if PROFILES:
        PROFILES.append(PROFILES[0].with_name(f"serve-{port}.prof"))
        return [sys.executable, "-m", "cProfile", "-o", str(PROFILES[-1]), *serve]
    return [sys.executable, *serve]


def bare_args(port: int, url: str, api_url: str) -> list[str]:
    return [sys.executable, SCRIPT, "--bare-worker", str(port), url, f"{api_url}/api/"]


def naive_args(port: int, store: Path) -> list[str]:
    return [sys.executable, SCRIPT, "--naive", str(port), str(store)]


async def spawn(args: Callable[[int], list[str]], env: dict[str, str], folder: Path) -> Proc:
    port = _free_port()
    log = folder / f"proc-{uuid.uuid4().hex[:8]}.log"
    with log.open("wb") as out:
        spawned = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            *args(port),
            cwd=folder,  # no .env from the repository
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
    return Proc(proc, port, spawned, log)


def _free_port() -> int:
    from tests.fake_slack import free_port

    return free_port()


async def healthy(session: aiohttp.ClientSession, proc: Proc) -> float:
    """Seconds from spawning the process until its /healthz answered 200."""
    deadline = time.perf_counter() + START_TIMEOUT
    while time.perf_counter() < deadline:
        if proc.proc.returncode is not None:
            raise RuntimeError(f"process exited:\n{proc.log.read_text(errors='replace')[-3000:]}")
        with contextlib.suppress(aiohttp.ClientError):
            async with session.get(f"http://{HOST}:{proc.port}/healthz") as resp:
                if resp.status == 200:
                    return time.perf_counter() - proc.spawned
        await asyncio.sleep(0.01)
    raise RuntimeError(f"no /healthz in {START_TIMEOUT:.0f} s: {proc.log.read_text()[-3000:]}")


async def stop(procs: Sequence[Proc]) -> None:
    """SIGTERM (a worker finishes what it is sending), then SIGKILL whatever is left."""
    for p in procs:
        if p.proc.returncode is None:
            p.proc.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            await asyncio.wait_for(p.proc.wait(), 20)
        except TimeoutError:
            p.proc.kill()
            await p.proc.wait()


@contextlib.asynccontextmanager
async def processes(
    args: Callable[[int], list[str]], env: dict[str, str], folder: Path, count: int
) -> AsyncIterator[list[Proc]]:
    started: list[Proc] = []
    try:
        for _ in range(count):
            started.append(await spawn(args, env, folder))
        async with aiohttp.ClientSession() as session:
            for p in started:
                await healthy(session, p)
        yield started
    finally:
        await stop(started)


# --- databases ------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def fresh_postgres() -> AsyncIterator[str]:
    import asyncpg

    from storage.migrate import upgrade

    name = f"coulisse_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_URL, timeout=5)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
        await asyncio.to_thread(upgrade, url)
        yield url
    finally:
        admin = await asyncpg.connect(PG_URL, timeout=5)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def sql(url: str, statement: str, *args: Any) -> list[Any]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(statement, *args))
    finally:
        await conn.close()


async def seed_people(uow: Any, count: int) -> list[int]:
    from handlers.model import Person, Platform, Workspace

    workspace = Workspace(Platform.SLACK, "T1")
    uow.add(workspace)
    await uow.flush()
    assert workspace.id is not None
    people = [Person(workspace.id, f"U{n:06d}", f"Persoon {n}") for n in range(count)]
    for person in people:
        uow.add(person)
    await uow.flush()
    ids = [p.id for p in people]
    assert None not in ids
    return [int(i) for i in ids if i is not None]


async def seed_due(url: str, count: int) -> None:
    """`count` people and one pre-rendered DM to each, due only in a day (made due per run)."""
    from bot.clock import SystemClock
    from bot.wiring import build
    from handlers.messages import Destination, Text, encode_destination, encode_message, message
    from handlers.model import OutboxMessage

    app = await build(url, SystemClock(), migrate=False)
    later = datetime.now(UTC) + timedelta(days=1)
    try:
        async with app.uow() as uow:
            people = await seed_people(uow, count)
            for n, person in enumerate(people):
                await uow.outbox.enqueue(
                    OutboxMessage(
                        f"digest:{n}",
                        "digest",
                        encode_destination(Destination.dm(person)),
                        encode_message(message(Text(text_of(n)))),
                        later,
                        person,
                    )
                )
            await uow.commit()
    finally:
        await app.close()


def future_moment(start: datetime, n: int) -> datetime:
    """Spread over the next 23 days, from tomorrow."""
    return start + timedelta(days=1, seconds=20 * n)


async def queue_future(url: str, count: int, start: datetime) -> float:
    """Seconds to queue `count` future check-ins as outbox rows, 1,000 per transaction."""
    from bot.clock import SystemClock
    from bot.wiring import build
    from handlers.messages import Destination, encode_destination
    from handlers.model import OutboxMessage

    app = await build(url, SystemClock(), migrate=False)
    try:
        async with app.uow() as uow:
            people = await seed_people(uow, PEOPLE_FUTURE)
            await uow.commit()
        began = time.perf_counter()
        for first in range(0, count, 1000):
            async with app.uow() as uow:
                for n in range(first, min(count, first + 1000)):
                    person = people[n % len(people)]
                    await uow.outbox.enqueue(
                        OutboxMessage(
                            f"checkin:{n}:due",
                            "checkin",
                            encode_destination(Destination.dm(person)),
                            {"nudge": {"type": "checkin", "commitment_id": n, "moment": "due"}},
                            future_moment(start, n),
                            person,
                        )
                    )
                await uow.commit()
        return time.perf_counter() - began
    finally:
        await app.close()


def add_naive_jobs(store: Path, count: int, start: datetime) -> float:
    """Seconds to add `count` one-off jobs (ids as arguments); the job store commits each."""
    jobstore = SQLAlchemyJobStore(url=f"sqlite:///{store}")
    scheduler = BackgroundScheduler(jobstores={"default": jobstore}, timezone=UTC)
    scheduler.start(paused=True)  # paused: it stores jobs, it never runs one
    try:
        began = time.perf_counter()
        for n in range(count):
            scheduler.add_job(
                NAIVE_FUNC,
                "date",
                run_date=future_moment(start, n),
                args=[n],
                id=f"checkin:{n}:due",
            )
        return time.perf_counter() - began
    finally:
        scheduler.shutdown(wait=False)


# --- (a) dispatch ---------------------------------------------------------------------------


@dataclass
class Dispatch:
    label: str
    workers: int
    rate: float
    duplicates: int
    lost: int
    p99_lateness: float
    reclaimed: int  # rows claimed more than once (a lease ran out before they were marked)
    log_problems: int  # warnings and errors in the workers' logs, skipped-tick notices aside
    cpu_ms: float  # per DM: the workers' CPU time (user + system) from due to all sent


async def reset(url: str) -> None:
    """Every row pending again, due only in a day; no DM channel known yet."""
    await sql(
        url,
        "UPDATE outbox SET status = 'pending', attempts = 0, lease_until = NULL, sent_at = NULL,"
        " reason = '', due_at = now() + interval '1 day'",
    )
    await sql(url, "DELETE FROM conversation_refs")
    await sql(url, "VACUUM ANALYZE outbox")


def log_problems(procs: Sequence[Proc]) -> int:
    noticed = 0
    for p in procs:
        for line in p.log.read_text(errors="replace").splitlines():
            if line.startswith(("WARNING", "ERROR", "Traceback")) and not any(
                quiet in line for quiet in ("maximum number of running", "`token` will be unused")
            ):
                noticed += 1
    return noticed


async def dispatch(
    label: str,
    args: Callable[[int], list[str]],
    url: str,
    api: Any,
    folder: Path,
    workers: int,
    count: int,
) -> Dispatch:
    await reset(url)
    api.calls.clear()
    async with processes(args, env_for(url, api.url), folder, workers) as procs:
        due = datetime.now(UTC)
        cpu_before = sum(p.cpu_seconds() for p in procs)
        await sql(url, "UPDATE outbox SET due_at = $1", due)
        deadline = time.perf_counter() + DISPATCH_TIMEOUT
        while (await sql(url, "SELECT count(*) FROM outbox WHERE status = 'pending'"))[0][0]:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{label}: not all sent in {DISPATCH_TIMEOUT:.0f} s")
            if any(p.proc.returncode is not None for p in procs):
                raise RuntimeError(f"{label}: a worker died: {procs[0].log.read_text()[-2000:]}")
            await asyncio.sleep(0.1)
        cpu = sum(p.cpu_seconds() for p in procs) - cpu_before
    # The workers are stopped: nothing more reaches the fake.
    received: Counter[int] = Counter()
    for call in api.calls:
        if call.method == "chat.postMessage":
            found = MARKER.search(str(call.params.get("text", "")))
            if found:
                received[int(found.group(1))] += 1
    rows = await sql(url, "SELECT dedupe_key, status, sent_at, due_at, attempts FROM outbox")
    sent = [r for r in rows if r["status"] == "sent"]
    unmarked = {int(r["dedupe_key"].split(":")[1]) for r in rows if r["status"] != "sent"}
    last = max(r["sent_at"] for r in sent)
    return Dispatch(
        label,
        workers,
        len(sent) / (last - due).total_seconds(),
        sum(times - 1 for times in received.values()),
        len((set(range(count)) - set(received)) | unmarked),
        percentile([(r["sent_at"] - r["due_at"]).total_seconds() for r in sent], 99),
        sum(r["attempts"] > 1 for r in rows),
        log_problems(procs),
        cpu / count * 1000,
    )


@contextlib.asynccontextmanager
async def fake_slack() -> AsyncIterator[Any]:
    """The recording fake Slack Web API of the tests, served on loopback by this process."""
    from tests.fake_slack import FakeSlackApi

    api = FakeSlackApi()
    runner = web.AppRunner(api.app(), access_log=None)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, HOST, port).start()
    api.url = f"http://{HOST}:{port}"
    try:
        yield api
    finally:
        await runner.cleanup()


async def measure_dispatch(
    folder: Path, api: Any, count: int, workers_runs: Sequence[int] = (1, 4)
) -> list[Dispatch]:
    results = []
    async with fresh_postgres() as url:
        await seed_due(url, count)

        def bare(port: int) -> list[str]:
            return bare_args(port, url, api.url)

        for workers in workers_runs:
            for label, args in (("coulisse serve", serve_args), ("bare worker", bare)):
                result = await dispatch(label, args, url, api, folder, workers, count)
                print(f"  {label:15} x{workers}: {result.rate:6.0f} /s", flush=True)
                results.append(result)
    return results


# --- (c) what one DM costs -----------------------------------------------------------------


@dataclass
class Cost:
    statements: float  # per DM: statements sent to the database
    round_trips: float  # statements plus BEGIN and COMMIT/ROLLBACK, each a round trip
    commits: float
    http_calls: float  # requests to the Slack Web API
    connections: float  # TCP connections opened to it


def count_connections(app: web.Application) -> set[Any]:
    """The fake's peers (host, port): one per TCP connection a client opened to it."""
    peers: set[Any] = set()

    @web.middleware
    async def note(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.transport is not None:
            peers.add(request.transport.get_extra_info("peername"))
        return await handler(request)

    app.middlewares.append(note)
    return peers


async def measure_cost(count: int) -> Cost:
    """`count` DMs sent in this process by the messages lane of `coulisse serve` (the same
    dispatcher, delivery and Slack sender), counted at SQLAlchemy's engine events."""
    import sqlalchemy as sa
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.clock import SystemClock
    from bot.config import Settings
    from bot.delivery import Delivery
    from bot.serve import outbox_lanes
    from bot.slack.sender import SlackSender
    from bot.wiring import build
    from handlers.model import Platform
    from tests.fake_slack import BOT_TOKEN, FakeSlackApi, on_loopback

    api = FakeSlackApi()
    site = api.app()
    peers = count_connections(site)
    async with fresh_postgres() as url, on_loopback(site, quiet=True) as api_url:
        await seed_due(url, count)
        await sql(url, "UPDATE outbox SET due_at = now()")
        app = await build(url, SystemClock(), migrate=False)
        http = aiohttp.ClientSession()  # as bot.serve gives the client
        try:
            client = AsyncWebClient(token=BOT_TOKEN, base_url=f"{api_url}/api/", session=http)
            sender = SlackSender(client)
            messages, _drafts = outbox_lanes(app, Delivery(app.uow, {Platform.SLACK: sender}),
                                             Settings(_env_file=None))  # fmt: skip
            counts: Counter[str] = Counter()

            def sent(event: str) -> Callable[..., None]:
                def count(conn: Any, *_args: Any) -> None:
                    # In autocommit no BEGIN or COMMIT goes to the server, only the statement.
                    options = conn.get_execution_options()
                    if (
                        event == "before_cursor_execute"
                        or options.get("isolation_level") != "AUTOCOMMIT"
                    ):
                        counts[event] += 1

                return count

            for event in ("begin", "commit", "rollback", "before_cursor_execute"):
                sa.event.listen(app.engine.sync_engine, event, sent(event))
            await messages.drain()  # (a batch past half its lease hands the rest back)
        finally:
            await http.close()
            await app.close()
        unsent = await sql(url, "SELECT count(*) FROM outbox WHERE status <> 'sent'")
        assert unsent[0][0] == 0, unsent
    statements = counts["before_cursor_execute"]
    ends = counts["commit"] + counts["rollback"]
    return Cost(
        statements / count,
        (statements + counts["begin"] + ends) / count,
        counts["commit"] / count,
        len(api.calls) / count,
        len(peers) / count,
    )


# --- the bare outbox worker, in its own process ---------------------------------------------

CLAIM = f"""
UPDATE outbox SET lease_until = now() + interval '{LEASE_SECONDS} seconds',
                  attempts = attempts + 1
WHERE id IN (
    SELECT id FROM outbox
    WHERE status = 'pending' AND due_at <= now() AND (lease_until IS NULL OR lease_until < now())
    ORDER BY due_at, id LIMIT {BATCH}
    FOR UPDATE SKIP LOCKED)
RETURNING id, payload -> 'blocks' -> 0 ->> 'text' AS text,
          (SELECT platform_id FROM people WHERE people.id = outbox.person_id) AS platform_id
"""
MARK_SENT = (
    "UPDATE outbox SET status = 'sent', sent_at = clock_timestamp(), lease_until = NULL"
    " WHERE id = $1"
)


async def bare_worker(port: int, url: str, api_url: str) -> None:
    """Claim, open the DM, post, mark: nothing else. Stops between two rows on SIGTERM."""
    import asyncpg

    from tests.fake_slack import BOT_TOKEN

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stopping.set)
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)

    async def healthz(_request: web.Request) -> web.Response:
        await pool.fetchval("SELECT 1")
        return web.json_response({"status": "ok"})

    site = web.Application()
    site.router.add_get("/healthz", healthz)
    runner = web.AppRunner(site, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, HOST, port).start()
    headers = {"Authorization": f"Bearer {BOT_TOKEN}"}
    try:
        async with aiohttp.ClientSession(headers=headers) as http:
            while not stopping.is_set():
                rows = await pool.fetch(CLAIM)
                if not rows:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stopping.wait(), IDLE_SECONDS)
                    continue
                for row in rows:
                    if stopping.is_set():
                        break  # the rest waits for its lease to run out
                    form = {"users": row["platform_id"]}
                    async with http.post(f"{api_url}conversations.open", data=form) as resp:
                        channel = (await resp.json())["channel"]["id"]
                    body = {"channel": channel, "text": row["text"]}
                    async with http.post(f"{api_url}chat.postMessage", json=body) as resp:
                        if not (await resp.json())["ok"]:
                            raise RuntimeError("chat.postMessage failed")
                    await pool.execute(MARK_SENT, row["id"])
    finally:
        await runner.cleanup()
        await pool.close()


# --- (b) keeping 100,000 --------------------------------------------------------------------


async def naive_process(port: int, store: Path) -> None:
    """The naive design's process: an AsyncIOScheduler on the job store, and a /healthz."""
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    jobstore = SQLAlchemyJobStore(url=f"sqlite:///{store}")
    scheduler = AsyncIOScheduler(jobstores={"default": jobstore}, timezone=UTC)
    scheduler.start()

    async def healthz(_request: web.Request) -> web.Response:
        jobstore.get_next_run_time()  # a query on the job store, as /healthz runs SELECT 1
        return web.json_response({"status": "ok"})

    site = web.Application()
    site.router.add_get("/healthz", healthz)
    runner = web.AppRunner(site, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, HOST, port).start()
    try:
        await stopping.wait()
    finally:
        scheduler.shutdown(wait=False)
        await runner.cleanup()


@dataclass
class Start:
    seconds: list[float]
    rss_kib: list[int]

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds)

    @property
    def median_mib(self) -> float:
        return statistics.median(self.rss_kib) / 1024


async def start_once(
    args: Callable[[int], list[str]], env: dict[str, str], folder: Path, into: Start
) -> None:
    proc = await spawn(args, env, folder)
    try:
        async with aiohttp.ClientSession() as session:
            into.seconds.append(await healthy(session, proc))
        await asyncio.sleep(SETTLE_SECONDS)
        into.rss_kib.append(proc.rss_kib())
    finally:
        await stop([proc])


@dataclass
class Keeping:
    count: int
    queue_coulisse: float
    queue_naive: float
    starts: dict[str, Start]
    outbox_mib: float
    store_mib: float


async def measure_keeping(folder: Path, api: Any, count: int) -> Keeping:
    start = datetime.now(UTC)
    empty_store, full_store = folder / "empty-jobs.sqlite", folder / "jobs.sqlite"
    await asyncio.to_thread(add_naive_jobs, empty_store, 0, start)  # the table, no jobs
    async with fresh_postgres() as empty_url, fresh_postgres() as full_url:
        queue_coulisse = await queue_future(full_url, count, start)
        print(f"  queued {count:,} outbox rows in {queue_coulisse:.1f} s", flush=True)
        queue_naive = await asyncio.to_thread(add_naive_jobs, full_store, count, start)
        print(f"  added {count:,} APScheduler jobs in {queue_naive:.1f} s", flush=True)
        configurations: dict[str, tuple[Callable[[int], list[str]], dict[str, str]]] = {
            "coulisse empty": (serve_args, env_for(empty_url, api.url)),
            "coulisse full": (serve_args, env_for(full_url, api.url)),
            "naive empty": (lambda p: naive_args(p, empty_store), dict(os.environ)),
            "naive full": (lambda p: naive_args(p, full_store), dict(os.environ)),
        }
        starts = {name: Start([], []) for name in configurations}
        for _ in range(STARTS):  # alternating, so machine noise hits all alike
            for name, (args, env) in configurations.items():
                await start_once(args, env, folder, starts[name])
        size = await sql(full_url, "SELECT pg_total_relation_size('outbox')")
    return Keeping(
        count,
        queue_coulisse,
        queue_naive,
        starts,
        size[0][0] / 2**20,
        full_store.stat().st_size / 2**20,
    )


# --- report ---------------------------------------------------------------------------------


def print_dispatch(results: list[Dispatch], count: int) -> None:
    print(f"\n(a) {count:,} due DMs to the fake Slack Web API, PostgreSQL, all due at once")
    print(
        "  path             workers  nudges/s  duplicates  lost  p99 lateness  "
        "claimed twice  log warnings  CPU ms/DM"
    )
    for r in results:
        print(
            f"  {r.label:15} {r.workers:8} {r.rate:9.0f} {r.duplicates:11} {r.lost:5} "
            f"{r.p99_lateness:11.1f} s {r.reclaimed:14} {r.log_problems:13} {r.cpu_ms:10.2f}"
        )
    by = {(r.label, r.workers): r for r in results}
    runs = sorted({r.workers for r in results})
    for workers in runs:
        ours, bare = by[("coulisse serve", workers)], by[("bare worker", workers)]
        print(
            f"  ratio coulisse/bare, {workers} worker(s): {ours.rate / bare.rate:.2f}; "
            f"CPU per DM {ours.cpu_ms / bare.cpu_ms:.2f}×"
        )
    for label in ("coulisse serve", "bare worker") if runs == [1, 4] else ():
        print(f"  {label}: 4 workers / 1 worker: {by[(label, 4)].rate / by[(label, 1)].rate:.2f}")


def print_keeping(k: Keeping) -> None:
    s = k.starts
    print(f"\n(b) {k.count:,} nudges scheduled in the coming weeks")
    print(
        f"  queue them: coulisse {k.queue_coulisse:.1f} s (outbox rows, 1,000 per transaction)"
        f", naive {k.queue_naive:.1f} s (add_job, one commit each); "
        f"ratio {k.queue_coulisse / k.queue_naive:.2f}"
    )
    print(f"  on disk: outbox table {k.outbox_mib:.1f} MiB, job store file {k.store_mib:.1f} MiB")
    print(f"  start-up to /healthz 200 and VmRSS {SETTLE_SECONDS:.0f} s later, median of {STARTS}:")
    for name, start in s.items():
        design, queued = name.split()
        what = "nothing queued" if queued == "empty" else f"{k.count:,} queued"
        label = f"{design}, {what}"
        print(f"    {label:28} {start.median_s:6.2f} s {start.median_mib:8.1f} MiB")
    ours, naive = s["coulisse full"], s["naive full"]
    start_ratio, memory_ratio = ours.median_s / naive.median_s, ours.median_mib / naive.median_mib
    print(
        f"  ratio coulisse/naive with {k.count:,}: start-up {start_ratio:.2f}, "
        f"memory {memory_ratio:.2f}"
    )
    for design in ("coulisse", "naive"):
        full, empty = s[f"{design} full"], s[f"{design} empty"]
        print(
            f"  what the {k.count:,} cost {design}: start-up "
            f"{full.median_s - empty.median_s:+.2f} s, memory "
            f"{full.median_mib - empty.median_mib:+.1f} MiB"
        )


def print_cost(cost: Cost, count: int) -> None:
    print(f"\n(c) what one DM costs, {count:,} sent by one messages lane in this process")
    print(
        f"  per DM: {cost.statements:.2f} statements, {cost.round_trips:.2f} database round trips "
        f"({cost.commits:.2f} commits), {cost.http_calls:.2f} Slack calls over "
        f"{cost.connections:.2f} new connections"
    )
    print("  bare worker, per DM: 1.02 statements and round trips (the mark; a claim per 50), "
          "2 Slack calls over one kept-alive connection")  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--due", type=int, default=10_000, help="due nudges to dispatch")
    parser.add_argument("--future", type=int, default=100_000, help="future nudges to keep")
    parser.add_argument("--cost", type=int, default=500, help="DMs counted for (c)")
    parser.add_argument("--parts", default="abc", help="which of (a), (b), (c) to run")
    parser.add_argument("--workers", default="1,4", help="the runs of (a): processes in each")
    parser.add_argument("--profile", type=Path, help="a folder: cProfile each coulisse serve")
    args = parser.parse_args()
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        PROFILES.append(args.profile.resolve() / "serve.prof")
    with tempfile.TemporaryDirectory(prefix="coulisse-bench-nudges-") as name:
        folder = Path(name)
        async with fake_slack() as api:
            if "a" in args.parts:
                print(f"(a) dispatching {args.due:,} due nudges", flush=True)
                runs = [int(n) for n in args.workers.split(",")]
                dispatched = await measure_dispatch(folder, api, args.due, runs)
            if "b" in args.parts:
                print(f"(b) keeping {args.future:,} future nudges", flush=True)
                kept = await measure_keeping(folder, api, args.future)
        if "c" in args.parts:
            print(f"(c) counting what {args.cost:,} DMs cost", flush=True)
            cost = await measure_cost(args.cost)
    if "a" in args.parts:
        print_dispatch(dispatched, args.due)
    if "b" in args.parts:
        print_keeping(kept)
    if "c" in args.parts:
        print_cost(cost, args.cost)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--bare-worker"]:
        asyncio.run(bare_worker(int(sys.argv[2]), sys.argv[3], sys.argv[4]))
    elif sys.argv[1:2] == ["--naive"]:
        asyncio.run(naive_process(int(sys.argv[2]), Path(sys.argv[3])))
    else:
        asyncio.run(main())
