"""20 % 429s and 10 % 500s on every Slack and Teams send, long messages that go out in several
parts among them: every part of every message arrives exactly once (a retry sends only the
parts that did not go out), and nothing is lost."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.clock import SystemClock
from bot.wiring import App, build
from handlers.messages import Destination, Text, encode_destination, encode_message, message
from handlers.model import OutboxMessage, OutboxStatus, Person, Platform, Workspace
from storage.migrate import upgrade_async
from tests.conftest import eventually
from tests.fake_connector import FakeConnector
from tests.fake_slack import free_port
from tests.faults.harness import Serve, report, serve_env, slack_api
from tests.teams_fixtures import TEAM, TENANT, TeamsClient, fake_connector
from tests.test_outbox_workers import statuses

pytestmark = pytest.mark.postgres

FLAKY = [(429, 0.2), (500, 0.1)]
BLOCKS = 120  # blocks of a message: several Slack messages, several Teams cards
MARKER = re.compile(r"m(\d{3})b(\d{3})")


def long_message(n: int) -> Any:
    filler = "wachttijd " * 38  # about 400 characters a block
    return message(*(Text(f"m{n:03d}b{k:03d} {filler}") for k in range(BLOCKS)))


async def enqueue(app: App, rows: list[tuple[str, Destination, int | None]]) -> datetime:
    now = datetime.now(UTC)
    async with app.uow() as uow:
        for n, (key, to, person) in enumerate(rows):
            body = encode_message(long_message(n))
            row = OutboxMessage(key, "digest", encode_destination(to), body, now, person)
            await uow.outbox.enqueue(row)
        await uow.commit()
    return now


def parts(bodies: list[str]) -> Counter[tuple[int, int]]:
    """How often each block of each message arrived."""
    return Counter((int(a), int(b)) for body in bodies for a, b in MARKER.findall(body))


def figures(counts: Counter[tuple[int, int]], messages: int, late: list[float]) -> dict[str, Any]:
    wanted = {(n, k) for n in range(messages) for k in range(BLOCKS)}
    return {
        "messages": messages,
        "blocks": len(wanted),
        "lost": len(wanted - set(counts)),
        "duplicate_effects": 0,
        "duplicate_messages": sum(c - 1 for c in counts.values() if c > 1),
        "lateness": late,
    }


async def done(app: App, rows: int, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while (await statuses(app))[OutboxStatus.SENT.value] < rows:
        assert time.monotonic() < deadline, await statuses(app)
        await asyncio.sleep(0.2)


async def test_slack_sends_with_429s_and_500s(empty_postgres: str, tmp_path: Path) -> None:
    messages = 12
    await upgrade_async(empty_postgres)
    app = await build(empty_postgres, SystemClock(), migrate=False)
    try:
        async with app.uow() as uow:
            workspace = Workspace(Platform.SLACK, "T1")
            uow.add(workspace)
            await uow.flush()
            people = [Person(workspace.id or 0, f"U{n:03d}", f"Persoon {n}")
                      for n in range(messages)]  # fmt: skip
            for person in people:
                uow.add(person)
            await uow.commit()
        async with slack_api() as api:
            api.flaky = {"chat.postMessage": FLAKY, "conversations.open": FLAKY}
            worker = Serve("w1", free_port(), serve_env(empty_postgres, tmp_path,
                           slack_api=api.url), tmp_path)  # fmt: skip
            await worker.start()
            try:
                rows = [(f"long:{n}", Destination.dm(p.id or 0), p.id) for n, p in
                        enumerate(people)]  # fmt: skip
                due = await enqueue(app, rows)
                await done(app, messages)
            finally:
                await worker.stop()
        posts = [c for c in api.calls if c.method == "chat.postMessage"]
        counts = parts([json.dumps(c.params.get("blocks")) for c in posts])
        started = time.monotonic() - (time.time() - due.timestamp())
        last: dict[int, float] = {}
        for call in posts:
            for a, _b in MARKER.findall(json.dumps(call.params.get("blocks"))):
                last[int(a)] = max(last.get(int(a), 0.0), call.at - started)
        line = report(
            "Slack: 20 % 429, 10 % 500 on chat.postMessage and conversations.open",
            **figures(counts, messages, list(last.values())),
            posts=len(posts), refused=len(api.refused),
            split=round(len(posts) / messages, 1),
        )  # fmt: skip
        assert api.refused, "the faults happened"
        assert line["lost"] == 0 and line["duplicate_messages"] == 0, line
    finally:
        await app.close()


@dataclass
class Flaky:
    """Sends to a conversation answered 429 (Retry-After: 1) or 500 now and then, once `on`,
    before the fake connector sees them (nothing was posted)."""

    rng: random.Random
    on: bool = False
    refused: list[int] = field(default_factory=list)

    async def __call__(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if self.on and request.method == "POST" and request.match_info.get("conversation"):
            draw = self.rng.random()
            if draw < 0.3:
                status = 429 if draw < 0.2 else 500
                self.refused.append(status)
                headers = {"Retry-After": "1"} if status == 429 else {}
                return web.json_response({"error": {"code": "Throttled"}}, status=status,
                                         headers=headers)  # fmt: skip
        response: web.StreamResponse = await handler(request)
        return response


@contextlib.asynccontextmanager
async def flaky_connector(flaky: Flaky) -> AsyncIterator[FakeConnector]:
    """tests/teams_fixtures.fake_connector, with the faults in front."""

    @web.middleware
    async def faults(request: web.Request, handler: Any) -> web.StreamResponse:
        return await flaky(request, handler)

    async with fake_connector(faults) as fake:
        yield fake


async def test_teams_sends_with_429s_and_500s(empty_postgres: str, tmp_path: Path) -> None:
    messages = 8
    await upgrade_async(empty_postgres)
    app = await build(empty_postgres, SystemClock(), migrate=False)
    try:
        flaky = Flaky(random.Random(15))
        async with flaky_connector(flaky) as fake, aiohttp.ClientSession() as session:
            env = serve_env(empty_postgres, tmp_path, COULISSE_ALLOW_UNAUTHENTICATED="1")
            worker = Serve("w1", free_port(), env, tmp_path)
            await worker.start()
            try:
                client = TeamsClient(f"{worker.base}/api/messages", fake.url, session)
                assert await client.install() == 200
                await eventually(lambda: fake.of("send", TEAM) != [], timeout=30)
                flaky.on = True
                async with app.uow() as uow:
                    ws = await uow.directory.workspace("teams", TENANT)
                    assert ws is not None and ws.id is not None
                    team = await uow.directory.team_by_channel(ws.id, TEAM)
                    assert team is not None and team.id is not None
                before = len(fake.of("send", TEAM))
                rows = [(f"long:{n}", Destination.channel(team.id), None) for n in range(messages)]
                due = await enqueue(app, rows)
                await done(app, messages)
            finally:
                await worker.stop()
        sends = fake.of("send", TEAM)[before:]
        bodies = [
            json.dumps([a["content"]["body"] for a in c.body.get("attachments", [])]) for c in sends
        ]  # the cards' bodies: a summary repeats the first words
        counts = parts(bodies)
        started = time.monotonic() - (time.time() - due.timestamp())
        last: dict[int, float] = {}
        for call, body in zip(sends, bodies, strict=True):
            for a, _b in MARKER.findall(body):
                last[int(a)] = max(last.get(int(a), 0.0), call.at - started)
        line = report(
            "Teams: 20 % 429, 10 % 500 on the connector's sends",
            **figures(counts, messages, list(last.values())),
            posts=len(sends), refused=len(flaky.refused), split=round(len(sends) / messages, 1),
        )  # fmt: skip
        assert flaky.refused, "the faults happened"
        assert line["lost"] == 0 and line["duplicate_messages"] == 0, line
    finally:
        await app.close()
