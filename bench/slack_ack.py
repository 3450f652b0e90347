"""Acknowledging Slack within three seconds: how fast `coulisse serve` answers Slack's HTTP
requests during a burst, against a bare slack-bolt app that only acknowledges.

Slack gives an app three seconds to answer a request before it shows the person an error and
retries. The bot acknowledges first and works after the ack, so the ack should stay fast while
the work piles up behind it. Two bursts of signed requests, each spread evenly over one second:

- **vote clicks**: `block_actions` on the ballot's vote buttons, from 39 people, each person on
  different themes (no double clicks), more clicks than the dots they have;
- **DM answers**: `message.im` events with "stop: …"-style answers to an open reflection round.

Both go to `coulisse serve` (in-process, `bot.serve.running`, SQLite in a temporary folder, a
session driven through slash commands to the right round) and to a bare slack-bolt `AsyncApp`
that only acks, served the same way (aiohttp, `to_bolt_request`/`to_aiohttp_response`). The fake
Slack Web API the bot talks to and the burst client each run in their own process, so neither
eats the event loop being measured. After each burst the effects are counted: rows in the
database against requests acknowledged, and what the bot said back through the fake.
Run: `.venv/bin/python bench/slack_ack.py [--count 200] [--spread 1.0]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import re
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import Settings
from bot.serve import running
from handlers.model import OutboxStatus
from storage import tables
from storage.migrate import upgrade
from tests.fake_slack import BOT_TOKEN, SIGNING_SECRET, FakeSlackApi, SlackClient, free_port, sign

HOST = "127.0.0.1"
CHANNEL = "C1"
COORDINATOR = "U1"
PEOPLE = [f"U{n}" for n in range(2, 41)]  # U2..U40, the team besides the coordinator
# Three words per category: the grouping round makes one theme of each (9 themes), so every
# person can click different themes and no click is a double click of an earlier one.
TOPICS = {
    "start": ("intakes", "huisbezoeken", "teamlunch"),
    "stop": ("vergaderingen", "doorverwijzingen", "formulieren"),
    "continue": ("casuïstiek", "wijkrondes", "intervisie"),
}
TARGET_P99_MS = 300.0
TARGET_RATIO = 2.0
OVERALL_TIMEOUT = 300.0
SCRIPT = str(Path(__file__).resolve())  # started again as the fake Slack and the client
SETTLE_TIMEOUT = 30.0


# --- the fake Slack Web API, in its own process ---------------------------------------------


class _RecordingApi(FakeSlackApi):
    """The test fake, also noting the ts it gave each posted message (a click names it)."""

    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        result = super().answer(method, params)
        if method == "chat.postMessage":
            params["_ts"] = result["ts"]
        return result


async def fake_slack_main(port: int) -> None:
    """Serve the fake on loopback until the parent closes our stdin (or goes away)."""
    api = _RecordingApi()
    app = api.app()

    async def calls(request: web.Request) -> web.Response:
        method = request.query.get("method", "")
        since = int(request.query.get("since", "0"))
        chosen = [
            {"method": c.method, "params": c.params}
            for c in api.calls[since:]
            if not method or c.method == method
        ]
        return web.json_response({"total": len(api.calls), "calls": chosen})

    app.router.add_get("/_calls", calls)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, HOST, port).start()
    api.url = f"http://{HOST}:{port}"
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.buffer.read)
    await runner.cleanup()


@dataclass
class FakeSlack:
    """The parent's view of the fake: what the bot called, read over loopback."""

    url: str
    session: aiohttp.ClientSession

    async def calls(self, method: str = "", since: int = 0) -> tuple[int, list[dict[str, Any]]]:
        query = {"method": method, "since": str(since)}
        async with self.session.get(f"{self.url}/_calls", params=query) as resp:
            answer = await resp.json()
        return int(answer["total"]), [c["params"] for c in answer["calls"]]

    async def of(self, method: str, since: int = 0) -> list[dict[str, Any]]:
        return (await self.calls(method, since))[1]

    async def total(self) -> int:
        return (await self.calls("-"))[0]

    async def texts(self, method: str = "chat.postMessage", since: int = 0) -> list[str]:
        return [json.dumps(p, ensure_ascii=False) for p in await self.of(method, since)]


@contextlib.asynccontextmanager
async def fake_slack(session: aiohttp.ClientSession) -> AsyncIterator[FakeSlack]:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        SCRIPT,
        "--fake-slack",
        str(port),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 20)
        if line.strip() != b"ready":
            raise RuntimeError(f"the fake Slack API did not start: {line!r}")
        yield FakeSlack(f"http://{HOST}:{port}", session)
    finally:
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except TimeoutError:
            proc.kill()
            await proc.wait()


# --- the burst client, in its own process ----------------------------------------------------


async def burst_main() -> None:
    """Send the bodies given on stdin, evenly spread, signed at sending; print the timings."""
    spec = json.loads(sys.stdin.read())
    url, bodies, spread = spec["url"], spec["bodies"], float(spec["spread"])
    connector = aiohttp.TCPConnector(limit=int(spec["limit"]))
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.1

        async def one(i: int, content_type: str, text: str) -> dict[str, float]:
            await asyncio.sleep(max(0.0, start + i * spread / len(bodies) - loop.time()))
            data = text.encode()
            headers = {"Content-Type": content_type, **sign(data)}
            offset = loop.time() - start
            sent = time.perf_counter()
            try:
                async with session.post(url, data=data, headers=headers) as resp:
                    latency, status = time.perf_counter() - sent, resp.status
                    await resp.read()
            except (aiohttp.ClientError, TimeoutError):
                latency, status = time.perf_counter() - sent, 0
            return {"offset": offset, "ms": latency * 1000, "status": status}

        shots = await asyncio.gather(*(one(i, ct, b) for i, (ct, b) in enumerate(bodies)))
    print(json.dumps(shots))


@dataclass
class Burst:
    latencies_ms: list[float]
    statuses: list[int]
    span_s: float  # from the first request sent to the last

    @property
    def non_200(self) -> int:
        return sum(s != 200 for s in self.statuses)

    def percentile(self, p: float) -> float:
        """Nearest rank: the value at or below which p % of the latencies fall."""
        ordered = sorted(self.latencies_ms)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


async def burst(url: str, bodies: list[tuple[str, str]], spread: float, limit: int) -> Burst:
    spec = {"url": url, "bodies": bodies, "spread": spread, "limit": limit}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        SCRIPT,
        "--burst",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(json.dumps(spec).encode()), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    shots = json.loads(out)
    offsets = [s["offset"] for s in shots]
    return Burst(
        [s["ms"] for s in shots], [int(s["status"]) for s in shots], max(offsets) - min(offsets)
    )


# --- what Slack sends -------------------------------------------------------------------------


def click_body(user: str, action_id: str, value: str, message_ts: str, n: int) -> tuple[str, str]:
    payload = {
        "type": "block_actions",
        "team": {"id": "T1"},
        "user": {"id": user, "team_id": "T1"},
        "api_app_id": "A1",
        "trigger_id": f"bench-trigger-{n}",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": CHANNEL},
        "channel": {"id": CHANNEL},
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "b",
                "value": value,
                "action_ts": f"{time.time() + n * 1e-3:.6f}",
            }
        ],
    }
    body = urllib.parse.urlencode({"payload": json.dumps(payload)})
    return "application/x-www-form-urlencoded", body


def dm_body(user: str, text: str, event_id: str) -> tuple[str, str]:
    envelope = {
        "token": "",
        "team_id": "T1",
        "api_app_id": "A1",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "event": {
            "type": "message",
            "channel": f"D{user}",
            "channel_type": "im",
            "user": user,
            "text": text,
            "ts": f"{time.time():.6f}",
        },
    }
    return "application/json", json.dumps(envelope)


def answer_text(n: int) -> str:
    category = list(TOPICS)[n % len(TOPICS)]
    topic = TOPICS[category][(n // len(TOPICS)) % len(TOPICS[category])]
    return f"{category}: {topic} {n}"


# --- the bare echo app ------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def bare_echo(api_url: str, port: int) -> AsyncIterator[str]:
    """slack-bolt with handlers that do nothing but acknowledge, on its own aiohttp server."""
    bolt = AsyncApp(
        signing_secret=SIGNING_SECRET, client=AsyncWebClient(token=BOT_TOKEN, base_url=api_url)
    )

    async def on_action(ack: AsyncAck) -> None:
        await ack()

    async def on_message() -> None:
        return None

    bolt.action(re.compile(".*"))(on_action)
    bolt.event("message")(on_message)

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    web_app = web.Application(client_max_size=1024**2)
    web_app.router.add_post("/slack/events", events)
    runner = web.AppRunner(web_app)
    await runner.setup()
    await web.TCPSite(runner, HOST, port).start()
    try:
        yield f"http://{HOST}:{port}/slack/events"
    finally:
        await runner.cleanup()


# --- waiting and counting ---------------------------------------------------------------------


async def eventually(check: Callable[[], Awaitable[bool]], what: str, within: float = 20) -> None:
    """Wait until `check` holds: the bot answers Slack first and works after the ack."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {within:.0f} s for {what}")
        await asyncio.sleep(0.05)


async def settle(count: Callable[[], Awaitable[int]], expected: int) -> tuple[int, float]:
    """Poll until `count` reaches `expected` or stops moving for 3 s; (count, seconds)."""
    start = last_change = time.monotonic()
    last = -1
    while True:
        now_count = await count()
        now = time.monotonic()
        if now_count != last:
            last, last_change = now_count, now
        if now_count >= expected or now - last_change > 3 or now - start > SETTLE_TIMEOUT:
            return now_count, (last_change if now_count < expected else now) - start
        await asyncio.sleep(0.05)


class Problems(logging.Handler):
    """Every log record at WARNING or above, from the bot, bolt, aiohttp or SQLAlchemy."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def summary(self) -> list[str]:
        kinds = Counter(
            f"{r.levelname} {r.name}: {r.getMessage()[:100]}"
            + (f" ({r.exc_info[0].__name__})" if r.exc_info and r.exc_info[0] else "")
            for r in self.records
        )
        return [f"{n:4d} × {text}" for text, n in kinds.most_common(8)]


# --- the run ----------------------------------------------------------------------------------


@dataclass
class Figures:
    ours: dict[str, Burst] = field(default_factory=dict)
    bare: dict[str, Burst] = field(default_factory=dict)
    effects: list[str] = field(default_factory=list)


async def scalar(engine: AsyncEngine, stmt: Any) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(stmt)).scalar_one() or 0)


@contextlib.asynccontextmanager
async def database(kind: str) -> AsyncIterator[str]:
    """A fresh migrated database: a SQLite file, or a database of its own on the PostgreSQL
    server at 127.0.0.1:5432 (dropped afterwards)."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="coulisse-bench-") as folder:
            url = f"sqlite+aiosqlite:///{Path(folder) / 'coulisse.db'}"
            await asyncio.to_thread(upgrade, url)
            yield url
        return
    from tests.conftest import database_of_its_own

    own = database_of_its_own("coulisse_bench")  # it runs its own event loop: in a thread
    url = await asyncio.to_thread(own.__enter__)
    try:
        await asyncio.to_thread(upgrade, url)
        yield url
    finally:
        await asyncio.to_thread(own.__exit__, None, None, None)


async def run(count: int, spread: float, limit: int, kind: str = "sqlite") -> Figures:
    figures = Figures()
    async with (
        database(kind) as database_url,
        aiohttp.ClientSession() as session,
        fake_slack(session) as api,
    ):
        settings = Settings(
            database_url=database_url,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=f"{api.url}/api/",
            outbox_interval=0.2,
            slack_channel_interval=0,
        )
        port, bare_port = free_port(), free_port()
        async with (
            running(settings, HOST, port) as (app, _slack, _runner),
            bare_echo(f"{api.url}/api/", bare_port) as bare_url,
        ):
            ours_url = f"http://{HOST}:{port}/slack/events"
            s = SlackClient(ours_url, session)
            engine = app.engine
            o = tables.outbox.c

            async def outbox_drained() -> bool:
                pending = sa.select(sa.func.count()).where(o.status == OutboxStatus.PENDING.value)
                return await scalar(engine, pending) == 0

            async def channel_says(words: str) -> bool:
                return any(words in p for p in await api.texts() if '"channel": "C1"' in p)

            # A retro for the channel, its people U2..U40, started; round 2 (start, stop,
            # continue) takes the answers.
            await s.command(COORDINATOR, "new")
            await eventually(lambda: _has(api.of("views.open")), "the new-session modal")
            view = (await api.of("views.open"))[0]["view"]
            status, _ = await s.submit(
                COORDINATOR,
                view,
                {
                    "title": "Bench",
                    "question": "Hoe houden we het werk behapbaar?",
                    "format": "retro",
                    "language": "nl",
                    "anonymous": "yes",
                    "members": PEOPLE,
                },
            )
            assert status == 200
            await eventually(
                lambda: _contains(api.texts("chat.postEphemeral"), "staat klaar"),
                "the session to be created",
            )
            await s.command(COORDINATOR, "start")
            await eventually(lambda: channel_says("Ronde 1 van "), "round 1")
            await s.command(COORDINATOR, "next")
            await eventually(lambda: channel_says("Ronde 2 van "), "round 2")
            await eventually(outbox_drained, "the round prompts to be sent")

            # Warm both up with one answer each (ours: from the coordinator, counted).
            await s.dm(COORDINATOR, answer_text(0), event_id="EvWarm")
            warm = dm_body(COORDINATOR, answer_text(0), "EvWarmBare")
            await burst(bare_url, [warm, warm], 0.1, limit)
            await eventually(lambda: _contains(api.texts(), "opgeslagen"), "the warm-up answer")

            answers = [
                dm_body(PEOPLE[i % len(PEOPLE)], answer_text(i), f"EvBench{i}")
                for i in range(count)
            ]
            mark = await api.total()
            figures.ours["answers"] = await burst(ours_url, answers, spread, limit)
            c = tables.contributions.c
            r = tables.rounds.c
            stored, took = await settle(
                lambda: scalar(
                    engine,
                    sa.select(sa.func.count())
                    .select_from(tables.contributions.join(tables.rounds))
                    .where(r.position == 2, c.author_id.is_not(None)),
                ),
                count + 1,
            )
            replies = sum("opgeslagen" in p for p in await api.texts("chat.postMessage", mark))
            acked = count - figures.ours["answers"].non_200
            figures.effects.append(
                f"DM answers: {acked} of {count} acknowledged with 200; "
                f"{stored - 1} stored in the database (+1 warm-up), "
                f"all within {took:.1f} s of the burst's end; "
                f"{replies} 'stored' replies sent"
            )
            figures.bare["answers"] = await burst(bare_url, answers, spread, limit)

            # Themes (round 3), then the vote (round 4) with its ballot in the channel.
            await s.command(COORDINATOR, "next")
            await eventually(lambda: channel_says("Ronde 3 van "), "round 3")
            await s.command(COORDINATOR, "next")
            await eventually(lambda: channel_says("Stem op 1"), "the ballot")
            await eventually(outbox_drained, "the vote prompts to be sent")
            ballot = next(
                p
                for p in await api.of("chat.postMessage")
                if p["channel"] == CHANNEL and "Stem op 1" in json.dumps(p, ensure_ascii=False)
            )
            buttons = [
                (e["action_id"], e["value"])
                for b in ballot["blocks"]
                if b["type"] == "actions"
                for e in b["elements"]
            ]
            ballot_ts = ballot["_ts"]
            vote_round = int(buttons[0][1].split(":")[0])
            if len(buttons) < math.ceil(count / len(PEOPLE)):
                raise RuntimeError(f"only {len(buttons)} themes; clicks would repeat")

            updates_before = len(await api.of("chat.update"))
            await s.click(
                COORDINATOR, *buttons[0], message_ts=ballot_ts, action_ts=f"{time.time():.6f}"
            )
            warm_click = click_body(COORDINATOR, *buttons[0], ballot_ts, 10_000)
            await burst(bare_url, [warm_click, warm_click], 0.1, limit)

            async def updates() -> int:
                return len(await api.of("chat.update")) - updates_before

            await eventually(lambda: _positive(updates()), "the warm-up vote")

            # Person k of 39 clicks themes k, k+1, … : never the same theme twice.
            clicks = []
            for i in range(count):
                person, turn = i % len(PEOPLE), i // len(PEOPLE)
                action_id, value = buttons[(person + turn) % len(buttons)]
                clicks.append(click_body(PEOPLE[person], action_id, value, ballot_ts, i))
            per_person = Counter(i % len(PEOPLE) for i in range(count))
            budget = 3  # the session's default vote budget; the form does not set it
            expected_dots = sum(min(n, budget) for n in per_person.values()) + 1
            mark = await api.total()
            figures.ours["votes"] = await burst(ours_url, clicks, spread, limit)
            v = tables.votes.c
            dots, took = await settle(
                lambda: scalar(
                    engine, sa.select(sa.func.sum(v.dots)).where(v.round_id == vote_round)
                ),
                expected_dots,
            )
            await asyncio.sleep(1)  # refusals need no row: give the replies a moment
            async with engine.connect() as conn:
                per_voter = (
                    await conn.execute(
                        sa.select(v.person_id, sa.func.sum(v.dots))
                        .where(v.round_id == vote_round)
                        .group_by(v.person_id)
                    )
                ).all()
            over = sum(int(d) > budget for _, d in per_voter)
            ephemerals = await api.texts("chat.postEphemeral", mark)
            refused = sum("stippen in totaal" in p for p in ephemerals)
            cast = sum("Je zette" in p for p in ephemerals)
            acked = count - figures.ours["votes"].non_200
            figures.effects.append(
                f"vote clicks: {acked} of {count} acknowledged with 200; "
                f"{dots - 1} dots in the database (+1 warm-up; {expected_dots - 1} expected: "
                f"{len(PEOPLE)} people × budget {budget}), "
                f"within {took:.1f} s of the burst's end; "
                f"{len(per_voter)} voters, {over} over budget; "
                f"{len(await api.of('chat.update', mark))} ballot updates, "
                f"{cast} 'you placed' and {refused} 'over budget' ephemerals"
            )
            figures.bare["votes"] = await burst(bare_url, clicks, spread, limit)
    return figures


async def _has(items: Awaitable[list[Any]]) -> bool:
    return bool(await items)


async def _contains(texts: Awaitable[list[str]], words: str) -> bool:
    return any(words in text for text in await texts)


async def _positive(number: Awaitable[int]) -> bool:
    return await number > 0


def report(figures: Figures, count: int, spread: float, limit: int, problems: Problems) -> None:
    print(
        f"Slack ack latency: bursts of {count} signed requests spread over {spread:g} s, "
        f"one aiohttp pool (limit {limit}) in its own process; latency = send to status"
    )
    print(f"{'burst':<12} {'app':<10} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} "
          f"{'non-200':>7} {'sent in':>8}")  # fmt: skip
    verdicts = []
    for kind, label in (("votes", "vote clicks"), ("answers", "DM answers")):
        for who, b in (("coulisse", figures.ours[kind]), ("bare echo", figures.bare[kind])):
            print(f"{label:<12} {who:<10} {b.percentile(50):7.1f} {b.percentile(99):7.1f} "
                  f"{max(b.latencies_ms):7.1f} {b.non_200:7d} {b.span_s:7.2f}s")  # fmt: skip
        ours, bare = figures.ours[kind], figures.bare[kind]
        ratio = ours.percentile(99) / bare.percentile(99)
        print(f"{label:<12} ratio p99 coulisse / bare echo: {ratio:.2f}")
        verdicts += [
            (f"{label}: p99 under {TARGET_P99_MS:.0f} ms", ours.percentile(99) < TARGET_P99_MS),
            (f"{label}: every request answered 200", ours.non_200 == 0),
            (f"{label}: p99 within {TARGET_RATIO:g}× the bare echo", ratio <= TARGET_RATIO),
        ]
    print("targets:")
    for text, held in verdicts:
        print(f"  {'holds ' if held else 'MISSED'} {text}")
    print("effects:")
    for line in figures.effects:
        print(f"  {line}")
    print(f"log records at WARNING or above: {len(problems.records)}")
    for line in problems.summary():
        print(f"  {line}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=200, help="requests per burst")
    parser.add_argument("--spread", type=float, default=1.0, help="seconds a burst is spread over")
    parser.add_argument("--limit", type=int, default=100, help="connections in the client pool")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    problems = Problems()  # collected and summed up at the end, not printed as they come
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger().addHandler(problems)
    figures = await asyncio.wait_for(
        run(args.count, args.spread, args.limit, args.database), OVERALL_TIMEOUT
    )
    report(figures, args.count, args.spread, args.limit, problems)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--fake-slack"]:
        asyncio.run(fake_slack_main(int(sys.argv[2])))
    elif sys.argv[1:2] == ["--burst"]:
        asyncio.run(burst_main())
    else:
        asyncio.run(main())
