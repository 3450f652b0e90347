"""The extreme case through the real Slack stack (signed HTTP into `coulisse serve`, the fake
Web API): 40 people, 60 answers of 2,000 characters, 60 themes of about 100 characters, 25
actors, 40 links among 30 factors, 30 commitments of the longest text allowed. Every payload
stays within bot/slack/limits.py (the fake refuses what Slack would; `within_slack_limits`
fails the test on anything over), nothing people wrote is lost on the way, and a DM longer
than an answer may be gets the polite refusal and stores nothing.

The set-up goes through the core where the platform path is not what is tested; what people
see, and the forms, buttons and Home they use, go through Slack."""

from __future__ import annotations

import json
import random
import re
from typing import Any

import pytest

from bot.slack import limits as lim
from bot.wiring import App
from handlers import votes
from handlers.context import MAX_TEXT
from handlers.messages import Actor, Command, Event, FormSubmitted, Place
from handlers.model import RoundKind
from prompts.catalog import t
from tests.conftest import SlackStack, eventually
from tests.slack_limits import within_slack_limits  # noqa: F401 (the fixture below)
from tests.test_slack import modal, said

pytestmark = pytest.mark.usefixtures("within_slack_limits")

PEOPLE = [f"U{n:02d}" for n in range(1, 41)]
COORDINATOR, OWNER = PEOPLE[0], PEOPLE[1]
LETTERS = "bcdfghjklmnpqrstvwz"


def words(rng: random.Random, length: int) -> str:
    """Words no other answer shares (each answer becomes a theme of its own), `length` long."""
    text = ""
    while len(text) < length:
        text += "".join(rng.choice(LETTERS) for _ in range(9)) + " "
    return text[: length - 1] + "x"


async def checkin_answers(app: App) -> list[str]:
    """What the team's running session stored in its check-in round."""
    async with app.uow() as uow:
        session = await uow.sessions.current_for_team(1)
        assert session is not None
        rounds = {r.kind: r for r in await uow.sessions.rounds(session.id or 0)}
        checkin = await uow.sessions.contributions([rounds[RoundKind.CHECKIN].id or 0])
    return [c.text for c in checkin]


def overview_forms(rng: random.Random, people: list[str]) -> list[tuple[str, dict[str, str], str]]:
    """25 actors and 30 forces at their longest: (form, values, who submits it)."""
    forms = []
    for n in range(25):
        values = {"name": f"Actor {n:02d} " + "x" * 188, "organisation": "o" * 200,
                  "interest": words(rng, 1000), "influence": str(n % 5 + 1),
                  "stance": "supportive"}  # fmt: skip
        forms.append(("actor", values, people[n % 40]))
    for n in range(30):
        values = {"text": words(rng, MAX_TEXT), "strength": str(n % 5 + 1),
                  "direction": "restraining" if n % 2 else "driving"}  # fmt: skip
        forms.append(("force", values, people[n]))
    return forms


def factor(n: int) -> str:
    return f"Factor {n:02d} " + "wachttijd bij de huisarts en druk op het wijkteam " * 2


def long_title(n: int) -> str:
    return f"{n:02d} Samenwerking tussen wijkteam, huisarts en school rond wachttijden in Noord"


def texts(node: Any) -> list[str]:
    """Every `text` string in blocks (sections, headers, fields, contexts, buttons)."""
    if isinstance(node, list):
        return [s for item in node for s in texts(item)]
    if not isinstance(node, dict):
        return []
    found: list[str] = []
    for key, value in node.items():
        if key == "text" and isinstance(value, str):
            found.append(value)
        else:
            found += texts(value)
    return found


def channel_text(stack: SlackStack) -> str:
    """Everything said in the channel, unescaped, without whitespace and quote marks."""
    posts = [p["blocks"] for p in stack.api.of("chat.postMessage") if p["channel"] == "C1"]
    joined = "".join(re.sub(r"(?m)^> ", "", text) for text in texts(posts))
    plain = joined.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return re.sub(r"\s+", "", plain)


async def test_the_extreme_case_stays_within_slacks_limits(slack_stack: SlackStack) -> None:
    app, api, s = slack_stack.app, slack_stack.api, slack_stack.slack
    place = Place("channel", "C1", "wijkteam-noord")
    rng = random.Random(2027)

    def actor(user: str) -> Actor:
        return Actor("slack", "T1", user, f"Deelnemer {user}")

    async def core(event: Event) -> None:
        done = await app.coulisse.handle(event)
        assert not done.refused, done.messages

    async def as_coordinator(name: str, args: str = "") -> None:
        await core(Command(name, actor(COORDINATOR), place, args))

    for user in PEOPLE:
        await core(Command("join", actor(user), place))
    values = {"title": "Noord", "question": "Hoe voorkomen we lange wachttijden?",
              "format": "regie", "members": ",".join(PEOPLE[1:])}  # fmt: skip
    await core(FormSubmitted("new_session", values, actor(COORDINATOR), place))
    await as_coordinator("start")  # check-in: the question to all 40 by DM
    await eventually(lambda: len(api.of("conversations.open")) == len(PEOPLE))

    # A DM longer than an answer may be: the refusal, in the person's language; nothing stored.
    too_long = words(rng, MAX_TEXT + 1)
    assert await s.dm("U03", too_long) == 200
    refusal = t("nl", "errors.too_long", length=MAX_TEXT + 1, limit=MAX_TEXT)

    def dms_to(user: str) -> list[str]:
        return said([p for p in api.of("chat.postMessage") if p["channel"] == f"D{user}"])

    await eventually(lambda: refusal in dms_to("U03"))
    longest = words(rng, MAX_TEXT)  # the longest answer there is: stored
    assert await s.dm("U04", longest) == 200
    stored = t("nl", "contributions.stored_anonymous", category="")
    await eventually(lambda: stored in dms_to("U04"))
    assert await checkin_answers(app) == [longest]

    await as_coordinator("next")  # the check-in's reveal; the overview round opens
    for form, values, who in overview_forms(rng, PEOPLE):
        await core(FormSubmitted(form, values, actor(who), place))
    # The force form, from the button in a DM, opens as a modal within a modal's limits.
    assert await s.click("U05", "form#0", json.dumps({"form": "force", "context": ""}),
                         channel="DU05") == 200  # fmt: skip
    force_view = await modal(slack_stack, 1)
    assert force_view["callback_id"].startswith("force|")

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
    await as_coordinator("next")  # the map, with its picture; the themes
    for n in range(1, 61):
        await as_coordinator("rename", f"{n} {long_title(n)}")
    await as_coordinator("next")  # the ballot's pages

    def ballot_pages() -> list[Any]:
        return [
            c
            for c in api.calls
            if c.method == "chat.postMessage"
            and c.params["channel"] == "C1"
            and "vote#" in json.dumps(c.params["blocks"])
        ]

    await eventually(lambda: len(ballot_pages()) == 60 // votes.THEMES_PER_PAGE)
    last = ballot_pages()[-1]
    button = next(e for b in last.params["blocks"] if b["type"] == "actions" for e in b["elements"])
    assert await s.click("U06", button["action_id"], button["value"], message_ts=last.ts) == 200
    await eventually(lambda: len(api.of("chat.update")) == 1)
    update = api.of("chat.update")[0]
    kept = [e["value"] for b in update["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert update["ts"] == last.ts and len(kept) == votes.THEMES_PER_PAGE

    await as_coordinator("next")  # commitments
    for _ in range(30):
        made = {"text": words(rng, MAX_TEXT), "due": "2099-02-01", "mode": "co_produce"}
        await core(FormSubmitted("commit", made, actor(OWNER), place))
    assert await s.command(OWNER, "commit") == 200  # the commitment form as a modal
    commit_view = await modal(slack_stack, 2)
    text_input = next(b["element"] for b in commit_view["blocks"] if b["block_id"] == "text")
    assert text_input["max_length"] == MAX_TEXT <= lim.TEXT_INPUT_MAX.value
    # The owner's App Home: all 30 commitments with their check-in buttons, in 100 blocks.
    assert await s.event({"type": "app_home_opened", "user": OWNER, "tab": "home"}) == 200
    await eventually(lambda: len(api.of("views.publish")) == 1)
    home = api.of("views.publish")[0]["view"]
    check_ins = [b for b in home["blocks"] if b["type"] == "actions"]
    assert len(check_ins) == 30 and len(home["blocks"]) <= lim.BLOCKS_PER_VIEW.value

    await as_coordinator("next")  # the commitments' reveal; the session closes: its summary
    summary = re.sub(r"\s+", "", t("nl", "summary.heading", title="Noord"))
    await eventually(lambda: summary in channel_text(slack_stack), timeout=30)

    shown = channel_text(slack_stack)
    for text in [*answers, longest]:  # every answer, whole, in the reveals
        assert re.sub(r"\s+", "", text) in shown
    assert too_long.replace(" ", "") not in shown
    assert api.refused == [] and api.over_limits == []
    messages = [p for p in api.of("chat.postMessage") if p["channel"] == "C1"]
    assert max(lim.text_length(p["blocks"]) for p in messages) <= lim.MESSAGE_TEXT.value
    assert max(len(p["blocks"]) for p in messages) <= lim.BLOCKS_PER_MESSAGE.value
