"""Answers arriving while things break: a team in its check-in round, people answering by DM
through a Slack that retries what it got no 200 for; afterwards every answer acknowledged is
counted in the database (lost, stored twice) and in what the fake Slack received (the
confirmation sent twice)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC

import sqlalchemy as sa

from bot.clock import SystemClock
from bot.wiring import build
from handlers.messages import Actor, Command, FormSubmitted, Place
from prompts.catalog import t
from storage import tables
from tests.fake_slack import FakeSlackApi
from tests.faults.harness import RetryingSlack, dm_envelope

PLACE = Place("channel", "C1", "wijkteam-noord")
MARK = "antwoord-"


def actor(user: str) -> Actor:
    return Actor("slack", "T1", user, f"Deelnemer {user}")


async def team_in_checkin(url: str, people: list[str]) -> None:
    """Through the core, as the Slack adapter would hand it over: everyone joins the channel,
    the first starts a session for them all; its check-in round is open for answers."""
    app = await build(url, SystemClock(), migrate=False)
    try:
        for user in people:
            done = await app.coulisse.handle(Command("join", actor(user), PLACE))
            assert not done.refused, done.messages
        values = {"title": "Noord", "question": "Hoe voorkomen we lange wachttijden?",
                  "format": "regie", "members": ",".join(people[1:])}  # fmt: skip
        done = await app.coulisse.handle(FormSubmitted("new_session", values, actor(people[0]),
                                                       PLACE))  # fmt: skip
        assert not done.refused, done.messages
        done = await app.coulisse.handle(Command("start", actor(people[0]), PLACE))
        assert not done.refused, done.messages
    finally:
        await app.close()


async def stored(url: str) -> dict[str, list[float]]:
    """Each answer's text -> when it was stored (epoch seconds), from a fresh connection (the
    database may have restarted under the scenario's own)."""
    app = await build(url, SystemClock(), migrate=False)
    try:
        c = tables.contributions.c
        async with app.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(c.text, c.created_at).where(c.text.like(f"{MARK}%"))
            )
            found: dict[str, list[float]] = {}
            for text, at in rows.all():
                found.setdefault(text, []).append(at.replace(tzinfo=UTC).timestamp())
            return found
    finally:
        await app.close()


def confirmations(api: FakeSlackApi) -> Counter[str]:
    """Confirmations of a stored answer, per person (in their DM or ephemeral)."""
    words = t("nl", "contributions.stored", category="").split(",")[0]
    found: Counter[str] = Counter()
    for call in api.calls:
        if call.method not in ("chat.postMessage", "chat.postEphemeral"):
            continue
        channel = str(call.params.get("channel", ""))
        who = str(call.params.get("user", "")) or channel.removeprefix("D")
        if words in str(call.params.get("text", "")) + str(call.params.get("blocks", "")):
            found[who] += 1
    return found


@dataclass
class Answers:
    """`count` answers from `people`, `rate` a second, each its own event (retried by Slack)."""

    slack: RetryingSlack
    people: list[str]
    count: int
    rate: float
    sent_at: dict[str, float] = field(default_factory=dict)
    on_ack: Callable[[int], Awaitable[None]] | None = None

    def text(self, n: int) -> str:
        return f"{MARK}{n:05d}"

    async def run(self) -> None:
        tasks = []
        for n in range(self.count):
            tasks.append(asyncio.create_task(self._one(n)))
            await asyncio.sleep(1 / self.rate)
        await asyncio.gather(*tasks)

    async def _one(self, n: int) -> None:
        user = self.people[n % len(self.people)]
        self.sent_at[self.text(n)] = time.time()
        acked = await self.slack.send(dm_envelope(user, self.text(n), f"EvA{n:05d}"))
        if acked and self.on_ack is not None:
            await self.on_ack(n)

    def acked_texts(self) -> set[str]:
        return {self.text(int(e.removeprefix("EvA"))) for e in self.slack.acked}


async def settled(url: str, timeout: float = 60) -> int:
    """Wait until the intake holds nothing more to handle (a delivery whose handling failed in
    a blip is handled again after its lease); how many are left. Before durable intake there
    was no such table: nothing to wait for."""
    app = await build(url, SystemClock(), migrate=False)
    try:
        deadline = time.monotonic() + timeout
        while True:
            async with app.engine.connect() as conn:
                if not await conn.run_sync(lambda c: sa.inspect(c).has_table("intake")):
                    return 0
                left = int(
                    (await conn.execute(sa.text("SELECT count(*) FROM intake"))).scalar_one()
                )
            if not left or time.monotonic() > deadline:
                return left
            await asyncio.sleep(0.5)
    finally:
        await app.close()


async def figures(url: str, api: FakeSlackApi, answers: Answers, left: int) -> dict[str, object]:
    """Lost (acknowledged, never stored), stored twice, confirmations beyond one an answer,
    and lateness: from the first try of an answer to its storing. `left`: deliveries still
    in the intake when the server stopped (see `settled`)."""
    found = await stored(url)
    acked = answers.acked_texts()
    per_person = Counter(answers.people[int(text.removeprefix(MARK)) % len(answers.people)]
                         for text in found)  # fmt: skip
    sent_twice = sum(max(0, n - per_person[who]) for who, n in confirmations(api).items())
    return {
        "answers": answers.count,
        "acknowledged": len(acked),
        "not_acknowledged": answers.count - len(acked),
        "lost": len(acked - set(found)),
        "duplicate_effects": sum(len(times) - 1 for times in found.values()),
        "duplicate_messages": sent_twice,
        "deliveries": answers.slack.deliveries,
        "intake_left": left,
        "lateness": [min(times) - answers.sent_at[text] for text, times in found.items()],
    }
