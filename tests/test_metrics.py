"""/metrics: Prometheus' text format, the outbox figures moving during a session, and no
person, team, id or text in any label."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import timedelta

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from bot import metrics
from bot.clock import ManualClock
from bot.wiring import App
from handlers.messages import Destination, FormSubmitted, Message, Text, outbox_row
from storage import tables as t
from tests.conftest import IN_CI, SlackStack, eventually

# Ids and names a Slack session seeds; none may reach the exposition.
TEAM, COORDINATOR, MEMBER, CHANNEL = "TGEMEENTE7Q", "UJANSEN4711", "UDEVRIES0815", "CWIJKNOORD9"
TITLE = "Dorpsstraat samen"


async def scrape(stack: SlackStack) -> str:
    async with stack.slack.session.get(f"{stack.base}/metrics") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return await resp.text()


def samples(text: str, name: str, **labels: str) -> float:
    """The sum of a family's samples whose labels include `labels`."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                total += sample.value
    return total


def promtool_check(text: str) -> None:
    """Prometheus' own parser and linter (promtool, Debian's `prometheus`), when it is there."""
    promtool = shutil.which("promtool")
    if promtool is None:
        if IN_CI:
            pytest.fail("promtool (Debian's prometheus package) must be installed in CI")
        return
    done = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    # promtool exits 1 for lint hints as well as for errors: parse errors say "error".
    assert "error" not in (done.stdout + done.stderr).lower(), done.stdout + done.stderr


async def start_session(stack: SlackStack) -> None:
    s, api = stack.slack, stack.api
    s.team = TEAM
    await s.command(COORDINATOR, "new", channel=CHANNEL)
    await eventually(lambda: len(api.of("views.open")) == 1)
    view = api.of("views.open")[0]["view"]
    await s.submit(
        COORDINATOR,
        view,
        {"title": TITLE, "question": "Wat werkt?", "format": "retro", "members": [MEMBER]},
    )
    await eventually(lambda: "staat klaar" in api.texts("chat.postEphemeral"))
    await s.command(COORDINATOR, "start", channel=CHANNEL)


async def test_the_outbox_figures_move_during_a_session(slack_stack: SlackStack) -> None:
    api = slack_stack.api
    before = await scrape(slack_stack)
    promtool_check(before)
    sent = "coulisse_outbox_deliveries_total"
    assert samples(before, "coulisse_outbox_rows") == 0  # nothing waits
    api.fail("chat.postMessage", 429, {"Retry-After": "0"})
    await start_session(slack_stack)
    # Both people's first question by DM and the round's heading in the channel.
    await eventually(lambda: len(api.of("chat.postMessage")) >= 3)
    await eventually(lambda: api.failures["chat.postMessage"] == [])

    async def all_sent() -> bool:
        text = await scrape(slack_stack)
        rows = "coulisse_outbox_rows"
        return samples(text, rows, state="due") + samples(text, rows, state="sending") == 0

    await eventually(all_sent)
    after = await scrape(slack_stack)
    promtool_check(after)
    async with slack_stack.app.engine.connect() as conn:
        rows_sent = await conn.scalar(sa.select(sa.func.count()).where(t.outbox.c.status == "sent"))
    assert rows_sent >= 3
    # This process counted what it sent, on Slack; the refused post as a retry and as a 429.
    gained = samples(after, sent, platform="slack", outcome="sent") - samples(
        before, sent, platform="slack", outcome="sent"
    )
    assert gained >= rows_sent
    assert samples(after, sent, outcome="retry") - samples(before, sent, outcome="retry") >= 1
    limited = "coulisse_rate_limited_total"
    slack = {"platform": "slack"}
    assert samples(after, limited, **slack) - samples(before, limited, **slack) >= 1
    assert samples(after, "coulisse_outbox_oldest_due_seconds") == 0


async def test_no_person_team_id_or_text_in_the_exposition(slack_stack: SlackStack) -> None:
    await start_session(slack_stack)
    await eventually(lambda: len(slack_stack.api.of("chat.postMessage")) >= 3)
    await slack_stack.slack.dm(MEMBER, "Mevrouw Bakker belt elke week")
    async with slack_stack.app.engine.connect() as conn:
        seeded = set()
        for column in (
            t.people.c.platform_id,
            t.people.c.display_name,
            t.workspaces.c.external_id,
            t.teams.c.channel_id,
            t.teams.c.name,
            t.sessions.c.title,
            t.outbox.c.dedupe_key,
        ):
            seeded |= {str(v) for v in (await conn.scalars(sa.select(column))).all() if v}
    assert {TEAM, COORDINATOR, MEMBER, CHANNEL, TITLE} <= seeded  # the scan looks for real ones
    text = await scrape(slack_stack)
    for value in seeded | {"Bakker"}:
        assert value not in text, value
    allowed = {"kind", "platform", "outcome", "state", "event", "le"}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            assert set(sample.labels) <= allowed, sample
            for name, value in sample.labels.items():
                if name != "le":  # a bucket's bound
                    assert metrics._WORD.fullmatch(value), (sample.name, value)


def test_a_label_that_is_not_a_closed_word_is_other() -> None:
    assert metrics.label("round_prompt") == "round_prompt"
    for unsafe in ("U0123ABC", "slack:event:Ev42", "Jansen", "", "1234", "a b"):
        assert metrics.label(unsafe) == "other"


async def test_oldest_due_row_and_depth_per_kind_and_status(app: App, clock: ManualClock) -> None:
    async with app.uow() as uow:
        for n, late in enumerate((90, 30, -60)):  # the last one is not due yet
            await uow.outbox.enqueue(
                outbox_row(
                    Destination.channel(1),
                    Message((Text("x"),)),
                    kind="summary",
                    dedupe_key=f"k{n}",
                    due_at=clock.now() - timedelta(seconds=late),
                )
            )
        await uow.commit()
    text = (await metrics.exposition(app.engine, clock.now())).decode()
    rows = "coulisse_outbox_rows"
    assert samples(text, rows, kind="summary", state="due") == 2
    assert samples(text, rows, kind="summary", state="scheduled") == 1
    assert samples(text, "coulisse_outbox_oldest_due_seconds") == pytest.approx(90)
    clock.advance(timedelta(seconds=10))
    text = (await metrics.exposition(app.engine, clock.now())).decode()
    assert samples(text, "coulisse_outbox_oldest_due_seconds") == pytest.approx(100)
    claimed = await app.outbox.claim_due(clock.now(), 30, 1)  # a worker takes the oldest
    assert claimed[0].id is not None
    text = (await metrics.exposition(app.engine, clock.now())).decode()
    assert samples(text, rows, state="sending") == 1 and samples(text, rows, state="due") == 1
    await app.outbox.mark_failed(claimed[0].id, "gone", None)  # given up
    await app.outbox.mark_sent(claimed[0].id + 1, clock.now())  # history: not counted
    text = (await metrics.exposition(app.engine, clock.now())).decode()
    assert samples(text, rows, state="failed") == 1 and samples(text, rows) == 2
    assert samples(text, "coulisse_outbox_oldest_due_seconds") == 0  # nothing late is waiting


async def test_intake_rows_waiting_and_their_age(app: App, clock: ManualClock) -> None:
    async with app.engine.begin() as conn:
        for n, ago in enumerate((5, 40)):
            await conn.execute(
                sa.insert(t.intake).values(
                    key=f"slack:event:Ev{n}",
                    platform="slack",
                    event=json.loads('{"type": "typed"}'),
                    received_at=clock.now() - timedelta(seconds=ago),
                    worker="w",
                    lease_until=clock.now(),
                    attempts=0,
                )
            )
    text = (await metrics.exposition(app.engine, clock.now())).decode()
    assert samples(text, "coulisse_intake_waiting") == 2
    assert samples(text, "coulisse_intake_oldest_seconds") == pytest.approx(40)


def test_handling_latency_is_a_histogram_per_platform_and_event_type() -> None:
    name = "coulisse_event_handling_seconds_count"
    labels = {"platform": "teams", "event": "form_submitted"}
    event = FormSubmitted("f", {}, None, None)  # type: ignore[arg-type]
    before = metrics.REGISTRY.get_sample_value(name, labels) or 0
    with metrics.handling("teams", event):
        pass
    assert metrics.REGISTRY.get_sample_value(name, labels) == before + 1
