"""Double clicks across second boundaries, through `coulisse serve` over HTTP: thirty people
each click a ballot's button twice, 0.4 s apart by Slack's action_ts, every pair straddling a
second (half of them an even one, where the old 2-second buckets split them): one dot each,
one confirmation each. Two people click again 2.5 s later: a second click, counted."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from bot.clock import SystemClock
from bot.wiring import build
from handlers.messages import Command, FormSubmitted
from handlers.model import RoundKind
from prompts.catalog import t
from storage.migrate import upgrade_async
from tests.conftest import eventually
from tests.fake_slack import SlackClient, free_port
from tests.faults.answers import PLACE, actor
from tests.faults.harness import Serve, report, serve_env, slack_api

pytestmark = pytest.mark.postgres

VOTERS = [f"U{n:02d}" for n in range(30)]
AGAIN = VOTERS[:2]  # these click a second time, 2.5 s after their first


async def at_the_vote(url: str) -> int:
    """A live retro of the thirty, moved on to its vote with two themes; the vote round's id."""
    app = await build(url, SystemClock(), migrate=False)
    try:

        async def core(user: str, name: str, args: str = "") -> None:
            done = await app.coulisse.handle(Command(name, actor(user), PLACE, args=args))
            assert not done.refused, (name, done.messages)

        for user in VOTERS:
            await core(user, "join")

        values = {"title": "Noord", "question": "Wat nu?", "format": "retro"}
        done = await app.coulisse.handle(FormSubmitted("new_session", values, actor(VOTERS[0]),
                                                       PLACE))  # fmt: skip
        assert not done.refused, done.messages
        await core(VOTERS[0], "start")
        await core(VOTERS[0], "next")
        await core(VOTERS[1], "add", "stop: lange overleggen")
        await core(VOTERS[2], "add", "start: één intake")
        await core(VOTERS[0], "next")
        await core(VOTERS[0], "next")
        async with app.uow() as uow:
            session = await uow.sessions.current_for_team(1)
            assert session is not None
            rounds = await uow.sessions.rounds(session.id or 0)
            vote = next(r for r in rounds if r.kind == RoundKind.VOTE)
            assert vote.status.value == "open", [(r.kind, r.status) for r in rounds]
            return vote.id or 0
    finally:
        await app.close()


async def dots_by_person(url: str, vote_round: int) -> Counter[int]:
    app = await build(url, SystemClock(), migrate=False)
    try:
        async with app.uow() as uow:
            found: Counter[int] = Counter()
            for v in await uow.sessions.votes(vote_round):
                found[v.person_id or 0] += v.dots
            return found
    finally:
        await app.close()


async def test_double_clicks_across_second_boundaries(empty_postgres: str, tmp_path: Path) -> None:
    await upgrade_async(empty_postgres)
    vote_round = await at_the_vote(empty_postgres)
    async with slack_api() as api, aiohttp.ClientSession() as session:
        worker = Serve("w1", free_port(), serve_env(empty_postgres, tmp_path, slack_api=api.url),
                       tmp_path)  # fmt: skip
        await worker.start()
        try:

            def ballot() -> dict | None:
                posts = [p for p in api.of("chat.postMessage") if p.get("channel") == "C1"]
                return next((p for p in posts if "Stem op 1" in json.dumps(p)), None)

            await eventually(lambda: ballot() is not None, timeout=60)
            page = ballot()
            assert page is not None
            button = next(e for b in page["blocks"] if b["type"] == "actions"
                          for e in b["elements"])  # fmt: skip
            ts = next(c.ts for c in api.calls if c.params is page)
            slack = SlackClient(f"{worker.base}/slack/events", session)
            base = int(time.time())

            async def clicks_of(user: str, moments: list[str]) -> list[int]:
                # One person's clicks reach Slack, and Slack us, in the order they were made
                # (a click 2.5 s later does not overtake the first); people click at once.
                action, value = button["action_id"], button["value"]
                return [
                    await slack.click(user, action, value, message_ts=ts, action_ts=at)
                    for at in moments
                ]

            people = []
            for n, user in enumerate(VOTERS):
                second = base + 2 * n + (1 if n % 2 else 0)  # odd: an even second in between
                pair = [f"{second}.900000", f"{second + 1}.300000"]
                if user in AGAIN:
                    pair.append(f"{second + 3}.400000")  # 2.5 s after the first: counted
                people.append(clicks_of(user, pair))
            statuses = [status for each in await asyncio.gather(*people) for status in each]
            wanted = len(VOTERS) + len(AGAIN)

            async def counted() -> bool:
                return sum((await dots_by_person(empty_postgres, vote_round)).values()) >= wanted

            try:
                await eventually(counted, timeout=60)
            except AssertionError:
                dots = await dots_by_person(empty_postgres, vote_round)
                raise AssertionError(f"{statuses} {dots} {worker.output()[-3000:]}") from None
            await asyncio.sleep(2)  # a late second count of a double click would show now
        finally:
            await worker.stop()
    dots = await dots_by_person(empty_postgres, vote_round)
    cast = t("nl", "votes.cast", dots=1, title="TITLE", left=0).split("TITLE")[-1][:3]
    opening = t("nl", "votes.cast", dots=1, title="", left=0)[:6]  # "Je zet"
    confirmations = Counter(str(p.get("user")) for p in api.of("chat.postEphemeral")
                            if str(p.get("text", "")).startswith(opening) and cast in
                            str(p.get("text", "")))  # fmt: skip
    line = report(
        "double clicks 0.4 s apart across second boundaries (30 people, Slack, over HTTP)",
        clicks=len(statuses), acknowledged=statuses.count(200),
        counted=sum(dots.values()), wanted=wanted,
        lost=max(0, wanted - sum(dots.values())),
        duplicate_effects=max(0, sum(dots.values()) - wanted),
        duplicate_messages=sum(max(0, n - (2 if u in AGAIN else 1))
                               for u, n in confirmations.items()),
    )  # fmt: skip
    assert statuses.count(200) == len(statuses)
    assert line["lost"] == 0 and line["duplicate_effects"] == 0, line
    assert sorted(dots.values()) == [1] * (len(VOTERS) - len(AGAIN)) + [2] * len(AGAIN)
