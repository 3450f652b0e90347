"""The same words do the same thing everywhere: one table of typed inputs goes through Slack
(signed HTTP), Teams (real activities) and the console, and each has the same effect on every
platform: stored state and the catalog text of the answer (in either language)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.clock import ManualClock
from bot.console.adapter import Console
from bot.wiring import App
from handlers.messages import Actor, Command, FormSubmitted, Place
from prompts.catalog import LANGUAGES, raw_catalog, t
from tests.conftest import SlackStack, eventually
from tests.teams_fixtures import TEAM, TENANT, TeamsStack, serving
from tests.teams_fixtures import fake_connector as teams_connector

STORED = "contributions.stored"
# What each kind of answer says; the reply is recognised by its catalog text in nl or en.
ANSWERS = (
    "people.paused", "help.heading", "people.language_set", STORED, "help.unknown",
    "people.settings_heading",
)  # fmt: skip
SAME = {f"{STORED}_anonymous": STORED}  # an answer is stored, with or without a name shown


@dataclass(frozen=True)
class Effect:
    reply: str  # the catalog key of the answer
    paused: bool = False
    lang: str = "nl"
    answers: int = 0  # answers stored for the open round


TABLE: list[tuple[str, Effect]] = [
    ("pauze", Effect("people.paused", paused=True)),
    ("pause", Effect("people.paused", paused=True)),
    ("hulp", Effect("help.heading")),
    ("help", Effect("help.heading")),
    ("taal en", Effect("people.language_set", lang="en")),
    ("/taal en", Effect("people.language_set", lang="en")),
    ("stop: te veel overleg", Effect(STORED, answers=1)),
    ("pauze nemen zou ons allemaal helpen", Effect(STORED, answers=1)),  # starts with a word
    ("   ", Effect("help.heading")),
    ("instellingen", Effect("people.settings_heading")),  # a command added by its module alone
]


def strings(value: Any) -> list[str]:
    """Every string in a JSON-like value (Block Kit, an Adaptive Card)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def fixed_words(lang: str, key: str) -> str:
    """The longest stretch of a catalog text without placeholders: what every rendering of it
    says word for word (a lone quote mark would match anything)."""
    return max(re.split(r"\{[{%].*?[%}]\}", raw_catalog(lang)[key]), key=len)


def answer_key(said: str) -> str | None:
    """Which answer of ANSWERS this is (catalog text in either language)."""
    said = " ".join(said.split())
    for key in (*ANSWERS, *SAME):
        for lang in LANGUAGES:
            if " ".join(fixed_words(lang, key).split()) in said:
                return SAME.get(key, key)
    return None


async def setup_team(
    app: App, platform: str, workspace: str, users: list[str], channel: str
) -> None:
    """A team with a running retro (its check-in round open), set up through the core."""
    place = Place("channel", channel, "noord")

    def actor(user: str) -> Actor:
        return Actor(platform, workspace, user, user)

    for user in users:
        await app.coulisse.handle(Command("join", actor(user), place))
    values = {"title": "Noord", "question": "Wat nu?", "format": "retro",
              "members": ",".join(users[1:])}  # fmt: skip
    made = await app.coulisse.handle(FormSubmitted("new_session", values, actor(users[0]), place))
    assert not made.refused, made.messages
    started = await app.coulisse.handle(Command("start", actor(users[0]), place))
    assert not started.refused, started.messages


async def state_of(app: App, platform: str, workspace: str, user: str) -> tuple[bool, str, int]:
    async with app.uow() as uow:
        ws = await uow.directory.workspace(platform, workspace)
        assert ws is not None and ws.id is not None
        person = await uow.directory.person_by_platform_id(ws.id, user)
        assert person is not None and person.id is not None
        opened = await uow.sessions.open_round((await uow.directory.teams_of(person.id))[0].id or 0)
        assert opened is not None
        stored = await uow.sessions.contributions([opened[1].id or 0])
        mine = [c for c in stored if c.author_id == person.id]
    return person.nudges_paused, person.locale, len(mine)


Send = Callable[[int, str], Awaitable[str | None]]  # row, text -> the answer's catalog key


async def run_table(app: App, platform: str, workspace: str, user: Callable[[int], str],
                    send: Send) -> list[Effect]:  # fmt: skip
    effects = []
    for row, (text, _expected) in enumerate(TABLE):
        key = await send(row, text)
        assert key is not None, (platform, text)
        paused, lang, answers = await state_of(app, platform, workspace, user(row))
        effects.append(Effect(key, paused, lang, answers))
    return effects


async def first_answer(said: Callable[[], list[str]], request: Awaitable[int]) -> str:
    """Send the request over HTTP, then wait for the first known answer among what is said
    from then on (a round question sent late through the outbox is no answer)."""
    before = len(said())
    assert await request == 200
    found: list[str] = []

    def answered() -> bool:
        found[:] = [k for m in said()[before:] if (k := answer_key(m))]
        return bool(found)

    await eventually(answered)
    return found[0]


def expected() -> list[Effect]:
    return [effect for _text, effect in TABLE]


async def test_the_table_through_slack(slack_stack: SlackStack) -> None:
    api, s = slack_stack.api, slack_stack.slack
    users = ["U0", *(f"U{row + 1}" for row in range(len(TABLE)))]
    await setup_team(slack_stack.app, "slack", "T1", users, "C1")

    def said_to(user: str) -> list[str]:
        posts = api.of("chat.postMessage") + api.of("chat.postEphemeral")
        return ["\n".join(strings(p)) for p in posts
                if p["channel"] == f"D{user}"]  # fmt: skip

    async def send(row: int, text: str) -> str | None:
        user = users[row + 1]
        return await first_answer(lambda: said_to(user), s.dm(user, text))

    effects = await run_table(slack_stack.app, "slack", "T1", lambda r: users[r + 1], send)
    assert effects == expected()


async def test_the_table_through_teams(database_url: str) -> None:
    async with teams_connector() as fake, serving(database_url, fake) as stack:
        await _teams_table(stack)


async def _teams_table(stack: TeamsStack) -> None:
    fake, c = stack.connector, stack.client
    users = ["29:U0", *(f"29:T{row + 1}" for row in range(len(TABLE)))]
    await setup_team(stack.app, "teams", TENANT, users, TEAM)

    def said_in(chat: str) -> list[str]:
        return ["\n".join(strings(call.body)) for call in fake.of("send", chat)]

    async def send(row: int, text: str) -> str | None:
        chat = f"a:personal:{users[row + 1]}"
        return await first_answer(lambda: said_in(chat), c.say(users[row + 1], chat, text))

    effects = await run_table(stack.app, "teams", TENANT, lambda r: users[r + 1], send)
    assert effects == expected()


async def test_the_table_through_the_console(app: App, clock: ManualClock) -> None:
    printed: list[str] = []
    console = Console(app, clock, printed.append, team="noord", lang="nl")
    names = ["Sanne", *(f"P{row + 1}" for row in range(len(TABLE)))]
    for name in names:
        await console.handle_line(f"/as {name}")
    await console.handle_line("/as Sanne")
    await console.handle_line("/nieuw Noord ; Wat nu? ; retro")
    await console.handle_line("/start")

    async def send(row: int, text: str) -> str | None:
        await console.handle_line(f"/as {names[row + 1]}")
        printed.clear()
        await console.handle_line(text)
        shown = " ".join(line.strip() for line in printed)
        return answer_key(shown)

    effects = await run_table(app, "console", "local", lambda r: names[r + 1].casefold(), send)
    assert effects == expected()


def test_the_rule_can_fail() -> None:
    """The comparison sees a different effect: an answer is not a pause."""
    assert Effect(STORED, answers=1) != Effect("people.paused", paused=True)
    assert answer_key(t("en", "people.paused")) == "people.paused"
    assert answer_key("iets anders") is None
