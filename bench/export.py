"""Export time and peak memory per format, against plain Markdown of the same content.

A series of 10 sessions with 2,000 contributions, 200 commitments (with check-ins), themes,
votes and a causal map of 30 factors, stored in SQLite. The series summary is gathered once
(timed apart), then each format is rendered from it in this same run, several times, each run
followed by one of the baseline, the plain Markdown export of the same content: a ratio
compares a format with Markdown timed beside it.
Run: `.venv/bin/python bench/export.py [--repeat N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.clock import ManualClock
from bot.export.files import FORMATS, render
from bot.wiring import App, build
from handlers.model import (
    CheckIn,
    Commitment,
    CommitmentMode,
    CommitmentStatus,
    Contribution,
    Factor,
    Link,
    Membership,
    Person,
    Platform,
    Polarity,
    Role,
    Round,
    RoundKind,
    RoundStatus,
    Series,
    Session,
    SessionStatus,
    Team,
    Theme,
    Vote,
    Workspace,
)
from handlers.series_report import build_series_summary
from handlers.summary import SeriesSummary

SESSIONS, CONTRIBUTIONS, COMMITMENTS, PEOPLE, FACTORS = 10, 2000, 200, 40, 30
ORGANISATIONS = ["wijkteam", "GGD", "jeugdzorg", "corporatie", "school", "gemeente", "huisarts"]
WORDS = [
    *("wachtlijst", "intake", "gezin", "school", "wijkteam", "overleg", "privacy", "dossier"),
    *("huisarts", "vertrouwen", "doorverwijzen", "mandaat", "budget", "tijd", "samen"),
    *("bellen", "delen", "gesprek", "zorg", "wonen", "schuld"),
]
START = datetime(2027, 1, 11, 9, 0, tzinfo=UTC)
TODAY = date(2027, 6, 1)


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 18))).capitalize()


async def seed(app: App) -> int:
    """The series, stored the way the handlers store it; returns the series id."""
    rng = random.Random(7)
    async with app.uow() as uow:
        workspace = Workspace(Platform.CONSOLE, "bench")
        uow.add(workspace)
        await uow.flush()
        assert workspace.id is not None
        team = Team(workspace.id, "bench", "Noord")
        uow.add(team)
        await uow.flush()
        assert team.id is not None
        people = [
            Person(workspace.id, f"u{i}", f"Person {i}", ORGANISATIONS[i % len(ORGANISATIONS)])
            for i in range(PEOPLE)
        ]
        for person in people:
            uow.add(person)
        await uow.flush()
        for i, person in enumerate(people):
            role = Role.COORDINATOR if i == 0 else Role.PARTICIPANT
            uow.add(Membership(team.id, person.id or 0, role))
        series = Series(team.id, "Regie Noord", "retro")
        uow.add(series)
        factors = [Factor(team.id, f"factor {i}", f"factor {i}") for i in range(FACTORS)]
        for factor in factors:
            uow.add(factor)
        await uow.flush()
        for i, factor in enumerate(factors):  # a ring plus chords: loops of several lengths
            for j in (i + 1, i + 7):
                polarity = Polarity.SAME if (i + j) % 3 else Polarity.OPPOSITE
                target = factors[j % FACTORS].id or 0
                uow.add(Link(team.id, factor.id or 0, target, polarity, delay=j % 5 == 0))
        for s in range(SESSIONS):
            when = START + timedelta(weeks=2 * s)
            session = Session(
                team.id, f"Sessie {s + 1}", "Hoe krijgen gezinnen sneller hulp?", "retro",
                people[0].id or 0, status=SessionStatus.CLOSED, starts_at=when,
                series_id=series.id, created_at=when, closed_at=when + timedelta(hours=2),
            )  # fmt: skip
            uow.add(session)
            await uow.flush()
            sid = session.id or 0
            reflect = Round(sid, 1, RoundKind.REFLECT, "start-stop-continue",
                            ["start", "stop", "continue"], status=RoundStatus.CLOSED)  # fmt: skip
            group = Round(sid, 2, RoundKind.GROUP, "group", status=RoundStatus.CLOSED)
            vote = Round(sid, 3, RoundKind.VOTE, "vote", status=RoundStatus.CLOSED)
            for rnd in (reflect, group, vote):
                uow.add(rnd)
            await uow.flush()
            themes = [Theme(group.id or 0, sentence(rng)[:60], position=k) for k in range(8)]
            for theme in themes:
                uow.add(theme)
            await uow.flush()
            for c in range(CONTRIBUTIONS // SESSIONS):
                uow.add(
                    Contribution(
                        reflect.id or 0, people[c % PEOPLE].id, sentence(rng),
                        ["start", "stop", "continue"][c % 3], themes[c % 8].id, when,
                    )
                )  # fmt: skip
            for p in people:
                uow.add(Vote(vote.id or 0, p.id or 0, rng.choice(themes).id or 0, 1))
            for c in range(COMMITMENTS // SESSIONS):
                status = list(CommitmentStatus)[c % len(CommitmentStatus)]
                commitment = Commitment(
                    sid, team.id, people[(c * 3) % PEOPLE].id, sentence(rng),
                    (when + timedelta(days=14 + c)).date(), CommitmentMode.CO_PRODUCE, status,
                    factor_id=factors[c % FACTORS].id, created_at=when,
                )  # fmt: skip
                uow.add(commitment)
                await uow.flush()
                for k in range(c % 3):
                    uow.add(
                        CheckIn(commitment.id or 0, commitment.owner_id, status,
                                at=when + timedelta(days=7 * (k + 1)))
                    )  # fmt: skip
        await uow.commit()
        return series.id or 0


def seconds(work: Callable[[], bytes]) -> tuple[float, float]:
    """Wall seconds, and processor seconds of this process and of the children it waited for
    (Graphviz): on a busy machine the second is what the work itself costs."""
    started, cpu = time.perf_counter(), _cpu()
    work()
    return time.perf_counter() - started, _cpu() - cpu


def _cpu() -> float:
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@dataclass
class Measured:
    wall: float  # median seconds
    cpu: float
    base_wall: float  # the baseline's, run alternately beside it
    base_cpu: float
    peak_mib: float
    size: int


def measure(work: Callable[[], bytes], baseline: Callable[[], bytes], repeat: int) -> Measured:
    """`work` and the baseline run alternately, `repeat` times each, so a busy machine slows
    both alike; medians, the peak traced MiB of one more run, the output's size."""
    runs, base = [], []
    for _ in range(repeat):
        runs.append(seconds(work))
        base.append(seconds(baseline))
    tracemalloc.start()
    out = work()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    def median(values: list[tuple[float, float]], i: int) -> float:
        return statistics.median(v[i] for v in values)

    return Measured(median(runs, 0), median(runs, 1), median(base, 0), median(base, 1),
                    peak / 2**20, len(out))  # fmt: skip


async def gather(app: App, series_id: int) -> SeriesSummary:
    async with app.uow() as uow:
        series = await uow.get(Series, series_id)
        assert series is not None
        data = await build_series_summary(uow, series, TODAY, "nl")
        assert data is not None
        return data


async def main(repeat: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        app = await build(f"sqlite:///{folder}/bench.db", ManualClock(START))
        try:
            series_id = await seed(app)
            started = time.perf_counter()
            data = await gather(app, series_id)
            gathered = time.perf_counter() - started
        finally:
            await app.close()
    rounds = [r for s in data.sessions for r in s.rounds]
    contributions = sum(r.contribution_count for r in rounds)
    commitments = sum(len(s.commitments) for s in data.sessions)
    assert (contributions, commitments) == (CONTRIBUTIONS, COMMITMENTS)
    print(
        f"Series of {SESSIONS} sessions, {contributions} contributions, {commitments} commitments,"
        f" {len(data.sessions[0].loops)} loops; gathered from SQLite in {gathered:.2f} s"
    )

    def markdown() -> bytes:
        return render(data, "md", "nl")

    for fmt in FORMATS:  # warm up (imports, template caches, fonts) before anything is timed
        render(data, fmt, "nl")
    md = measure(markdown, markdown, 1)
    print(f"{'format':<6} {'wall ms':>9} {'md beside':>10} {'ratio':>7} {'cpu ms':>8}"
          f" {'md beside':>10} {'ratio':>7} {'peak MiB':>9} {'ratio':>7} {'KiB':>7}")  # fmt: skip
    for fmt in FORMATS:
        m = measure(lambda fmt=fmt: render(data, fmt, "nl"), markdown, repeat)  # type: ignore[misc]
        wall_ratio = m.wall / m.base_wall
        print(
            f"{fmt:<6} {m.wall * 1000:>9.1f} {m.base_wall * 1000:>10.1f} {wall_ratio:>7.2f}"
            f" {m.cpu * 1000:>8.1f} {m.base_cpu * 1000:>10.1f} {m.cpu / m.base_cpu:>7.2f}"
            f" {m.peak_mib:>9.1f} {m.peak_mib / md.peak_mib:>7.2f} {m.size / 1024:>7.0f}"
        )
    print(f"(baseline: plain Markdown, timed alternately with each format; {md.peak_mib:.1f} MiB, "
          f"{md.size / 1024:.0f} KiB)")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    asyncio.run(main(parser.parse_args().repeat))
