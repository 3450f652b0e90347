"""kill -9 in the middle of the outbox's batch, three times: nothing is lost, a row is sent
twice only when the kill fell between its send and its mark (at most one per kill), and what
the killed worker held goes out within 10 s of its restart: it takes back its own leases. The
lease here is 60 s, so that a row that waited out its lease would show (on a loaded machine a
restart alone can take 10 s, as long as the default lease)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.clock import SystemClock
from bot.wiring import App, build
from handlers.model import OutboxStatus
from storage import tables
from storage.migrate import upgrade_async
from tests.conftest import eventually
from tests.fake_slack import FakeSlackApi, free_port
from tests.faults.harness import Serve, report, serve_env, serving, slack_api
from tests.test_outbox_workers import MARKER, make_all_due, seed, statuses

pytestmark = pytest.mark.postgres

ROWS = 300
KILLS = (0.2, 0.45, 0.7)  # the share sent when the worker is killed
WITHIN = 10.0  # seconds from a restart to the last of the dead worker's rows sent
LEASE = "60"


def posts(api: FakeSlackApi) -> int:
    return sum(c.method == "chat.postMessage" for c in api.calls)


def arrivals(api: FakeSlackApi) -> dict[int, list[float]]:
    found: dict[int, list[float]] = {}
    for call in api.calls:
        if call.method == "chat.postMessage":
            match = MARKER.search(str(call.params.get("text", "")))
            if match:
                found.setdefault(int(match.group(1)), []).append(call.at)
    return found


async def held(app: App, by: str = "") -> set[int]:
    """Rows leased and not done (by the worker of that instance name): what it was holding."""
    o = tables.outbox.c
    mine = [o.leased_by.like(f"%:{by}")] if by else []
    async with app.engine.connect() as conn:
        keys = await conn.execute(
            sa.select(o.dedupe_key).where(
                o.status == OutboxStatus.PENDING.value,
                o.lease_until > datetime.now(UTC),
                *mine,
            )
        )
        return {int(k.split(":")[1]) for k in keys.scalars()}


async def test_kill_9_mid_dispatch(empty_postgres: str, tmp_path: Path) -> None:
    await upgrade_async(empty_postgres)
    app = await build(empty_postgres, SystemClock(), migrate=False)
    try:
        await seed(app, ROWS)
        async with slack_api(delay=0.01) as api:
            env = serve_env(empty_postgres, tmp_path, slack_api=api.url,
                            COULISSE_OUTBOX_LEASE=LEASE)  # fmt: skip
            worker = Serve("w1", free_port(), env, tmp_path)
            await worker.start()
            await make_all_due(app)
            restarts: list[tuple[float, float, set[int]]] = []  # spawned, healthy, held
            try:
                for share in KILLS:
                    await eventually(lambda s=share: posts(api) >= s * ROWS, timeout=60)
                    await worker.kill()
                    holding = await held(app)
                    spawned = time.monotonic()
                    await worker.start()
                    restarts.append((spawned, time.monotonic(), holding))
                deadline = time.monotonic() + 120
                while (await statuses(app))[OutboxStatus.PENDING.value]:
                    assert time.monotonic() < deadline, worker.output()[-3000:]
                    await asyncio.sleep(0.1)
            finally:
                await worker.stop()
        got = arrivals(api)
        counts = Counter({n: len(times) for n, times in got.items()})
        duplicates = sum(n - 1 for n in counts.values())
        late = []  # from each restart (the process up) to each held row's last arrival
        for _spawned, up, holding in restarts:
            late += [max(got[n]) - up for n in holding if n in got]
        figures = report(
            "kill -9 mid-dispatch (outbox, 1 worker, 3 kills)",
            acknowledged=ROWS, lost=ROWS - len(counts), duplicate_effects=0,
            duplicate_messages=duplicates, kills=len(KILLS),
            held_at_kill=[len(h) for _s, _h, h in restarts],
            restart_to_healthy_s=[round(h - s, 2) for s, h, _ in restarts],
            lateness=late,
        )  # fmt: skip
        assert set(counts) == set(range(ROWS)), "nothing lost"
        assert duplicates <= len(KILLS), "at most one send between send and mark per kill"
        assert await statuses(app) == Counter({OutboxStatus.SENT.value: ROWS})
        assert all(h for _s, _h, h in restarts), "each kill caught rows in flight"
        assert max(late) < WITHIN, figures
    finally:
        await app.close()


async def test_a_dead_workers_rows_go_out_within_the_default_lease(
    empty_postgres: str, tmp_path: Path
) -> None:
    """Two workers with the default lease (10 s); one is killed and stays dead: the other
    sends what it held once the lease runs out, in seconds rather than a minute."""
    await upgrade_async(empty_postgres)
    app = await build(empty_postgres, SystemClock(), migrate=False)
    try:
        await seed(app, ROWS)
        async with slack_api(delay=0.02) as api:
            env = serve_env(empty_postgres, tmp_path, slack_api=api.url)
            env.pop("COULISSE_OUTBOX_LEASE", None)
            async with serving(["w1", "w2"], env, tmp_path) as (victim, _survivor):
                await make_all_due(app)
                await eventually(lambda: posts(api) >= 0.3 * ROWS, timeout=60)
                await victim.kill()
                killed = time.monotonic()
                holding = await held(app, by="w1")
                deadline = time.monotonic() + 120
                while (await statuses(app))[OutboxStatus.PENDING.value]:
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.1)
        got = arrivals(api)
        late = [max(got[n]) - killed for n in holding if n in got]
        counts = Counter({n: len(times) for n, times in got.items()})
        figures = report(
            "kill -9 of one of 2 workers, not restarted (default lease 10 s)",
            acknowledged=ROWS, lost=ROWS - len(counts), duplicate_effects=0,
            duplicate_messages=sum(n - 1 for n in counts.values()), held_at_kill=len(holding),
            lateness=late,
        )  # fmt: skip
        assert set(counts) == set(range(ROWS)) and figures["duplicate_messages"] <= 1, figures
        assert holding, "the kill caught rows in flight"
        assert max(late) < 10 + 5, "within the lease, and a few claims after it"
    finally:
        await app.close()
