"""What an operator's Prometheus scrapes at /metrics.

Two kinds of figures. Counters of what this process did (messages sent, retried, given up or
skipped; 429s; how long handling an event took) are incremented where it happens and live in
the process. Figures about the shared state (the outbox's depth, the oldest message that is due,
deliveries waiting in the intake) are read from the database at each scrape, so every replica
reports the same: alert on their max, not their sum.

Labels are closed sets of words (a message kind, a platform, an outcome): never a person, a team,
an id or anything someone typed. A value that is not such a word is reported as "other".
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextvars import ContextVar
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine

from handlers.model import OutboxStatus
from storage import tables as t

if TYPE_CHECKING:  # the console counts deliveries too, and serves nothing (aiohttp: 14 MiB)
    from aiohttp import web

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)  # memory, CPU, open files: what every exporter shows

DELIVERIES = Counter(
    "coulisse_outbox_deliveries",
    "Outbox rows handled by this process: sent, retry (an attempt failed, it is tried again), "
    "failed (given up) or skipped (a nudge that no longer made sense).",
    ["kind", "platform", "outcome"],
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "coulisse_rate_limited",
    "429 answers from a platform (Slack, the Bot Framework connector), to any call.",
    ["platform"],
    registry=REGISTRY,
)
HANDLING = Histogram(
    "coulisse_event_handling_seconds",
    "From the moment an event was taken in until the core had handled it.",
    ["platform", "event"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)

# The classic text format, which every Prometheus since 2.0 reads (Debian's too); all our names
# and labels are plain ASCII, so the body is the same as the newer version's.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_WORD = re.compile(r"[a-z][a-z0-9_]{0,31}")
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")

# The platform of the outbox row being sent, named by bot.delivery once it has looked up the
# recipient. Each row is dispatched in its own task or awaited in line, so the value is that
# row's; `delivered` clears it for the next one.
ROW_PLATFORM: ContextVar[str] = ContextVar("coulisse_row_platform", default="unknown")


def label(value: str) -> str:
    """A label value from a closed set of words; anything else (an id, text) is "other"."""
    value = str(value)
    return value if _WORD.fullmatch(value) else "other"


def delivered(kind: str, outcome: str) -> None:
    """Count what happened to one outbox row: sent, retry, failed or skipped."""
    DELIVERIES.labels(label(kind), label(ROW_PLATFORM.get()), label(outcome)).inc()
    ROW_PLATFORM.set("unknown")


def tried_again(kind: str, gave_up: bool) -> None:
    """A failed attempt: tried again later, or (out of attempts) given up."""
    delivered(kind, "failed" if gave_up else "retry")


def rate_limited(platform: str) -> None:
    RATE_LIMITED.labels(label(platform)).inc()


def event_label(event: object) -> str:
    """`FormSubmitted` -> "form_submitted": the event's type, never its content."""
    return label(_CAMEL.sub("_", type(event).__name__).lower())


@contextlib.contextmanager
def handling(platform: str, event: object, since: float | None = None) -> Iterator[None]:
    """Time the handling of one event; `since` is the `time.monotonic()` of its intake (a
    delivery that waited in the intake counts its wait too)."""
    started = time.monotonic() if since is None else since
    try:
        yield
    finally:
        HANDLING.labels(label(platform), event_label(event)).observe(time.monotonic() - started)


class Shared(Collector):
    """The shared state's figures, as read from the database just before this scrape."""

    def __init__(self, figures: dict[str, object]) -> None:
        self.figures = figures

    def collect(self) -> Iterable[Metric]:
        rows = GaugeMetricFamily(
            "coulisse_outbox_rows",
            "Outbox rows still waiting, per kind and state: due, sending, scheduled (not due "
            "yet), or failed (given up). The whole database: the same on every replica.",
            labels=["kind", "state"],
        )
        depth = self.figures.get("outbox", {})
        assert isinstance(depth, dict)
        for (kind, state), count in sorted(depth.items()):
            rows.add_metric([kind, state], count)
        yield rows
        yield GaugeMetricFamily(
            "coulisse_outbox_oldest_due_seconds",
            "How long the oldest pending row has been due (0: nothing is waiting).",
            value=float(self.figures.get("oldest_due", 0.0)),  # type: ignore[arg-type]
        )
        yield GaugeMetricFamily(
            "coulisse_intake_waiting",
            "Deliveries taken in and acknowledged but not yet handled.",
            value=float(self.figures.get("intake", 0)),  # type: ignore[arg-type]
        )
        yield GaugeMetricFamily(
            "coulisse_intake_oldest_seconds",
            "How long the oldest delivery waiting in the intake has waited (0: none).",
            value=float(self.figures.get("intake_oldest", 0.0)),  # type: ignore[arg-type]
        )


def waiting_state(status: str, due: bool, leased: bool) -> str:
    """failed (given up), sending (a worker holds it), due (waiting for a worker) or
    scheduled (not due yet: a nudge for later, a retry after a 429)."""
    if status == OutboxStatus.FAILED.value:
        return "failed"
    if leased:
        return "sending"
    return "due" if due else "scheduled"


def _age(now: datetime, since: datetime | None) -> float:
    return max(0.0, (now - since).total_seconds()) if since is not None else 0.0


async def shared_figures(engine: AsyncEngine, now: datetime) -> dict[str, object]:
    """One short read-only transaction over the outbox and the intake."""
    o, i = t.outbox.c, t.intake.c
    async with engine.connect() as conn:
        # Only what still waits (pending) or was given up (failed): sent and skipped rows are
        # history, counted by coulisse_outbox_deliveries_total. This keeps the scrape on the
        # (status, due_at) index however many sent rows the retention period keeps.
        due = sa.case((o.due_at <= now, 1), else_=0)
        leased = sa.case((sa.and_(o.lease_until.is_not(None), o.lease_until > now), 1), else_=0)
        grouped = await conn.execute(
            sa.select(o.kind, o.status, due, leased, sa.func.count())
            .where(o.status.in_([OutboxStatus.PENDING.value, OutboxStatus.FAILED.value]))
            .group_by(o.kind, o.status, due, leased)
        )
        depth: dict[tuple[str, str], int] = {}
        for kind, status, is_due, is_leased, count in grouped:
            state = waiting_state(getattr(status, "value", status), bool(is_due), bool(is_leased))
            key = (label(kind), state)
            depth[key] = depth.get(key, 0) + int(count)
        oldest_due = await conn.scalar(
            sa.select(sa.func.min(o.due_at)).where(
                o.status == OutboxStatus.PENDING.value, o.due_at <= now
            )
        )
        waiting = await conn.execute(sa.select(sa.func.count(), sa.func.min(i.received_at)))
        intake, intake_since = waiting.one()
    return {
        "outbox": depth,
        "oldest_due": _age(now, oldest_due),  # min() keeps the column's type: aware UTC
        "intake": int(intake or 0),
        "intake_oldest": _age(now, intake_since),
    }


class _Both(Collector):
    def __init__(self, *parts: Collector) -> None:
        self.parts = parts

    def collect(self) -> Iterable[Metric]:
        for part in self.parts:
            yield from part.collect()


async def exposition(engine: AsyncEngine, now: datetime) -> bytes:
    """This process's counters and the database's figures, in Prometheus' text format."""
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(_Both(REGISTRY, Shared(await shared_figures(engine, now))))
    return generate_latest(scrape)


def handler(
    engine: AsyncEngine, now: Callable[[], datetime]
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    from aiohttp import web

    async def metrics(_request: web.Request) -> web.Response:
        try:
            body = await exposition(engine, now())
        except Exception as exc:  # a scrape that fails says why, in its status
            return web.Response(status=503, text=f"database unreachable: {type(exc).__name__}\n")
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    return metrics
