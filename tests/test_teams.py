"""Teams over real HTTP on loopback: Bot Framework activities into `coulisse serve`, a fake
connector that records what the bot sends, every card validated against the Adaptive Cards 1.5
schema and Teams' limits, every connector call against the Bot Framework channel spec in
tests/specs; the causal map's picture fetched from the bot as Teams fetches it."""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa

from bot.serve import running
from bot.teams import limits
from bot.teams.limits import walk
from bot.teams.media import key_of
from bot.web import TEAMS
from handlers.messages import (
    Action,
    Bullets,
    Choices,
    Destination,
    Diagram,
    DiagramLink,
    DiagramLoop,
    Heading,
    Message,
    Quote,
    Text,
    encode_destination,
    encode_message,
    message,
)
from handlers.model import OutboxMessage
from prompts.catalog import t
from storage import tables
from tests.conftest import eventually
from tests.fake_connector import Call, FakeConnector
from tests.fake_slack import free_port
from tests.teams_fixtures import (
    PEOPLE,
    TEAM,
    TENANT,
    TeamsClient,
    TeamsStack,
    card_problems,
    card_validator,
    fake_connector,
    serving,
    teams_settings,
)


@pytest.fixture
async def connector() -> AsyncIterator[FakeConnector]:
    async with fake_connector() as fake:
        yield fake


@pytest.fixture
async def teams_stack(database_url: str, connector: FakeConnector) -> AsyncIterator[TeamsStack]:
    async with serving(database_url, connector) as stack:
        yield stack


USERS = ["29:U1", "29:U2", "29:U3", "29:U4", "29:U5"]
NAMES = list(PEOPLE.values())  # full names: "Noor" is in "Noord"


def actions(card: dict[str, Any], **data: str) -> list[dict[str, Any]]:
    """The card's Action.Execute buttons whose data has these values."""
    return [
        a
        for a in walk(card)
        if a.get("type") == "Action.Execute"
        and all(a.get("data", {}).get(k) == v for k, v in data.items())
    ]


def card_of(call: Call) -> dict[str, Any]:
    return call.body["attachments"][0]["content"]


def said(call: Call) -> str:
    return json.dumps(call.body, ensure_ascii=False)


async def sent_to(fake: FakeConnector, conversation: str, contains: str) -> Call:
    """The latest message to a conversation that says `contains` (waiting for it)."""
    await eventually(lambda: any(contains in said(c) for c in fake.of("send", conversation)))
    return [c for c in fake.of("send", conversation) if contains in said(c)][-1]


def count(fake: FakeConnector, conversation: str, contains: str) -> int:
    """How many messages to a conversation say `contains`."""
    return sum(contains in said(c) for c in fake.of("send", conversation))


def answer(body: Any) -> str:
    """The text of an Action.Execute response (shown only to the person who clicked)."""
    assert body["statusCode"] == 200
    assert body["type"] == "application/vnd.microsoft.activity.message"
    return str(body["value"])


async def setup_session(stack: TeamsStack, fmt: str = "regie") -> None:
    """Installed in the channel; the coordinator fills in the new-session card in their chat."""
    c, fake = stack.client, stack.connector
    assert await c.install() == 200
    assert await c.mention("29:U1", "nieuw") == 200
    form = await sent_to(fake, fake.chat_of("29:U1"), "new_session")
    submit = actions(card_of(form), form="new_session")[0]
    assert submit["data"]["channel"] == TEAM  # the card remembers the channel it is for
    status, body = await c.execute(
        "29:U1",
        c.chat(fake.chat_of("29:U1")),
        form.answered,
        submit,
        {
            "new_session:title": "Noord: samen grip",
            "new_session:question": "Hoe voorkomen we lange wachttijden?",
            "new_session:format": fmt,
            "new_session:language": "nl",
            "new_session:anonymous": "yes",
        },
    )
    assert status == 200 and "staat klaar" in answer(body)


async def test_a_whole_regie_session_through_teams(teams_stack: TeamsStack) -> None:
    c, fake = teams_stack.client, teams_stack.connector
    await setup_session(teams_stack)
    # The roster came with the installation: everyone is in the team, with their name.
    new_form = card_of(await sent_to(fake, fake.chat_of("29:U1"), "new_session"))
    kinds = {e["id"]: e["type"] for e in walk(new_form) if str(e.get("id", "")).startswith("new")}
    assert kinds["new_session:title"] == "Input.Text"
    assert kinds["new_session:format"] == "Input.ChoiceSet"
    assert kinds["new_session:starts_at:date"] == "Input.Date"
    assert kinds["new_session:starts_at:time"] == "Input.Time"
    people = next(e for e in walk(new_form) if e.get("id") == "new_session:members")
    assert {ch["value"] for ch in people["choices"]} == set(USERS)

    assert await c.mention("29:U1", "start") == 200
    # The check-in question goes to all five in their own chat; the channel hears it starts.
    for user in USERS:
        await sent_to(fake, fake.chat_of(user), "ronde 1 van 8")
    await sent_to(fake, TEAM, "Ronde 1 van 8")
    assert len(fake.of("create")) == 5

    await c.say("29:U2", fake.chat_of("29:U2"), "Moe maar hoopvol")
    await c.say(
        "29:U3", fake.chat_of("29:U3"), "[klik](https://evil.example) **vet** &lt;b&gt; @here"
    )
    await eventually(lambda: count(fake, fake.chat_of("29:U3"), "opgeslagen") == 1)
    await c.mention("29:U1", "next")  # the reveal, and the overview round opens
    reveal = await sent_to(fake, TEAM, "Wat het team deelde")
    runs = [e["text"] for e in walk(card_of(reveal)) if e.get("type") == "TextRun"]
    # Typed Markdown stays text (a TextRun is never read as Markdown); no names in the channel.
    assert "[klik](https://evil.example) **vet** <b> @here" in runs
    assert not any(e.get("type") == "TextBlock" for e in walk(card_of(reveal)))
    assert not any(name in fake.text(TEAM) for name in NAMES) and "29:U" not in fake.text(TEAM)

    # Overview: an answer as text, and one through the force form of the round's card.
    await c.say("29:U2", fake.chat_of("29:U2"), "actor: Huisartsen in Noord (4)")
    prompt = await sent_to(fake, fake.chat_of("29:U3"), '"form": "force"')
    force = actions(card_of(prompt), form="force")[0]
    status, body = await c.execute(
        "29:U3",
        c.chat(fake.chat_of("29:U3")),
        prompt.answered,
        force,
        {"force:text": "Privacyregels", "force:direction": "restraining", "force:strength": "5"},
    )
    assert status == 200 and "krachtenveld" in answer(body)
    for text, title in [
        ("patronen: Gezinnen worden steeds doorverwezen", "de ijsberg"),
        ("onuitgesproken: We vertrouwen elkaars oordeel nog niet", "systeemvragen"),
    ]:
        await c.mention("29:U1", "volgende")
        await sent_to(fake, fake.chat_of("29:U5"), title)
        await c.say("29:U5", fake.chat_of("29:U5"), text)
    await c.mention("29:U1", "next")
    await sent_to(fake, fake.chat_of("29:U4"), "oorzakelijke verbanden")
    await c.say(
        "29:U4",
        fake.chat_of("29:U4"),
        "wachtlijst -> +druk op huisarts\ndruk op huisarts -> +wachtlijst",
    )
    await sent_to(fake, fake.chat_of("29:U4"), "Toegevoegd aan de kaart")
    await c.mention("29:U1", "next")  # the map goes to the channel
    await sent_to(fake, TEAM, "R1 (versterkend)")

    await c.mention("29:U1", "next")  # themes → dot voting: the ballot has buttons
    ballot = await sent_to(fake, TEAM, "Stem op 1")
    vote = actions(card_of(ballot), action="vote")[0]
    moment = "2027-03-09T10:00:00.200Z"
    bodies = []
    for _ in range(2):  # a double click counts once
        status, body = await c.execute(
            "29:U2", c.channel(), ballot.answered, vote, timestamp=moment
        )
        assert status == 200
        bodies.append(answer(body))
    assert "Nog 2 over" in bodies[0] and bodies[1] == ""
    await teams_stack.teams.adapter.updates.settle()
    updates = fake.of("update", TEAM)
    assert updates and all(u.activity_id == ballot.answered for u in updates)
    assert "1 stip" in said(updates[-1])
    assert "Ahmed" not in said(updates[-1]) and "29:U2" not in said(updates[-1])

    await c.mention("29:U1", "next")  # commitments: the form is in everyone's card
    prompt = await sent_to(fake, fake.chat_of("29:U2"), "commit:due")
    due = next(e for e in walk(card_of(prompt)) if e.get("id") == "commit:due")
    mode = next(e for e in walk(card_of(prompt)) if e.get("id") == "commit:mode")
    assert due["type"] == "Input.Date" and mode["type"] == "Input.ChoiceSet"
    status, body = await c.execute(
        "29:U2",
        c.chat(fake.chat_of("29:U2")),
        prompt.answered,
        actions(card_of(prompt), form="commit")[0],
        {
            "commit:text": "Eén intake proberen",
            "commit:due": "2099-02-01",
            "commit:mode": "co_create",
            "commit:focus": "R1",
            "commit:level": "structures",
        },
    )
    assert "Afspraak 1 staat genoteerd" in answer(body)
    await c.mention("29:U1", "next")  # the last round closes: the summary in the channel
    await sent_to(fake, TEAM, "Samenvatting")

    validator = card_validator()
    cards = fake.cards()
    assert len(cards) > 40
    for sent in cards:
        assert card_problems(validator, sent) == [], sent
    assert fake.invalid == []
    assert not any(name in fake.text(TEAM) for name in NAMES) and "29:U" not in fake.text(TEAM)
    # Every message as it arrived: within Teams' limits in bytes, labels, error messages.
    activities = [c for c in fake.calls if c.method in ("send", "update")]
    assert all(0 < c.size <= limits.MESSAGE_BYTES.value for c in activities)
    assert {n: p for n, c in enumerate(activities) if (p := limits.problems(c.body))} == {}


async def test_a_redelivered_activity_has_one_effect(teams_stack: TeamsStack) -> None:
    c, fake = teams_stack.client, teams_stack.connector
    await setup_session(teams_stack, "retro")
    await c.mention("29:U1", "start")
    await sent_to(fake, fake.chat_of("29:U2"), "ronde 1 van")
    for _ in range(2):  # the Bot Framework sends it again: same activity id
        assert await c.say("29:U2", fake.chat_of("29:U2"), "Goed", activity_id="f:42") == 200
    await c.mention("29:U1", "status")
    await sent_to(
        fake, fake.chat_of("29:U1"), t("nl", "sessions.shared_count", shared=1, members=5)
    )
    assert count(fake, fake.chat_of("29:U2"), "opgeslagen") == 1


async def test_the_connector_saying_429_or_412_means_later_not_lost(
    teams_stack: TeamsStack,
) -> None:
    c, fake = teams_stack.client, teams_stack.connector
    await setup_session(teams_stack, "retro")
    fake.fail("send", 429, {"Retry-After": "1"}, conversation=TEAM)
    fake.fail("send", 412, conversation=TEAM)
    fake.fail("send", 429, {"Retry-After": "1"}, conversation=fake.chat_of("29:U1"))
    await c.mention("29:U1", "start")
    # The channel's messages met a failure each; after the wait both still arrive, once.
    await sent_to(fake, TEAM, "Ronde 1 van 6")
    await sent_to(fake, TEAM, "Noord: samen grip")
    assert fake.failures["send"] == []
    assert count(fake, TEAM, "Ronde 1 van 6") == 1
    # The coordinator's own answer met a 429 too: it comes later, through the outbox.
    await sent_to(fake, fake.chat_of("29:U1"), "is begonnen")
    assert count(fake, fake.chat_of("29:U1"), "is begonnen") == 1
    for user in USERS:
        await sent_to(fake, fake.chat_of(user), "ronde 1 van 6")
    async with teams_stack.app.engine.connect() as conn:
        rows = (await conn.execute(sa.select(tables.outbox.c.status, tables.outbox.c.attempts)
                                   .where(tables.outbox.c.kind == "reply"))).all()  # fmt: skip
    assert [(r.status, r.attempts) for r in rows] == [("sent", 1)]


async def test_a_double_click_on_a_card_button_counts_once_but_two_clicks_count_twice(
    teams_stack: TeamsStack,
) -> None:
    c, fake = teams_stack.client, teams_stack.connector
    await setup_session(teams_stack, "retro")
    await c.mention("29:U1", "start")
    await c.mention("29:U2", "afspraak")  # a commitment, then check-in buttons under "mijn"
    form = await sent_to(fake, fake.chat_of("29:U2"), "commit:due")
    _status, body = await c.execute(
        "29:U2",
        c.chat(fake.chat_of("29:U2")),
        form.answered,
        actions(card_of(form), form="commit")[0],
        {"commit:text": "Bellen", "commit:due": "2099-01-01", "commit:mode": "co_produce"},
    )
    assert "genoteerd" in answer(body)
    assert await c.say("29:U2", fake.chat_of("29:U2"), "mijn") == 200  # one word: a command
    mine = await sent_to(fake, fake.chat_of("29:U2"), "Bellen")
    stuck = actions(card_of(mine), action="checkin", value="1:stuck")[0]
    first = await c.execute("29:U2", c.chat(fake.chat_of("29:U2")), mine.answered, stuck,
                            timestamp="2027-03-09T10:00:00.100Z")  # fmt: skip
    again = await c.execute("29:U2", c.chat(fake.chat_of("29:U2")), mine.answered, stuck,
                            timestamp="2027-03-09T10:00:01.300Z")  # fmt: skip
    later = await c.execute("29:U2", c.chat(fake.chat_of("29:U2")), mine.answered, stuck,
                            timestamp="2027-03-09T10:00:09.000Z")  # fmt: skip
    assert "vast" in answer(first[1]) and answer(again[1]) == "" and "vast" in answer(later[1])
    # Stuck goes back to the team, without a name: twice, for the two real clicks.
    await eventually(lambda: count(fake, TEAM, "Bellen") == 2)
    assert "Ahmed" not in fake.text(TEAM)


async def test_a_form_sent_twice_across_an_even_second_counts_once(
    teams_stack: TeamsStack,
) -> None:
    """1.9 s and 2.3 s fell in two 2-second buckets before: two commitments from one click."""
    c, fake = teams_stack.client, teams_stack.connector
    await setup_session(teams_stack, "retro")
    await c.mention("29:U1", "start")
    await c.mention("29:U2", "afspraak")
    form = await sent_to(fake, fake.chat_of("29:U2"), "commit:due")
    send = actions(card_of(form), form="commit")[0]
    inputs = {"commit:text": "Bellen", "commit:due": "2099-01-01", "commit:mode": "co_produce"}
    chat = c.chat(fake.chat_of("29:U2"))
    answers = []
    for at in ("2027-03-09T10:00:01.900Z", "2027-03-09T10:00:02.300Z"):
        _status, body = await c.execute("29:U2", chat, form.answered, send, inputs, at)
        answers.append(answer(body))
    assert "genoteerd" in answers[0] and answers[1] == ""
    async with teams_stack.app.uow() as uow:
        assert len(await uow.commitments.for_session(1)) == 1


async def test_an_answer_that_takes_too_long_follows_in_the_chat(teams_stack: TeamsStack) -> None:
    c, fake = teams_stack.client, teams_stack.connector
    await setup_session(teams_stack, "retro")
    await c.mention("29:U1", "start")
    prompt = await sent_to(fake, fake.chat_of("29:U4"), "contribute:text")
    teams_stack.teams.adapter.invoke_wait = 0  # as if a burst of votes was ahead of it
    status, body = await c.execute(
        "29:U4",
        c.chat(fake.chat_of("29:U4")),
        prompt.answered,
        actions(card_of(prompt), form="contribute")[0],
        {"contribute:text": "Rust in de week"},
    )
    assert status == 200 and "Ontvangen" in answer(body)
    await sent_to(fake, fake.chat_of("29:U4"), "opgeslagen")  # the answer, where it went
    await c.mention("29:U1", "next")
    await sent_to(fake, TEAM, "Rust in de week")


async def test_a_longer_message_in_the_personal_chat_is_an_answer_not_a_command(
    teams_stack: TeamsStack,
) -> None:
    c, fake = teams_stack.client, teams_stack.connector
    await setup_session(teams_stack, "retro")
    await c.mention("29:U1", "start")
    await sent_to(fake, fake.chat_of("29:U3"), "ronde 1 van 6")
    await c.say("29:U3", fake.chat_of("29:U3"), "Mijn team is moe")
    await sent_to(fake, fake.chat_of("29:U3"), "opgeslagen")
    await c.say("29:U3", fake.chat_of("29:U3"), "pauze")
    await sent_to(fake, fake.chat_of("29:U3"), "pauze")
    await c.mention("29:U1", "next")
    await sent_to(fake, TEAM, "Mijn team is moe")


async def test_an_action_submit_from_an_older_client_works_like_execute(
    teams_stack: TeamsStack,
) -> None:
    c, fake = teams_stack.client, teams_stack.connector
    await setup_session(teams_stack, "retro")
    await c.mention("29:U1", "start")
    prompt = await sent_to(fake, fake.chat_of("29:U4"), "contribute:text")
    data = {**actions(card_of(prompt), form="contribute")[0]["data"], "contribute:text": "Rust"}
    assert await c.submit("29:U4", c.chat(fake.chat_of("29:U4")), prompt.answered, data) == 200
    await eventually(lambda: count(fake, fake.chat_of("29:U4"), "opgeslagen") == 1)


async def test_installing_without_a_roster_still_makes_the_installer_coordinator(
    teams_stack: TeamsStack,
) -> None:
    c, fake = teams_stack.client, teams_stack.connector
    del fake.members[TEAM]  # the connector will not say who is in the team
    assert await c.install("29:U3") == 200
    await sent_to(fake, TEAM, "doet vanaf nu mee")
    await sent_to(fake, fake.chat_of("29:U3"), "coördinator")
    # Someone added later joins the team and is welcomed in their own chat, not the channel.
    assert await c.members_added(["29:U4"]) == 200
    await sent_to(fake, fake.chat_of("29:U4"), "Welkom bij wijkteam-noord")
    assert "Welkom" not in fake.text(TEAM)
    assert await c.mention("29:U4", "nieuw") == 200  # a participant cannot prepare a session
    await sent_to(fake, fake.chat_of("29:U4"), "coördinator")


async def test_requests_that_are_not_activities_are_refused(teams_stack: TeamsStack) -> None:
    session, url = teams_stack.client.session, teams_stack.client.url
    async with session.post(url, data=b"hello", headers={"Content-Type": "text/plain"}) as resp:
        assert resp.status == 415
    async with session.post(url, data=b"{nope", headers={"Content-Type": "application/json"}) as r:
        assert r.status == 400
    async with session.post(url, json={"text": "no type"}) as resp:
        assert resp.status == 400
    assert teams_stack.connector.calls == []


async def test_a_message_scheduled_before_a_restart_is_sent_after_it(
    database_url: str, connector: FakeConnector
) -> None:
    fake = connector
    async with serving(database_url, fake) as stack:
        assert await stack.client.install() == 200
        await sent_to(fake, TEAM, "doet vanaf nu mee")
        await sent_to(fake, fake.chat_of("29:U1"), "coördinator")  # U1's chat exists, U2's not
        due = datetime.now(UTC) + timedelta(seconds=3)
        async with stack.app.uow() as uow:
            workspace = await uow.directory.workspace("teams", TENANT)
            assert workspace is not None and workspace.id is not None
            team = await uow.directory.team_by_channel(workspace.id, TEAM)
            people = [await uow.directory.person_by_platform_id(workspace.id, u) for u in USERS]
            assert team is not None and team.id is not None
            sanne, ahmed = people[0], people[1]
            assert sanne and ahmed and sanne.id and ahmed.id
            planned = [
                (Destination.dm(sanne.id), message(Text("Voor Sanne, na de herstart"))),
                (
                    Destination.dm(ahmed.id),
                    message(
                        Text("Voor Ahmed, na de herstart"),
                        Choices((Action("checkin", "Klaar", "1:done", "primary"),)),
                    ),
                ),
                (Destination.channel(team.id), message(Text("Voor het team, na de herstart"))),
            ]
            for n, (to, planned_message) in enumerate(planned):
                await uow.outbox.enqueue(
                    OutboxMessage(
                        f"restart-test:{n}",
                        "reminder",
                        encode_destination(to),
                        encode_message(planned_message),
                        due,
                        to.id if to.kind == "dm" else None,
                    )
                )
            await uow.commit()
    assert "na de herstart" not in fake.text()  # stopped before anything was due
    created_before = len(fake.of("create"))
    async with serving(database_url, fake):
        await sent_to(fake, fake.chat_of("29:U1"), "Voor Sanne, na de herstart")
        await sent_to(fake, TEAM, "Voor het team, na de herstart")
        button = await sent_to(fake, fake.chat_of("29:U2"), "Voor Ahmed, na de herstart")
    # Sanne's chat and the channel came from the database; Ahmed's chat was made now.
    assert [c.body["members"][0]["id"] for c in fake.of("create")[created_before:]] == ["29:U2"]
    assert actions(card_of(button), action="checkin", value="1:done")
    assert datetime.now(UTC) >= due


async def team_id_of(stack: TeamsStack) -> int:
    async with stack.app.uow() as uow:
        workspace = await uow.directory.workspace("teams", TENANT)
        assert workspace is not None and workspace.id is not None
        team = await uow.directory.team_by_channel(workspace.id, TEAM)
        assert team is not None and team.id is not None
        return team.id


async def post_to_team(stack: TeamsStack, key: str, msg: Message) -> None:
    """A message for the team's channel, through the outbox as every post goes."""
    to = Destination.channel(await team_id_of(stack))
    async with stack.app.uow() as uow:
        await uow.outbox.enqueue(
            OutboxMessage(
                key, "reminder", encode_destination(to), encode_message(msg), datetime.now(UTC)
            )
        )
        await uow.commit()


async def installed(stack: TeamsStack) -> None:
    assert await stack.client.install() == 200
    await sent_to(stack.connector, TEAM, "doet vanaf nu mee")


SCRIPTS = {
    "dutch": "Één coördinator zag dat de cliënt na de reünie geïnteresseerd was; privé, naïef",
    "arabic": "يعمل الفريق معًا على تقليل قوائم الانتظار للأسر في الحي الشمالي",
    "emoji": "🙂 🎉 👍🏽 🧭 🌱 🏘️ 👨‍👩‍👧 ❤️ 🚲 ☕ 📋 🤝",
}


def in_script(text: str) -> Message:
    lines = [f"{n} {text}" for n in range(100)]
    return message(
        Heading(text[:30]),
        Text("\n".join(lines)),
        Text(" ".join([text] * 120)),  # one line longer than a card
        Quote("\n".join(lines[:60])),
        Bullets(tuple(lines[:30])),
    )


async def test_long_messages_in_every_script_arrive_under_teams_limit_in_bytes_whole(
    teams_stack: TeamsStack,
) -> None:
    fake = teams_stack.connector
    await installed(teams_stack)
    before = len(fake.of("send", TEAM))
    for script, text in SCRIPTS.items():
        await post_to_team(teams_stack, f"script:{script}", in_script(text))
        await sent_to(fake, TEAM, f"• 29 {text}")  # the last line of its last card
    sent = fake.of("send", TEAM)[before:]
    assert len(sent) >= 2 * len(SCRIPTS)  # each needed several messages
    for call in sent:
        assert call.size <= limits.MESSAGE_BYTES.value, call.size
        # As measured: UTF-8, declared so, nothing escaped as \uXXXX on the way.
        assert call.content_type == "application/json; charset=utf-8"
        assert call.size == len(limits.encode(call.body))
        assert limits.problems(call.body) == []
    texts = " ".join(
        e["text"] for c in sent for e in walk(card_of(c)) if e.get("type") == "TextRun"
    )
    for text in SCRIPTS.values():
        for block in in_script(text).blocks:
            words = (getattr(block, "text", "") or " ".join(getattr(block, "items", ()))).split()
            found = iter(texts.split())
            assert all(w in found for w in words)


MAP = Diagram(
    "Kaart van Noord",
    "Wachtlijst versterkt druk op de huisarts, en die de wachtlijst (R1)",
    ("wachtlijst", "druk op huisarts"),
    (DiagramLink(0, 1, "+"), DiagramLink(1, 0, "+")),
    (DiagramLoop("R1", (0, 1)),),
)


@contextlib.asynccontextmanager
async def serving_with_public_url(
    database_url: str, fake: FakeConnector
) -> AsyncIterator[TeamsStack]:
    """As `serving`, and the server's own address as COULISSE_PUBLIC_URL (loopback, so http)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = teams_settings(database_url, public_url=base)
    async with (
        running(settings, "127.0.0.1", port) as (app, _slack, runner),
        aiohttp.ClientSession() as session,
    ):
        client = TeamsClient(f"{base}/api/messages", fake.url, session)
        yield TeamsStack(fake, client, app, runner.app[TEAMS], base)


async def test_the_causal_map_is_a_picture_teams_fetches_from_the_bot(
    database_url: str, connector: FakeConnector, caplog: pytest.LogCaptureFixture
) -> None:
    fake = connector
    async with (
        serving_with_public_url(database_url, fake) as stack,
        contextlib.AsyncExitStack() as later,
    ):
        await installed(stack)
        await post_to_team(stack, "map:1", message(Heading("De kaart"), MAP))
        call = await sent_to(fake, TEAM, '"type": "Image"')
        image = next(e for e in walk(card_of(call)) if e.get("type") == "Image")
        assert image["altText"] == MAP.alt
        url = str(image["url"])
        token = url.removeprefix(f"{stack.base}/media/").removesuffix(".png")
        assert len(token) >= 43 and url == f"{stack.base}/media/{token}.png"  # 256 bits
        caplog.clear()
        caplog.set_level(logging.DEBUG)  # all the route's requests log, the access log included
        caplog.set_level(logging.INFO, logger="aiohttp.access")  # bot.logs keeps it at WARNING
        # A new connection, as Teams' image proxy makes: aiohttp decides per connection whether
        # it writes the access log.
        session = await later.enter_async_context(aiohttp.ClientSession())
        async with session.get(url) as resp:
            assert resp.status == 200 and resp.content_type == "image/png"
            assert "private" in resp.headers["Cache-Control"]
            picture = await resp.read()
        assert picture.startswith(limits.PNG_MAGIC) and limits.picture_fits(picture)
        size = limits.png_size(picture)
        assert size is not None and min(size) > 0 and max(size) <= limits.IMAGE_PIXELS.value
        async with stack.app.engine.connect() as conn:
            stored = (
                await conn.execute(
                    sa.select(tables.media.c.data).where(tables.media.c.key == key_of(token))
                )
            ).scalar_one()
            keys = (await conn.execute(sa.select(tables.media.c.key))).scalars().all()
        assert stored == picture and token not in keys  # the database knows only its hash
        # Anything else is not found: another token, a malformed name, an expired picture.
        expired = secrets.token_urlsafe(32)
        store, now = stack.teams.pictures.store, datetime.now(UTC)
        assert store is not None
        await store.put(key_of(expired), picture, now - timedelta(days=8), now - timedelta(1))
        for name in (f"{secrets.token_urlsafe(32)}.png", f"{token}.gif", "x.png", f"{expired}.png"):
            async with session.get(f"{stack.base}/media/{name}") as resp:
                assert resp.status == 404, name
        served = "\n".join(r.getMessage() for r in caplog.records)
        caplog.set_level(logging.WARNING)
        # The next picture stored takes the expired one with it.
        await store.put(key_of(secrets.token_urlsafe(32)), picture, now, now + timedelta(1))
        async with stack.app.engine.connect() as conn:
            keys = (await conn.execute(sa.select(tables.media.c.key))).scalars().all()
        assert key_of(expired) not in keys and key_of(token) in keys
    # What the route logged: the requests, without the token, the picture or the map's words.
    assert served.count("GET /media/- ") == 5
    assert token not in served and expired not in served  # its hash is no key to anything
    assert "wachtlijst" not in served.casefold() and "IHDR" not in served


async def test_without_a_public_url_the_map_is_its_text_and_the_log_says_so_once(
    teams_stack: TeamsStack, caplog: pytest.LogCaptureFixture
) -> None:
    fake = teams_stack.connector
    await installed(teams_stack)
    for n in range(2):
        await post_to_team(teams_stack, f"map:{n}", message(Heading(f"Kaart {n}"), MAP))
        call = await sent_to(fake, TEAM, f"Kaart {n}")
        assert not [e for e in walk(card_of(call)) if e.get("type") == "Image"]
        assert MAP.alt in said(call)
    logged = caplog.get_records("setup") + caplog.get_records("call")  # at start, and since
    said_so = [r for r in logged if "COULISSE_PUBLIC_URL is not set" in r.getMessage()]
    assert len(said_so) == 1
