"""Durable intake: a delivery is kept before the platform hears 200, handled from what was kept,
and what a dead worker (or a database blip) left is handled later, once."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.clock import ManualClock
from bot.wiring import App, build
from handlers import intake
from handlers.messages import (
    ActionTaken,
    Actor,
    Command,
    FormSubmitted,
    Installed,
    Place,
    Typed,
    decode_message,
)
from handlers.model import InboundEvent, Platform
from handlers.router import INTAKE_ATTEMPTS, INTAKE_LEASE, INTAKE_RETRY, Coulisse
from prompts.catalog import t
from tests.conftest import SlackStack, database_of_its_own, eventually, slack_stack_on
from tests.fake_slack import sign
from tests.teams_fixtures import TeamsStack, fake_connector, serving

START = datetime(2027, 3, 2, 9, 0, tzinfo=UTC)
ANNA = Actor("slack", "T1", "U1", "Anna")
DM = Place("dm", "DU1")


def english(key: str) -> Typed:
    return Typed("taal en", ANNA, DM, event_key=key)


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[App]:
    app = await build(database_url, ManualClock(START), migrate=False)
    app.coulisse.worker = "host:1"
    yield app
    await app.close()


def another_run(app: App, worker: str = "host:1", later: timedelta = timedelta()) -> Coulisse:
    """The same database as seen by another process: `worker` started again (same name), or
    another instance; its clock `later` on."""
    clock = ManualClock(app.coulisse.clock.now() + later)
    return Coulisse(app.uow, clock, worker=worker)


async def locale_of(app: App, user: str) -> str:
    async with app.uow() as uow:
        ws = await uow.directory.workspace("slack", "T1")
        if ws is None or ws.id is None:
            return ""  # nobody from there was ever handled
        person = await uow.directory.person_by_platform_id(ws.id, user)
        return person.locale if person is not None else ""


async def waiting(app: App) -> int:
    async with app.uow() as uow:
        return await uow.intake.waiting()


def test_every_event_survives_being_kept() -> None:
    clicked = datetime(2027, 3, 2, 9, 0, 1, 400000, tzinfo=UTC)
    events = [
        Typed("pauze nemen helpt", ANNA, DM, "k1"),
        Command("new", ANNA, Place("channel", "C1", "wijk", "1.2"), "retro", "k2"),
        ActionTaken("vote", '{"theme": 3}', ANNA, Place("channel", "C1"), "k3", clicked),
        ActionTaken("vote", "3", ANNA, DM, "k4"),
        FormSubmitted("commit", {"text": "Bellen", "due": "2027-03-09"}, ANNA, DM, "12", "k5"),
        Installed(ANNA, Place("channel", "C1", "wijk"), "k6"),
    ]
    for event in events:
        assert intake.decode(json.loads(json.dumps(intake.encode(event)))) == event


def test_a_click_is_kept_as_that_click_at_that_moment() -> None:
    """Two clicks on one button are two deliveries (the core decides whether the second is a
    double click); a click without a moment is its event key."""
    at = datetime(2027, 3, 2, 9, 0, 1, tzinfo=UTC)
    first = ActionTaken("vote", "3", ANNA, DM, "slack:action:U1:vote:3:1.1", at)
    second = ActionTaken("vote", "3", ANNA, DM, first.event_key, at + timedelta(seconds=3))
    assert intake.key_of(first) != intake.key_of(second)
    assert intake.key_of(ActionTaken("vote", "3", ANNA, DM, "k")) == "k"


async def test_a_worker_that_died_after_keeping_handles_it_when_it_starts_again(app: App) -> None:
    kept = await app.coulisse.receive(english("slack:event:Ev1"))
    assert kept is not None
    # The process dies here: acknowledged, never handled.
    assert await waiting(app) == 1 and await locale_of(app, "U1") == ""

    again = another_run(app, later=timedelta(seconds=3))  # well within the lease
    assert await again.handle_kept() == 1
    assert await locale_of(app, "U1") == "en"
    assert await waiting(app) == 0
    async with app.uow() as uow:  # its answer still reaches Anna, in her DM
        replies = [m for m in await uow.outbox.pending() if m.kind == "reply"]
    assert len(replies) == 1 and replies[0].destination["kind"] == "dm"
    assert await again.handle_kept() == 0  # once


async def test_a_delivery_being_handled_is_not_taken_by_another_worker(app: App) -> None:
    await app.coulisse.receive(english("slack:event:Ev2"))
    other = another_run(app, worker="host:2", later=INTAKE_LEASE - timedelta(seconds=1))
    assert await other.handle_kept() == 0  # its worker may be at it right now
    late = another_run(app, worker="host:2", later=INTAKE_LEASE)
    assert await late.handle_kept() == 1  # its worker is gone: its lease ran out
    assert await locale_of(app, "U1") == "en"


async def test_a_restarted_worker_leaves_what_it_kept_since_it_started(app: App) -> None:
    again = another_run(app)
    await again.receive(english("slack:event:Ev3"))  # kept by this run, being handled now
    again.clock.advance(INTAKE_LEASE - timedelta(seconds=1))  # type: ignore[attr-defined]
    assert await again.handle_kept() == 0


async def test_a_delivery_whose_handling_failed_is_tried_again_in_a_moment(app: App) -> None:
    """The database went away between keeping and handling: the worker tries it again once
    the database is back, not after the lease."""
    event = english("slack:event:Ev6")
    kept = await app.coulisse.receive(event)
    async with app.engine.begin() as conn:  # a blip: the table of people is away
        await conn.execute(sa.text("ALTER TABLE people RENAME TO people_away"))
    with pytest.raises(sa.exc.DBAPIError):
        await app.coulisse.handle(event, delivery=kept)
    async with app.engine.begin() as conn:
        await conn.execute(sa.text("ALTER TABLE people_away RENAME TO people"))
    clock = app.coulisse.clock
    assert await app.coulisse.handle_kept() == 0  # not at once: give the database a moment
    clock.advance(INTAKE_RETRY)  # type: ignore[attr-defined]
    assert await app.coulisse.handle_kept() == 1
    assert await locale_of(app, "U1") == "en" and await waiting(app) == 0


async def test_the_same_delivery_twice_is_kept_once(app: App) -> None:
    assert await app.coulisse.receive(english("slack:event:Ev4")) is not None
    assert await app.coulisse.receive(english("slack:event:Ev4")) is None
    assert await waiting(app) == 1


async def gone(app: App) -> bool:
    return await waiting(app) == 0


async def test_handling_keeps_the_replies_until_they_are_given(app: App) -> None:
    event = english("slack:event:Ev5")
    kept = await app.coulisse.receive(event)
    outcome = await app.coulisse.handle(event, delivery=kept)
    assert not outcome.refused and outcome.replies
    # Handled in the transaction of its effect, kept with its replies until they are given.
    assert await waiting(app) == 1
    assert await app.coulisse.handle_kept() == 0  # this worker is answering it right now
    await app.coulisse.replied(kept)
    assert await gone(app)  # removed by the time `replied` returns: before the platform's 200
    # Handled once more (a worker that took it just then): no second effect, nothing left.
    again = await app.coulisse.receive(event)
    assert (await app.coulisse.handle(event, delivery=again)).duplicate
    assert await waiting(app) == 0


async def test_a_refusal_is_an_answer_and_is_kept_until_it_is_given(app: App) -> None:
    event = Command("end", ANNA, Place("channel", "C9", "elders"), event_key="slack:cmd:1")
    kept = await app.coulisse.receive(event)
    outcome = await app.coulisse.handle(event, delivery=kept)
    assert outcome.refused
    assert await waiting(app) == 1
    await app.coulisse.replied(kept)
    assert await gone(app)  # removed by the time `replied` returns: before the platform's 200


async def dm_replies(app: App) -> list[str]:
    async with app.uow() as uow:
        rows = [m for m in await uow.outbox.pending() if m.kind == "reply"]
    assert all(m.destination["kind"] == "dm" for m in rows)
    return [decode_message(m.payload).plain_text for m in rows]


async def test_a_worker_killed_between_the_commit_and_the_reply_leaves_it_for_the_outbox(
    app: App,
) -> None:
    """The effect is committed, the process dies before it says so: the worker started again
    queues the confirmation for Anna's DM (a Slack ephemeral cannot be given any more), once,
    and does not handle the event a second time."""
    event = english("slack:event:Ev7")
    kept = await app.coulisse.receive(event)
    outcome = await app.coulisse.handle(event, delivery=kept)
    # The process dies here: nothing was said, `replied` never comes.
    assert await locale_of(app, "U1") == "en" and await waiting(app) == 1
    again = another_run(app, later=timedelta(seconds=3))
    assert await again.handle_kept() == 1
    assert await dm_replies(app) == [outcome.replies[0].message.plain_text]
    assert await waiting(app) == 0 and await again.handle_kept() == 0
    async with app.uow() as uow:  # handled once: the event is not seen a second time
        assert not await uow.inbox.record(InboundEvent(event.event_key, Platform.SLACK, START))


async def test_another_worker_gives_the_replies_of_a_dead_one_once_its_lease_ran_out(
    app: App,
) -> None:
    event = english("slack:event:Ev8")
    kept = await app.coulisse.receive(event)
    await app.coulisse.handle(event, delivery=kept)
    soon = another_run(app, worker="host:2", later=INTAKE_LEASE - timedelta(seconds=1))
    assert await soon.handle_kept() == 0  # it may still be answering
    late = another_run(app, worker="host:2", later=INTAKE_LEASE + timedelta(seconds=1))
    assert await late.handle_kept() == 1 and len(await dm_replies(app)) == 1


async def test_a_reply_already_queued_by_the_adapter_is_not_queued_again(app: App) -> None:
    """Slack would not take the confirmation (429): the adapter queued it (`later`), then died
    before it said so. The kept copy has the same dedupe key: one message, not two."""
    event = english("slack:event:Ev9")
    kept = await app.coulisse.receive(event)
    outcome = await app.coulisse.handle(event, delivery=kept)
    assert await app.coulisse.later(outcome, outcome.replies[0], 0)
    assert await another_run(app, later=timedelta(seconds=3)).handle_kept() == 1
    assert len(await dm_replies(app)) == 1


async def test_a_delivery_that_keeps_failing_is_let_go(app: App) -> None:
    async with app.uow() as uow:  # something no version of the core can read
        await uow.intake.keep("broken", "slack", {"kind": "?"}, START, "host:9", START)
        await uow.commit()
    # Its first attempt was its own worker's (which died); then others try until the limit.
    for attempt in range(2, INTAKE_ATTEMPTS + 2):
        worker = another_run(app, "host:2", later=INTAKE_LEASE * attempt)
        assert await worker.handle_kept() == 1
        assert await waiting(app) == (0 if attempt > INTAKE_ATTEMPTS else 1)


# --- through Slack, when the database cannot keep it --------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def own_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """A database only this test uses: it breaks it on purpose."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_url")
        return
    request.getfixturevalue("postgres_url")  # skips (or fails in CI) without PostgreSQL
    with database_of_its_own("coulisse_intake") as url:
        yield url


@pytest.fixture
async def broken_stack(own_database: str) -> AsyncIterator[SlackStack]:
    """`coulisse serve` whose database can no longer keep a delivery (its table is gone)."""
    async with slack_stack_on(own_database) as stack:
        async with stack.app.engine.begin() as conn:
            await conn.execute(sa.text("DROP TABLE intake"))
        yield stack


def not_kept() -> str:
    return t("nl", "errors.not_kept")  # the workspace's language: the person's is not known


async def test_an_event_not_kept_gets_an_error_so_that_slack_sends_it_again(
    broken_stack: SlackStack,
) -> None:
    assert await broken_stack.slack.dm("U2", "Goed") == 500


async def test_a_command_not_kept_says_so_at_once(broken_stack: SlackStack) -> None:
    form = {"team_id": "T1", "channel_id": "C1", "user_id": "U1", "command": "/coulisse",
            "text": "new", "trigger_id": "trigger-x", "api_app_id": "A1"}  # fmt: skip
    body = urllib.parse.urlencode(form).encode()
    status, text = await broken_stack.slack.post(body, "application/x-www-form-urlencoded")
    assert status == 200 and not_kept() in text  # bolt answers it as plain text
    assert broken_stack.api.of("views.open") == []  # nothing happened behind the message


async def test_a_click_not_kept_says_so_at_once(broken_stack: SlackStack) -> None:
    assert await broken_stack.slack.click("U1", "vote", "1", channel="") == 200
    await eventually(lambda: not_kept() in broken_stack.api.texts("chat.postMessage"))


async def test_a_form_not_kept_stays_open_with_the_reason(broken_stack: SlackStack) -> None:
    view = {
        "type": "modal",
        "callback_id": "new_session",
        "private_metadata": json.dumps({"channel": "C1"}),
        "blocks": [{"type": "input", "block_id": "title",
                    "element": {"type": "plain_text_input", "action_id": "title"}}],
    }  # fmt: skip
    status, text = await broken_stack.slack.submit("U1", view, {"title": "Wijk"})
    answer = json.loads(text)
    assert status == 200 and answer["response_action"] == "errors"
    assert answer["errors"] == {"title": not_kept()}


async def test_a_signed_request_is_still_checked_first(broken_stack: SlackStack) -> None:
    """Keeping comes after Slack's signature: a forged request is refused, not kept."""
    body = json.dumps({"type": "event_callback", "event_id": "Ev9", "team_id": "T1",
                       "event": {"type": "message", "channel_type": "im", "user": "U2",
                                 "channel": "DU2", "text": "x"}}).encode()  # fmt: skip
    forged = sign(body, secret="not-the-secret")
    status, _ = await broken_stack.slack.post(body, "application/json", signed=forged)
    assert status == 401


# --- through Teams, when the database cannot keep it --------------------------------------------


@pytest.fixture
async def broken_teams(own_database: str) -> AsyncIterator[TeamsStack]:
    async with fake_connector() as fake, serving(own_database, fake) as stack:
        async with stack.app.engine.begin() as conn:
            await conn.execute(sa.text("DROP TABLE intake"))
        yield stack


async def test_a_teams_message_not_kept_is_not_acknowledged(broken_teams: TeamsStack) -> None:
    chat = broken_teams.connector.chat_of("29:U2")
    assert await broken_teams.client.say("29:U2", chat, "Goed") == 500


async def test_a_card_action_not_kept_says_so_at_once(broken_teams: TeamsStack) -> None:
    chat = broken_teams.client.chat(broken_teams.connector.chat_of("29:U2"))
    action = {"verb": "vote", "data": {"action": "vote", "value": "1"}}
    status, body = await broken_teams.client.execute("29:U2", chat, "card-1", action)
    assert status == 200 and body["value"] == t("nl", "errors.not_kept")  # nl-NL, as it says
