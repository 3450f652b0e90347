"""What the fault scenarios share: a throw-away PostgreSQL cluster of their own (initdb and
pg_ctl in a temp folder, on a port of its own, never the shared server), `coulisse serve` as
real processes that can be killed with SIGKILL and started again under the same name, a clock
that can be moved for them, a Slack that retries what was not acknowledged, and the figures
each scenario prints (lost, duplicate effects, duplicate messages, lateness p50/p99)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import aiohttp
import pytest
from aiohttp import web

from tests.conftest import IN_CI, until_healthy
from tests.fake_slack import (
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlackApi,
    SlackClient,
    free_port,
    on_loopback,
    sign,
)

ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = Path(__file__).resolve().parent / "serve_moved.py"


# --- a PostgreSQL cluster of the scenario's own -------------------------------------------


def pg_bin() -> Path | None:
    """The newest PostgreSQL server programs on this machine (Debian keeps them per version)."""
    env = os.environ.get("COULISSE_PG_BIN")
    if env:
        return Path(env)
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: p.parts)
    if found:
        return found[-1].parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


@dataclass
class Cluster:
    """initdb'd in a temp folder, on its own port; stopped, restarted and removed at will."""

    folder: Path
    port: int
    bin: Path
    as_user: list[str]

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c max_connections=200")  # fmt: skip
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-o", options,
                  "-l", str(self.folder / "server.log"), "-w", "-t", "30", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", mode,
                  "-w", "-t", "30", "stop")  # fmt: skip

    def restart(self) -> None:
        self.stop("fast")
        self.start()


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    """A new cluster, started; stopped and deleted afterwards. As root, initdb refuses to run:
    the cluster then belongs to the `postgres` user (runuser)."""
    binary = pg_bin()
    if binary is None or not (binary / "initdb").exists():
        if IN_CI:
            pytest.fail("the fault suite needs PostgreSQL's initdb and pg_ctl in CI")
        pytest.skip("no initdb/pg_ctl on this machine (set COULISSE_PG_BIN)")
    as_user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="coulisse-faults-pg-"))
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(folder, "postgres")
    cluster = Cluster(folder, free_port(), binary, as_user)
    try:
        cluster._run(str(binary / "initdb"), "-D", str(folder / "data"), "-A", "trust",
                     "-U", "postgres", "-E", "UTF8", "--no-sync")  # fmt: skip
        cluster.start()
        yield cluster
    finally:
        with contextlib.suppress(Exception):
            cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


# --- `coulisse serve`, killable and restartable -----------------------------------------


@dataclass
class Serve:
    """One `coulisse serve` under a fixed name and port: killed, it starts again as the same
    worker (COULISSE_INSTANCE), so it takes back what it held."""

    name: str
    port: int
    env: dict[str, str]
    folder: Path
    proc: asyncio.subprocess.Process | None = None
    log: IO[bytes] | None = None
    starts: int = 0

    @property
    def log_path(self) -> Path:
        return self.folder / f"{self.name}.log"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        if self.log is not None and not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    async def start(self, wait: bool = True) -> None:
        self.close_log()
        self.log = self.log_path.open("ab")
        self.starts += 1
        self.log.write(f"\n--- start {self.starts} ---\n".encode())
        self.log.flush()
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, str(LAUNCHER), "--port", str(self.port),
            cwd=self.folder, env={**self.env, "COULISSE_INSTANCE": self.name},
            stdin=asyncio.subprocess.DEVNULL, stdout=self.log, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        if wait:
            await self.healthy()

    async def healthy(self, timeout: float = 90) -> None:
        assert self.proc is not None
        await until_healthy(self.base, self.proc, lambda: self.output()[-3000:], self.name, timeout)

    def close_log(self) -> None:
        if self.log is not None:
            self.log.close()
            self.log = None

    async def kill(self) -> None:
        """SIGKILL: no handing back, no clean close, as a crash or an OOM kill."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
        await asyncio.wait_for(self.proc.wait(), 15)

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 20)
        except TimeoutError:
            self.proc.kill()
            await asyncio.wait_for(self.proc.wait(), 5)
        self.close_log()


def serve_env(url: str, folder: Path, *, slack_api: str = "", **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "PYTHONUNBUFFERED": "1",
        "COULISSE_DATABASE_URL": url,
        "SLACK_APP_TOKEN": "",
        "MICROSOFT_APP_ID": "",
        "COULISSE_ALLOW_UNAUTHENTICATED": "0",
        "COULISSE_OUTBOX_INTERVAL": "0.05",
        "COULISSE_SLACK_CHANNEL_INTERVAL": "0",
        "COULISSE_TICK_INTERVAL": "0.2",
        "COULISSE_LOG_LEVEL": "WARNING",
        "COULISSE_FAULTS_CLOCK": str(folder / "clock"),
    }
    if slack_api:
        env |= {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "COULISSE_SLACK_API_URL": f"{slack_api}/api/"}  # fmt: skip
    else:
        env |= {"SLACK_BOT_TOKEN": "", "SLACK_SIGNING_SECRET": ""}
    return env | extra


@contextlib.asynccontextmanager
async def serving(
    names: list[str], env: dict[str, str], folder: Path
) -> AsyncIterator[list[Serve]]:
    """Processes started together (not waiting for each other), all healthy; stopped after."""
    procs = [Serve(name, free_port(), env, folder) for name in names]
    try:
        for proc in procs:
            await proc.start(wait=False)
        for proc in procs:
            await proc.healthy()
        yield procs
    finally:
        for proc in procs:
            await proc.stop()
            proc.close_log()


class MovedClock:
    """The processes' clock, moved forward by the scenario (tests/faults/serve_moved.py reads
    the offset from this file): a day of rounds, or ten minutes of downtime, in a second."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "clock"
        self.offset = 0.0
        self.path.write_text("0")

    def advance(self, seconds: float) -> None:
        self.offset += seconds
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(repr(self.offset))
        tmp.replace(self.path)  # never half written


# --- a Slack that retries what it did not get a 200 for ----------------------------------


@dataclass
class RetryingSlack:
    """Sends events as Slack does: no 200 (an error, a refused connection, a timeout) and it
    sends the same event again, with X-Slack-Retry-Num, on a schedule squeezed from Slack's
    (at once, 1 min, 5 min) into seconds. Records when each event was acknowledged."""

    client: SlackClient
    backoff: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
    acked: dict[str, float] = field(default_factory=dict)  # event id -> when the 200 came
    refused: dict[str, int] = field(default_factory=dict)  # event id -> last status
    deliveries: int = 0

    async def send(self, envelope: dict[str, Any], timeout: float = 3.0) -> bool:
        """Until a 200 or Slack gives up; True when acknowledged."""
        event_id = str(envelope["event_id"])
        body = json.dumps(envelope).encode()
        for attempt, pause in enumerate((0.0, *self.backoff)):
            await asyncio.sleep(pause)
            headers = {"Content-Type": "application/json", **sign(body)}
            if attempt:
                headers |= {"X-Slack-Retry-Num": str(attempt),
                            "X-Slack-Retry-Reason": "http_error"}  # fmt: skip
            self.deliveries += 1
            try:
                async with self.client.session.post(
                    self.client.url, data=body, headers=headers,
                    timeout=aiohttp.ClientTimeout(total=timeout),
                ) as resp:  # fmt: skip
                    await resp.read()
                    if resp.status == 200:
                        self.acked[event_id] = time.time()
                        return True
                    self.refused[event_id] = resp.status
            except (aiohttp.ClientError, TimeoutError):
                self.refused[event_id] = 0
        return False


def dm_envelope(user: str, text: str, event_id: str, team: str = "T1") -> dict[str, Any]:
    return {
        "token": "", "team_id": team, "api_app_id": "A1", "type": "event_callback",
        "event_id": event_id, "event_time": int(time.time()),
        "event": {"type": "message", "channel": f"D{user}", "channel_type": "im", "user": user,
                  "text": text, "ts": f"{time.time():.6f}"},
    }  # fmt: skip


# --- figures ------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


def report(scenario: str, **figures: Any) -> dict[str, Any]:
    """One line a scenario, printed (pytest -s, bench/faults.py) and appended to the file
    COULISSE_FAULTS_REPORT names, for bench/faults.py's table."""
    line = {"scenario": scenario, **figures}
    late = line.pop("lateness", None)
    if late is not None:
        line["lateness_p50_s"] = round(percentile(late, 0.5), 3)
        line["lateness_p99_s"] = round(percentile(late, 0.99), 3)
    print("\nFAULTS " + json.dumps(line, ensure_ascii=False), flush=True)
    target = os.environ.get("COULISSE_FAULTS_REPORT")
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
    return line


@contextlib.asynccontextmanager
async def slack_api(delay: float = 0.0) -> AsyncIterator[FakeSlackApi]:
    """The recording fake Slack Web API (tests/fake_slack.py) on loopback; `delay` seconds a
    call, so a worker is caught in the middle of its batch."""
    api = FakeSlackApi()
    app = api.app()

    @web.middleware
    async def slow(request: web.Request, handler: Any) -> web.StreamResponse:
        if delay:
            await asyncio.sleep(delay)
        response: web.StreamResponse = await handler(request)
        return response

    app.middlewares.append(slow)
    async with on_loopback(app, quiet=True) as api.url:
        yield api
