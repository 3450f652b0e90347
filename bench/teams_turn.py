"""Card submits in Teams: how fast `coulisse serve` answers a burst of votes on a ballot card,
against a bare botbuilder ActivityHandler that only echoes, in the same run.

A vote is an Adaptive Card `Action.Execute`: Teams posts an `adaptiveCard/action` invoke to
/api/messages and waits for the answer, which it shows to the person who clicked. So unlike
Slack's acks, the whole turn is inside the measured time: reading the activity, the vote's
transaction, the answer text. The ballot's new counts go to the connector afterwards (coalesced
within Teams' limit of 7 per second per conversation), outside the turn.

- **coulisse**: `coulisse serve` in-process (`bot.serve.running`, Teams without authentication,
  SQLite in a temporary folder or a PostgreSQL database of its own), a retro driven through
  Teams activities to its vote round; 100 people each vote twice, on different themes (no double
  clicks, within the budget of 3 dots).
- **bare echo**: a botbuilder `ActivityHandler` whose `on_adaptive_card_invoke` answers with the
  data it got, run by `CloudAdapter.process_activity` behind the same kind of small aiohttp
  handler (not `CloudAdapter.process`, which answers 500 to invokes with a body), in a process
  of its own (so the bot's work after its own burst cannot slow it).
- **echo + insert** (`--insert-baseline`): the bare echo that also inserts one row per invoke
  (SQLAlchemy Core, one transaction each) into the same kind of database: the floor a
  turn that stores something before it answers has.

The fake connector (tests/fake_connector.py) and the burst client each run in their own process.
Run: `.venv/bin/python bench/teams_turn.py [--count 200] [--spread 1.0] [--limit 100]
[--database sqlite|postgresql] [--wait S] [--profile FILE]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import logging
import math
import pstats
import re
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa
from aiohttp import web
from botbuilder.core import ActivityHandler, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity
from botframework.connector.models import AdaptiveCardInvokeResponse, AdaptiveCardInvokeValue

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.slack_ack import database
from bot.config import Settings
from bot.serve import running
from bot.web import TEAMS
from storage import tables
from storage.db import create_engine
from tests.fake_connector import FakeConnector
from tests.fake_slack import free_port
from tests.teams_fixtures import TEAM, TeamsClient

HOST = "127.0.0.1"
COORDINATOR = "29:U0"
VOTERS = [f"29:V{n:03d}" for n in range(100)]
TOPICS = {  # three words per category: the grouping round makes nine themes
    "start": ("intakes", "huisbezoeken", "teamlunch"),
    "stop": ("vergaderingen", "doorverwijzingen", "formulieren"),
    "continue": ("casuïstiek", "wijkrondes", "intervisie"),
}
TARGET_RATIO = 1.5  # issue 19: p99 within 1.5× the bare echo, every answer in the card
OVERALL_TIMEOUT = 900.0
SCRIPT = str(Path(__file__).resolve())


# --- the fake connector, in its own process --------------------------------------------------


async def fake_connector_main(port: int) -> None:
    """Serve the fake on loopback until the parent closes our stdin."""
    fake = FakeConnector(url=f"http://{HOST}:{port}")
    fake.members[TEAM] = [
        {"id": uid, "name": uid.replace("29:", "Persoon ")} for uid in (COORDINATOR, *VOTERS)
    ]
    app = fake.app()

    async def calls(request: web.Request) -> web.Response:
        since = int(request.query.get("since", "0"))
        chosen = [
            {
                "method": c.method,
                "conversation": c.conversation,
                "activity_id": c.activity_id,
                "answered": c.answered,
                "body": c.body,
            }
            for c in fake.calls[since:]
        ]
        return web.json_response({"total": len(fake.calls), "calls": chosen})

    app.router.add_get("/_calls", calls)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, HOST, port).start()
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.buffer.read)
    await runner.cleanup()


@dataclass
class Connector:
    url: str
    session: aiohttp.ClientSession

    async def calls(self, since: int = 0) -> list[dict[str, Any]]:
        async with self.session.get(f"{self.url}/_calls", params={"since": str(since)}) as resp:
            return list((await resp.json())["calls"])

    async def total(self) -> int:
        async with self.session.get(f"{self.url}/_calls", params={"since": "999999999"}) as resp:
            return int((await resp.json())["total"])

    async def sent(self, conversation: str, words: str) -> dict[str, Any] | None:
        found = [
            c
            for c in await self.calls()
            if c["method"] == "send"
            and c["conversation"] == conversation
            and words in json.dumps(c["body"], ensure_ascii=False)
        ]
        return found[-1] if found else None


@contextlib.asynccontextmanager
async def fake_connector(session: aiohttp.ClientSession) -> AsyncIterator[Connector]:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        SCRIPT,
        "--fake-connector",
        str(port),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 120)
        if line.strip() != b"ready":
            raise RuntimeError(f"the fake connector did not start: {line!r}")
        yield Connector(f"http://{HOST}:{port}", session)
    finally:
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except TimeoutError:
            proc.kill()
            await proc.wait()


# --- the burst client, in its own process ----------------------------------------------------


async def burst_main() -> None:
    """Post the activities given on stdin, evenly spread; print the timings."""
    spec = json.loads(sys.stdin.read())
    url, bodies, spread = spec["url"], spec["bodies"], float(spec["spread"])
    connector = aiohttp.TCPConnector(limit=int(spec["limit"]))
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.1

        async def one(i: int, body: dict[str, Any]) -> dict[str, Any]:
            await asyncio.sleep(max(0.0, start + i * spread / len(bodies) - loop.time()))
            offset = loop.time() - start
            sent = time.perf_counter()
            try:
                async with session.post(url, json=body) as resp:
                    answer = await resp.text()
                    latency, status = time.perf_counter() - sent, resp.status
            except (aiohttp.ClientError, TimeoutError):
                latency, status, answer = time.perf_counter() - sent, 0, ""
            return {"offset": offset, "ms": latency * 1000, "status": status, "answer": answer}

        shots = await asyncio.gather(*(one(i, b) for i, b in enumerate(bodies)))
    print(json.dumps(shots))


@dataclass
class Burst:
    latencies_ms: list[float]
    statuses: list[int]
    answers: list[str]
    span_s: float
    cpu_ms: float = 0.0  # the server's CPU time (all its threads) for the burst, per request

    @property
    def non_200(self) -> int:
        return sum(s != 200 for s in self.statuses)

    def percentile(self, p: float) -> float:
        """Nearest rank: the value at or below which p % of the latencies fall."""
        ordered = sorted(self.latencies_ms)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


async def burst(url: str, bodies: list[dict[str, Any]], spread: float, limit: int) -> Burst:
    spec = {"url": url, "bodies": bodies, "spread": spread, "limit": limit}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, SCRIPT, "--burst", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, _ = await asyncio.wait_for(proc.communicate(json.dumps(spec).encode()), 300)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    shots = json.loads(out)
    offsets = [s["offset"] for s in shots]
    return Burst(
        [s["ms"] for s in shots],
        [int(s["status"]) for s in shots],
        [s["answer"] for s in shots],
        max(offsets) - min(offsets),
    )


# --- the bare echo ----------------------------------------------------------------------------


class Echo(ActivityHandler):
    async def on_adaptive_card_invoke(
        self, turn_context: TurnContext, invoke_value: AdaptiveCardInvokeValue
    ) -> AdaptiveCardInvokeResponse:
        return AdaptiveCardInvokeResponse(
            status_code=200,
            type="application/vnd.microsoft.activity.message",
            value={"echo": invoke_value.action.get("data")},
        )


async def bare_echo_main(port: int, database_url: str) -> None:
    """Serve the echo on loopback until the parent closes our stdin. With a database URL, each
    invoke first inserts one row in a transaction of its own, as durable intake does."""
    adapter, bot = CloudAdapter(), Echo()
    engine, table = None, sa.Table(
        "bench_echo", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("body", sa.Text),
    )  # fmt: skip
    if database_url:
        engine = create_engine(database_url)
        async with engine.begin() as conn:
            await conn.run_sync(table.metadata.create_all)

    async def messages(request: web.Request) -> web.Response:
        body = await request.text()
        if engine is not None:
            async with engine.begin() as conn:
                await conn.execute(table.insert().values(body=body))
        activity = Activity().deserialize(json.loads(body))
        invoke = await adapter.process_activity(
            request.headers.get("Authorization", ""), activity, bot.on_turn
        )
        if invoke is None:
            return web.Response(status=200)
        return web.json_response(invoke.body, status=int(invoke.status))

    async def cpu(_request: web.Request) -> web.Response:
        return web.json_response({"cpu": time.process_time()})

    web_app = web.Application(client_max_size=1024**2)
    web_app.router.add_post("/api/messages", messages)
    web_app.router.add_get("/_cpu", cpu)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, HOST, port).start()
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.buffer.read)
    await runner.cleanup()
    if engine is not None:
        await engine.dispose()


@contextlib.asynccontextmanager
async def bare_echo(database_url: str = "") -> AsyncIterator[str]:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, SCRIPT, "--bare-echo", str(port), database_url,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 120)
        if line.strip() != b"ready":
            raise RuntimeError(f"the bare echo did not start: {line!r}")
        yield f"http://{HOST}:{port}/api/messages"
    finally:
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except TimeoutError:
            proc.kill()
            await proc.wait()


# --- driving the session ----------------------------------------------------------------------


async def eventually(check: Callable[[], Awaitable[Any]], what: str, within: float = 120) -> Any:
    deadline = time.monotonic() + within
    while not (found := await check()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {within:.0f} s for {what}")
        await asyncio.sleep(0.05)
    return found


def vote_activity(
    client: TeamsClient, user: str, ballot: str, action: dict[str, Any], n: int
) -> dict[str, Any]:
    moment = datetime.fromtimestamp(time.time() + n * 3, UTC).isoformat().replace("+00:00", "Z")
    activity = client._base(user, client.channel())
    return {
        **activity,
        "id": f"bench:{n}",
        "timestamp": moment,
        "type": "invoke",
        "name": "adaptiveCard/action",
        "replyToId": ballot,
        "value": {"action": {"type": "Action.Execute", "verb": "vote", "data": action["data"]},
                  "trigger": "manual"},
    }  # fmt: skip


def vote_buttons(card: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Action.Execute" and node.get("verb") == "vote":
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    return found


@dataclass
class Figures:
    ours: Burst
    bare: Burst
    inserting: Burst | None
    effects: list[str]
    fallbacks: int


def self_wait(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


@dataclass
class Options:
    count: int = 200
    spread: float = 1.0
    limit: int = 100
    database: str = "sqlite"
    wait: float | None = None
    insert_baseline: bool = False
    profile: str = ""


async def timed_burst(
    session: aiohttp.ClientSession, url: str, bodies: list[dict[str, Any]], o: Options
) -> Burst:
    """A burst at one of the echoes, with the CPU time its process spent on it."""
    cpu_url = url.replace("/api/messages", "/_cpu")

    async def cpu() -> float:
        async with session.get(cpu_url) as resp:
            return float((await resp.json())["cpu"])

    before = await cpu()
    done = await burst(url, bodies, o.spread, o.limit)
    done.cpu_ms = (await cpu() - before) * 1000 / len(bodies)
    return done


async def run(o: Options) -> Figures:
    async with (
        database(o.database) as database_url,
        contextlib.AsyncExitStack() as stack,
        aiohttp.ClientSession() as session,
        fake_connector(session) as fake,
    ):
        settings = Settings(
            database_url=database_url, allow_unauthenticated=True, outbox_interval=0.2
        )
        bare_url = await stack.enter_async_context(bare_echo())
        inserting_url = ""
        if o.insert_baseline:
            echo_db = await stack.enter_async_context(database(o.database))
            inserting_url = await stack.enter_async_context(bare_echo(echo_db))
        port = free_port()
        async with running(settings, HOST, port) as (app, _slack, _runner):
            url = f"http://{HOST}:{port}/api/messages"
            teams = _runner.app[TEAMS]
            if o.wait is not None:
                teams.adapter.invoke_wait = o.wait
            c = TeamsClient(url, fake.url, session)
            await c.install(COORDINATOR)
            await c.mention(COORDINATOR, "nieuw")
            form = await eventually(
                lambda: fake.sent(f"a:{COORDINATOR}", "new_session:title"), "the form"
            )
            submit = {"verb": "form", "data": {"form": "new_session", "context": "",
                                               "channel": TEAM}}  # fmt: skip
            inputs = {"new_session:title": "Bench", "new_session:format": "retro",
                      "new_session:question": "Hoe houden we het werk behapbaar?"}  # fmt: skip
            status, _ = await c.execute(
                COORDINATOR, c.chat(f"a:{COORDINATOR}"), form["answered"], submit, inputs
            )
            assert status == 200
            for step, words in (("start", "Ronde 1 van "), ("next", "Ronde 2 van ")):
                await c.mention(COORDINATOR, step)
                await eventually(partial(fake.sent, TEAM, words), words)
            for n, (category, topics) in enumerate(TOPICS.items()):
                for m, topic in enumerate(topics):
                    voter = VOTERS[n * 3 + m]
                    await c.say(voter, f"a:{voter}", f"{category}: {topic}")
            await eventually(lambda: fake.sent(f"a:{VOTERS[8]}", "opgeslagen"), "the answers")
            await c.mention(COORDINATOR, "next")
            await c.mention(COORDINATOR, "next")
            ballot = await eventually(lambda: fake.sent(TEAM, "Stem op 9"), "the ballot")
            buttons = vote_buttons(ballot["body"]["attachments"][0]["content"])
            # Warm all up with one vote (ours from the coordinator, counted).
            warm = vote_activity(c, COORDINATOR, ballot["answered"], buttons[0], 10_000)
            await burst(url, [warm], 0.1, o.limit)
            for other in (bare_url, inserting_url):
                if other:
                    await burst(other, [warm, warm], 0.1, o.limit)

            # Voter k votes on themes k and k+1: two dots each, never the same theme twice.
            votes = [
                vote_activity(
                    c,
                    VOTERS[i % len(VOTERS)],
                    ballot["answered"],
                    buttons[(i % len(VOTERS) + i // len(VOTERS)) % len(buttons)],
                    i,
                )
                for i in range(o.count)
            ]
            # The echo first, while nothing else runs (it has a process of its own anyway).
            bare = await timed_burst(session, bare_url, votes, o)
            await asyncio.sleep(1.0)
            mark = await fake.total()
            profiler = cProfile.Profile() if o.profile else None
            if profiler is not None:
                profiler.enable()
            statements: Counter[str] = Counter()

            def count(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
                statements[" ".join(sql.split())[:70]] += 1

            sa.event.listen(app.engine.sync_engine, "before_cursor_execute", count)
            cpu = time.process_time()
            ours = await burst(url, votes, o.spread, o.limit)
            ended = time.monotonic()
            v = tables.votes.c

            async def dots_now() -> int:
                async with app.engine.connect() as conn:
                    total = (await conn.execute(sa.select(sa.func.sum(v.dots)))).scalar_one()
                return int(total or 0)

            for _poll in range(600):  # up to 30 s for the work behind the answers
                if await dots_now() >= o.count + 1:
                    break
                await asyncio.sleep(0.05)
            dots, took = await dots_now(), time.monotonic() - ended
            sa.event.remove(app.engine.sync_engine, "before_cursor_execute", count)
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(o.profile)
            await asyncio.sleep(2.0)  # the chat answers go out
            await teams.adapter.updates.settle()  # and the last card update
            ours.cpu_ms = (time.process_time() - cpu) * 1000 / o.count
            calls = await fake.calls(mark)
            updates = [c for c in calls if c["method"] == "update"]
            in_chat = sum(
                c["method"] == "send"
                and c["conversation"].startswith("a:29:V")
                and "Je zette" in json.dumps(c["body"], ensure_ascii=False)
                for c in calls
            )
            in_turn = sum("Je zette" in a for a in ours.answers)
            received = sum("Ontvangen" in a for a in ours.answers)
            last = json.dumps(updates[-1]["body"], ensure_ascii=False) if updates else ""
            shown = sum(int(n) for n in re.findall(r"— (\d+) stip", last))
            effects = [
                f"{dots} dots in the database ({o.count} votes + 1 warm-up; 100 voters × 2, "
                f"on different themes), all stored {took:.2f} s after the burst's last request",
                f"{in_turn} answered in the invoke response; {received} answered "
                f"'received' (the {self_wait(teams.adapter.invoke_wait)} deadline) with "
                f"the answer in their chat: {in_chat} such chat messages",
                f"{len(updates)} ballot card updates for {o.count} votes (coalesced within "
                f"7/s per conversation); the last shows {shown} dots",
                f"{sum(statements.values()) / o.count:.1f} SQL statements per vote while the "
                "burst was handled (the polls for the dots included): "
                + "; ".join(f"{n} × {sql}" for sql, n in statements.most_common(14)),
            ]
            inserting = None
            if inserting_url:
                await asyncio.sleep(1.0)
                inserting = await timed_burst(session, inserting_url, votes, o)
    return Figures(ours, bare, inserting, effects, received)


class Problems(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def report(figures: Figures, o: Options, problems: Problems) -> None:
    print(
        f"Teams card submits on {o.database}: {o.count} Action.Execute invokes (votes) spread "
        f"over {o.spread:g} s, one aiohttp pool (limit {o.limit}) in its own process; "
        "latency = send to response"
    )
    print(f"{'app':<14} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'errors':>7} {'sent in':>8} "
          f"{'CPU ms/req':>10}")  # fmt: skip
    rows = [("coulisse", figures.ours), ("bare echo", figures.bare)]
    if figures.inserting is not None:
        rows.append(("echo + insert", figures.inserting))
    for who, b in rows:
        print(f"{who:<14} {b.percentile(50):7.1f} {b.percentile(99):7.1f} "
              f"{max(b.latencies_ms):7.1f} {b.non_200:7d} {b.span_s:7.2f}s "
              f"{b.cpu_ms:10.1f}")  # fmt: skip
    ratio = figures.ours.percentile(99) / figures.bare.percentile(99)
    print(f"ratio p99 coulisse / bare echo: {ratio:.2f}")
    if figures.inserting is not None:
        floor = figures.inserting.percentile(99) / figures.bare.percentile(99)
        print(f"ratio p99 echo + insert / bare echo: {floor:.2f}")
    print("targets:")
    for text, held in (
        ("no errors (every request answered 200)", figures.ours.non_200 == 0),
        ("every answer in the card (no 'received' fallback)", figures.fallbacks == 0),
        (f"p99 within {TARGET_RATIO:g}× the bare echo", ratio <= TARGET_RATIO),
    ):
        print(f"  {'holds ' if held else 'MISSED'} {text}")
    print("effects:")
    for line in figures.effects:
        print(f"  {line}")
    kinds = Counter(f"{r.levelname} {r.name}: {r.getMessage()[:90]}" for r in problems.records)
    print(f"log records at WARNING or above: {len(problems.records)}")
    for text, n in kinds.most_common(6):
        print(f"  {n:4d} × {text}")
    if o.profile:
        print(f"profile of the burst until every dot was stored ({o.profile}), by own time:")
        pstats.Stats(o.profile).sort_stats("tottime").print_stats(25)
        print("and by cumulative time:")
        pstats.Stats(o.profile).sort_stats("cumulative").print_stats(60)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=200, help="votes in the burst")
    parser.add_argument("--spread", type=float, default=1.0, help="seconds the burst takes")
    parser.add_argument("--limit", type=int, default=100, help="connections in the client pool")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--wait", type=float, default=None, help="seconds a card action waits for its answer "
        "before 'received' (default: the adapter's; 30 measures the whole turn)",
    )  # fmt: skip
    parser.add_argument(
        "--insert-baseline", action="store_true",
        help="also the echo that inserts one row per invoke (a second baseline)",
    )  # fmt: skip
    parser.add_argument("--profile", default="", help="cProfile the bot during its burst")
    o = Options(**vars(parser.parse_args()))
    problems = Problems()
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger().addHandler(problems)
    figures = await asyncio.wait_for(run(o), OVERALL_TIMEOUT)
    report(figures, o, problems)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--fake-connector"]:
        asyncio.run(fake_connector_main(int(sys.argv[2])))
    elif sys.argv[1:2] == ["--bare-echo"]:
        asyncio.run(bare_echo_main(int(sys.argv[2]), sys.argv[3]))
    elif sys.argv[1:2] == ["--burst"]:
        asyncio.run(burst_main())
    else:
        asyncio.run(main())
