"""LLM calls and tokens for one `regie` session of 20 participants: Coulisse's one call per round
against a naive assistant that calls once per contribution, in the same run.

Both drive the same scripted session through the handlers (`tests/driver.py`, SQLite in a
temporary folder) with the real openai client against the fake OpenAI server on loopback
(`tests/fake_openai.py`, which counts tokens as words and punctuation marks, a stable stand-in
for a tokenizer). The naive assistant is the same client and prompts, given one contribution
per call (and the narrative once), as an assistant would that drafts while answers come in.
Run: `.venv/bin/python bench/llm.py [--people 20]`.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.clock import ManualClock  # noqa: E402
from bot.llm import OpenAISynthesizer  # noqa: E402
from bot.wiring import build  # noqa: E402
from handlers.drafts import Completion, Task  # noqa: E402
from storage.migrate import upgrade_async  # noqa: E402
from tests.conftest import START  # noqa: E402
from tests.driver import Driver  # noqa: E402
from tests.fake_openai import FakeOpenAI  # noqa: E402

ICEBERG = [
    "events: a family waited {n} weeks for the first talk",
    "patterns: families are referred back and forth between partners",
    "structures: every partner keeps its own waiting list and intake",
    "mental models: everyone thinks someone else will pick it up",
]
SYSTEMIC = [
    "who stands where: the district team stands between partners without a mandate",
    "unspoken: we don't trust each other's judgement yet",
    "the right place: the GP is the first door but cannot open the others",
    "behaviour and place: the school sees problems early but waits for others",
]


class PerContribution:
    """A naive assistant: one call per contribution, so every call repeats the instructions."""

    def __init__(self, inner: OpenAISynthesizer) -> None:
        self.inner = inner

    async def complete(self, task: Task) -> Completion:
        if not task.items:
            return await self.inner.complete(task)
        spent = [0, 0]
        for item in task.items:
            done = await self.inner.complete(dataclasses.replace(task, items=(item,)))
            spent[0] += done.prompt_tokens
            spent[1] += done.completion_tokens
        return Completion(None, spent[0], spent[1], failure="per_contribution")

    async def close(self) -> None:
        await self.inner.close()


async def next_round(d: Driver, coordinator: str) -> None:
    """Close the round and open the next; the outbox (and the assistant's jobs) runs then."""
    await d.cmd(coordinator, "next")
    await d.deliver()


async def session(url: str, fake: FakeOpenAI, people: int, naive: bool) -> dict[str, float]:
    inner = OpenAISynthesizer(model="bench", api_key="sk-bench", base_url=fake.url)
    synthesizer = PerContribution(inner) if naive else inner
    app = await build(url, ManualClock(START), migrate=False, synthesizer=synthesizer)
    names = [f"P{i:02d}" for i in range(people)]
    d = Driver(app, organisations={n: f"org{i % 5}" for i, n in enumerate(names)})
    before = (len(fake.requests), fake.prompt_tokens, fake.completion_tokens)
    started = time.perf_counter()
    try:
        for name in names:
            await d.cmd(name, "join")
        await d.form(names[0], "new_session", format="regie", title="N", question="Wachttijden?")
        await d.cmd(names[0], "start")
        for name in names:  # check-in
            await d.cmd(name, "add", "moe maar benieuwd")
        await next_round(d, names[0])
        for i, name in enumerate(names[:6]):  # overview: a few forces
            await d.cmd(name, "add", f"driving force: partners willen sneller helpen {i} (3)")
        await next_round(d, names[0])
        for i, name in enumerate(names):  # iceberg: two answers each
            for answer in (ICEBERG[i % 4], ICEBERG[(i + 1) % 4]):
                await d.cmd(name, "add", answer.format(n=i + 3))
        await next_round(d, names[0])
        for i, name in enumerate(names):  # systemic: one answer each
            await d.cmd(name, "add", SYSTEMIC[i % 4])
        await next_round(d, names[0])
        await d.cmd(names[1], "add", "waiting list -> +pressure on GPs\nreferrals -> +waiting list")
        await next_round(d, names[0])  # the group round opens (its job runs while it is open)
        await next_round(d, names[0])  # vote
        for name in names:
            await d.cmd(name, "vote", "1 2")
        await d.cmd(names[0], "end")
        await d.deliver()
    finally:
        await app.close()
    calls = len(fake.requests) - before[0]
    return {
        "calls": calls,
        "prompt": fake.prompt_tokens - before[1],
        "completion": fake.completion_tokens - before[2],
        "seconds": time.perf_counter() - started,
    }


async def main(people: int) -> None:
    fake = FakeOpenAI()
    runner = await fake.start()
    results: dict[str, dict[str, float]] = {}
    try:
        with tempfile.TemporaryDirectory() as folder:
            for design in ("coulisse", "naive"):
                url = f"sqlite+aiosqlite:///{folder}/{design}.db"
                await upgrade_async(url)
                results[design] = await session(url, fake, people, design == "naive")
    finally:
        await fake.stop(runner)
    ours, naive = results["coulisse"], results["naive"]
    print(f"regie session, {people} participants, fake OpenAI server (tokens: words and marks)")
    print(f"{'':24}{'calls':>7}{'prompt':>10}{'completion':>12}{'total':>9}{'seconds':>9}")
    for label, r in (("coulisse (per round)", ours), ("naive (per contribution)", naive)):
        total = r["prompt"] + r["completion"]
        print(
            f"{label:<24}{r['calls']:>7.0f}{r['prompt']:>10.0f}{r['completion']:>12.0f}"
            f"{total:>9.0f}{r['seconds']:>9.2f}"
        )
    total_ours = ours["prompt"] + ours["completion"]
    total_naive = naive["prompt"] + naive["completion"]
    print(
        f"ratio coulisse/naive: calls {ours['calls'] / naive['calls']:.3f}, "
        f"tokens {total_ours / total_naive:.3f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20)
    asyncio.run(main(parser.parse_args().people))
