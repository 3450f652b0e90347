"""The extreme case through the real Teams stack (Bot Framework activities over HTTP into
`coulisse serve`, the fake connector behind): 40 people, 60 answers of 2,000 characters, 60
themes of about 100 characters, 25 actors, 40 links among 30 factors, 30 commitments of the
longest text allowed. Every activity the connector receives stays within bot/teams/limits.py
(bytes as sent, actions per ActionSet, labels, error messages, fallback texts) and the Adaptive
Cards 1.5 schema, nothing people wrote is lost on the way, the ballot page clicked keeps all its
buttons, and a message longer than an answer may be gets the polite refusal and stores nothing.

The twin of tests/test_slack_extreme.py: the set-up goes through the core where the platform path
is not what is tested; the installation, what people see (the reveals, the ballot, the map, the
owner's list), the vote and the messages in the 1:1 chat go through Teams."""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator

import pytest

from bot.teams import limits
from handlers import votes
from handlers.context import MAX_TEXT
from handlers.messages import Actor, Command, Event, FormSubmitted, Place
from prompts.catalog import t
from tests.conftest import eventually
from tests.fake_connector import Call, FakeConnector
from tests.teams_fixtures import (
    TEAM,
    TENANT,
    TeamsStack,
    card_problems,
    card_validator,
    fake_connector,
    serving,
)
from tests.test_same_words import strings
from tests.test_slack_extreme import checkin_answers, factor, long_title, overview_forms, words
from tests.test_teams import actions, card_of, sent_to

PEOPLE = [f"29:P{n:02d}" for n in range(1, 41)]
COORDINATOR, OWNER = PEOPLE[0], PEOPLE[1]


@pytest.fixture
async def stack(database_url: str) -> AsyncIterator[TeamsStack]:
    async with fake_connector() as fake:
        fake.members[TEAM] = [
            {"id": uid, "name": f"Deelnemer {uid[3:]}", "aadObjectId": f"aad-{uid[3:]}"}
            for uid in PEOPLE
        ]
        async with serving(database_url, fake) as running:
            yield running


def card_words(calls: list[Call]) -> list[str]:
    """The words of the cards' bodies, in order (not their fallback texts)."""
    return [
        word
        for call in calls
        for a in call.body.get("attachments", [])
        for text in strings(a.get("content", {}).get("body", []))
        for word in text.split()
    ]


def in_order(text: str, shown: list[str]) -> bool:
    """Every word of `text`, whole, in this order among what was shown."""
    found = iter(shown)
    return all(word in found for word in text.split())


def said_in(fake: FakeConnector, conversation: str) -> list[str]:
    return [s for call in fake.of("send", conversation) for s in strings(call.body)]


async def test_the_extreme_case_stays_within_teams_limits(stack: TeamsStack) -> None:
    started = time.monotonic()
    app, fake, c = stack.app, stack.connector, stack.client
    place = Place("channel", TEAM, "wijkteam-noord")
    rng = random.Random(2028)

    def actor(user: str) -> Actor:
        return Actor("teams", TENANT, user, f"Deelnemer {user[3:]}")

    async def core(event: Event) -> None:
        done = await app.coulisse.handle(event)
        assert not done.refused, done.messages

    async def as_coordinator(name: str, args: str = "") -> None:
        await core(Command(name, actor(COORDINATOR), place, args))

    assert await c.install(COORDINATOR) == 200  # the roster of 40 joins with the installation
    await sent_to(fake, TEAM, "doet vanaf nu mee")
    values = {"title": "Noord", "question": "Hoe voorkomen we lange wachttijden?",
              "format": "regie", "members": ",".join(PEOPLE[1:])}  # fmt: skip
    await core(FormSubmitted("new_session", values, actor(COORDINATOR), place))
    await as_coordinator("start")  # check-in: the question to all 40 in their 1:1 chat
    await eventually(lambda: len(fake.of("create")) == len(PEOPLE))

    # A message longer than an answer may be: the refusal in the person's language; nothing kept.
    too_long = words(rng, MAX_TEXT + 1)
    assert await c.say("29:P03", fake.chat_of("29:P03"), too_long) == 200
    refusal = t("nl", "errors.too_long", length=MAX_TEXT + 1, limit=MAX_TEXT)
    await eventually(lambda: any(refusal in s for s in said_in(fake, fake.chat_of("29:P03"))))
    longest = words(rng, MAX_TEXT)  # the longest answer there is: stored
    assert await c.say("29:P04", fake.chat_of("29:P04"), longest) == 200
    stored = t("nl", "contributions.stored_anonymous", category="")
    await eventually(lambda: any(stored in s for s in said_in(fake, fake.chat_of("29:P04"))))
    assert await checkin_answers(app) == [longest]

    await as_coordinator("next")  # the check-in's reveal; the overview round opens
    for form, values, who in overview_forms(rng, PEOPLE):
        await core(FormSubmitted(form, values, actor(who), place))

    await as_coordinator("next")  # the actor map and force field; the iceberg opens
    answers = [words(rng, 2000) for _ in range(60)]
    for n, answer in enumerate(answers):
        await core(Command("add", actor(PEOPLE[n % 40]), place, answer))
    await as_coordinator("next")  # the iceberg's reveal; systemic questions
    await as_coordinator("next")  # causal links
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < 40:
        a, b = rng.sample(range(30), 2)
        pairs.add((a, b))
    lines = [f"{factor(a)} -> {'+' if (a + b) % 2 else '-'}{factor(b)}" for a, b in sorted(pairs)]
    for start in range(0, len(lines), 10):  # ten lines an answer: within 3,000 characters
        await core(
            Command("add", actor(PEOPLE[start]), place, "\n".join(lines[start : start + 10]))
        )
    before_map = len(fake.of("send", TEAM))
    await as_coordinator("next")  # the map; the themes
    used = {n for pair in pairs for n in pair}

    def on_the_map() -> bool:  # every factor linked, by its whole name (as text: no public URL)
        shown = " ".join(
            s for call in fake.of("send", TEAM)[before_map:] for s in strings(call.body)
        )
        return all(factor(n).strip() in shown for n in used)

    await eventually(on_the_map)
    for n in range(1, 61):
        await as_coordinator("rename", f"{n} {long_title(n)}")
    await as_coordinator("next")  # the ballot's pages

    def ballot_pages() -> list[Call]:
        sent = [call for call in fake.of("send", TEAM) if call.body.get("attachments")]
        return [call for call in sent if actions(card_of(call), action="vote")]

    await eventually(lambda: len(ballot_pages()) == 60 // votes.THEMES_PER_PAGE)
    last = ballot_pages()[-1]
    buttons = actions(card_of(last), action="vote")
    assert len({b["data"]["value"].split(":")[1] for b in buttons}) == votes.THEMES_PER_PAGE
    status, body = await c.execute("29:P06", c.channel(), last.answered, buttons[0])
    assert status == 200 and body["statusCode"] == 200
    await eventually(lambda: len(fake.of("update", TEAM)) >= 1)
    await stack.teams.adapter.updates.settle()
    update = fake.of("update", TEAM)[-1]
    assert update.activity_id == last.answered
    kept = [b["data"] for b in actions(card_of(update))]
    assert kept == [b["data"] for b in actions(card_of(last))]  # every button, still there
    assert len(kept) >= votes.THEMES_PER_PAGE and update.body != last.body  # the dot counted

    await as_coordinator("next")  # commitments
    for _ in range(30):
        made = {"text": words(rng, MAX_TEXT), "due": "2099-02-01", "mode": "co_produce"}
        await core(FormSubmitted("commit", made, actor(OWNER), place))
    # The owner's list in their chat: all 30 commitments, each with its check-in buttons.
    mine_before = len(fake.of("send", fake.chat_of(OWNER)))
    assert await c.say(OWNER, fake.chat_of(OWNER), "mijn") == 200

    def listed() -> set[str]:
        return {
            str(b["data"]["value"]).split(":")[0]
            for call in fake.of("send", fake.chat_of(OWNER))[mine_before:]
            if call.body.get("attachments")
            for b in actions(card_of(call), action="checkin")
        }

    await eventually(lambda: len(listed()) == 30)

    await as_coordinator("next")  # the commitments' reveal; the session closes: its summary
    await sent_to(fake, TEAM, t("nl", "summary.heading", title="Noord"))

    channel = [call for call in fake.calls if call.conversation == TEAM and call.method == "send"]
    shown = card_words(channel)
    for text in [*answers, longest]:  # every answer, its words whole and in order, revealed
        assert in_order(text, shown)
    assert too_long.split()[0] not in shown

    validator = card_validator()
    sent = [call for call in fake.calls if call.method in ("send", "update")]
    assert fake.invalid == []
    assert all(0 < call.size <= limits.MESSAGE_BYTES.value for call in sent)
    assert all(call.size == len(limits.encode(call.body)) for call in sent)
    assert {n: p for n, call in enumerate(sent) if (p := limits.problems(call.body))} == {}
    assert {
        n: p for n, card in enumerate(fake.cards()) if (p := card_problems(validator, card))
    } == {}
    print(
        f"\n{len(sent)} activities checked, largest {max(call.size for call in sent)} bytes, "
        f"{time.monotonic() - started:.1f} s"
    )
