"""A long ballot is a sequence of pages, each a message with its own themes and buttons: a vote
replaces exactly the page that holds its theme, whole, on Slack (chat.update of the message
clicked) and on Teams (the card clicked is updated). With 60 themes of about 100 characters
the single ballot of before was split over two Slack messages, and a vote put the first part,
without buttons, in place of the message clicked."""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

import pytest

from bot.slack import blocks as slack_blocks
from bot.teams import cards as teams_cards
from bot.wiring import App
from handlers import votes
from handlers.messages import Actor, Command, FormSubmitted, Place
from handlers.model import Round, RoundKind, Session, Theme
from prompts.catalog import t
from tests.conftest import SlackStack, eventually
from tests.fake_connector import Call as TeamsCall
from tests.slack_limits import (
    message_problems,
    within_slack_limits,  # noqa: F401 (the fixture below)
)
from tests.teams_fixtures import PEOPLE, TEAM, TENANT, serving
from tests.teams_fixtures import fake_connector as teams_connector
from tests.test_teams import actions, answer, card_of

pytestmark = pytest.mark.usefixtures("within_slack_limits")

THEMES = 60
PAGES = -(-THEMES // votes.THEMES_PER_PAGE)
CLICKED = 35  # a theme on the fourth page


def title(n: int) -> str:
    """About 100 characters, plain words (nothing to escape)."""
    words = (
        "Samenwerking tussen wijkteam huisarts en school rond wachttijden voor gezinnen in Noord"
    )
    return f"{n:02d} {words} en verder"[:100]


def unrelated(rng: random.Random, words: int = 12) -> str:
    """An answer sharing no word with any other: each becomes a theme of its own."""
    return " ".join(
        "".join(rng.choice("bcdfghjklmnpqrstvwz") for _ in range(9)) for _ in range(words)
    )


async def long_ballot(
    app: App, platform: str, workspace: str, users: list[str], channel: str
) -> None:
    """Through the core: a session of one reflection round, grouping and voting; 60 answers
    become 60 themes, renamed to about 100 characters; the vote round opens."""
    place = Place("channel", channel, "noord")

    def actor(user: str) -> Actor:
        return Actor(platform, workspace, user, user)

    async def ok(event: Any) -> None:
        done = await app.coulisse.handle(event)
        assert not done.refused, done.messages

    for user in users:
        await ok(Command("join", actor(user), place))
    rounds = "start-stop-continue group vote"
    values = {"title": "Noord", "question": "Wat nu?", "format": "custom", "rounds": rounds,
              "members": ",".join(users[1:])}  # fmt: skip
    await ok(FormSubmitted("new_session", values, actor(users[0]), place))
    await ok(Command("start", actor(users[0]), place))
    rng = random.Random(7)
    for n in range(THEMES):
        await ok(Command("add", actor(users[n % len(users)]), place, unrelated(rng)))
    await ok(Command("next", actor(users[0]), place))  # grouping: one theme per answer
    for n in range(1, THEMES + 1):
        await ok(Command("rename", actor(users[0]), place, f"{n} {title(n)}"))
    await ok(Command("next", actor(users[0]), place))  # the vote opens: the ballot's pages


def values_of(blocks: list[dict[str, Any]]) -> list[str]:
    return [e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def theme_values(first: int, last: int, round_id: str) -> list[str]:
    return [f"{round_id}:{n}" for n in range(first, last + 1)]


async def test_a_vote_on_slack_updates_its_page_with_every_button(slack_stack: SlackStack) -> None:
    api, s = slack_stack.api, slack_stack.slack
    await long_ballot(slack_stack.app, "slack", "T1", ["U1", "U2", "U3", "U4", "U5"], "C1")

    def pages() -> list[Any]:
        """The ballot's pages in the channel, as posted (with the ts the fake gave each)."""
        return [
            c
            for c in api.calls
            if c.method == "chat.postMessage"
            and c.params["channel"] == "C1"
            and any(
                e["action_id"].startswith("vote#")
                for b in c.params["blocks"]
                if b["type"] == "actions"
                for e in b["elements"]
            )
        ]

    await eventually(lambda: len(pages()) == PAGES)
    round_id = values_of(pages()[0].params["blocks"])[0].split(":")[0]
    per = votes.THEMES_PER_PAGE
    for number, page in enumerate(pages()):  # in order, each with its own ten buttons
        first = number * per + 1
        assert values_of(page.params["blocks"]) == theme_values(first, first + per - 1, round_id)
    clicked = pages()[(CLICKED - 1) // per]
    button = next(
        e
        for b in clicked.params["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["value"] == f"{round_id}:{CLICKED}"
    )
    assert await s.click("U2", button["action_id"], button["value"], message_ts=clicked.ts) == 200
    await eventually(lambda: len(api.of("chat.update")) == 1)
    updated = api.of("chat.update")[0]
    assert updated["ts"] == clicked.ts and updated["channel"] == "C1"
    assert values_of(updated["blocks"]) == values_of(clicked.params["blocks"])  # all still there
    texts = [b["text"]["text"] for b in updated["blocks"] if b["type"] == "section"]
    assert t("nl", "votes.line", number=CLICKED, title=title(CLICKED), dots=1) in texts
    assert t("nl", "votes.line", number=CLICKED + 1, title=title(CLICKED + 1), dots=0) in texts
    cast = t("nl", "votes.cast", number=CLICKED, title=title(CLICKED), dots=1, left=2)
    await eventually(lambda: [p["text"] for p in api.of("chat.postEphemeral")] == [cast])


async def test_a_vote_on_teams_updates_its_card_with_every_button(database_url: str) -> None:
    async with teams_connector() as fake, serving(database_url, fake) as stack:
        c = stack.client
        assert await c.install() == 200  # the team and where its channel is reached
        await long_ballot(stack.app, "teams", TENANT, list(PEOPLE), TEAM)

        def pages() -> list[TeamsCall]:
            return [call for call in fake.of("send", TEAM) if actions(card_of(call), action="vote")]

        await eventually(lambda: len(pages()) == PAGES)

        def buttons(card: dict[str, Any]) -> list[str]:
            return [a["data"]["value"] for a in actions(card, action="vote")]

        round_id = buttons(card_of(pages()[0]))[0].split(":")[0]
        per = votes.THEMES_PER_PAGE
        for number, page in enumerate(pages()):
            first = number * per + 1
            assert buttons(card_of(page)) == theme_values(first, first + per - 1, round_id)
        clicked = pages()[(CLICKED - 1) // per]
        vote = next(
            a
            for a in actions(card_of(clicked), action="vote")
            if a["data"]["value"].endswith(f":{CLICKED}")
        )
        status, body = await c.execute("29:U2", c.channel(), clicked.answered, vote)
        assert status == 200
        assert answer(body) == t(
            "nl", "votes.cast", number=CLICKED, title=title(CLICKED), dots=1, left=2
        )
        await stack.teams.adapter.updates.settle()
        updates = fake.of("update", TEAM)
        assert [u.activity_id for u in updates] == [clicked.answered]
        updated = card_of(updates[0])
        assert updated["type"] == "AdaptiveCard"
        assert buttons(updated) == buttons(card_of(clicked))  # every Action.Execute still there
        assert all(a["type"] == "Action.Execute" for a in actions(updated, action="vote"))
        line = t("nl", "votes.line", number=CLICKED, title=title(CLICKED), dots=1)
        assert line in json.dumps(updated, ensure_ascii=False)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("&<>" * 40, id="120 characters to escape (a rename's longest)"),
        pytest.param("Samenwerking " * 19 + "en", id="255 characters (the column's longest)"),
    ],
)
def test_a_page_is_one_slack_message_and_one_teams_card(name: str) -> None:
    session = Session(1, "Noord", "Wat nu?", "custom", 1, vote_budget=99)
    vote_round = Round(1, 3, RoundKind.VOTE, "vote", id=7)
    themes = [Theme(1, name, position=n, id=n) for n in range(1, THEMES + 1)]
    counts = Counter({n: 999 for n in range(1, THEMES + 1)})
    made = votes.pages(session, vote_round, 3, themes, counts)
    assert len(made) == PAGES
    for page in made:
        parts = slack_blocks.render(page)
        assert len(parts) == 1 and message_problems({"text": "x", "blocks": parts[0]}) == []
        assert len(teams_cards.render(page)) == 1
