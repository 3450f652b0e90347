"""The retro's discuss step: after the vote the chosen themes are talked through one by one,
each a message of its own in the channel (its thread on Slack, its replies on Teams), a
timebox each in a live session, before the commitments; and merged themes keep their
categories. On SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from bot.clock import ManualClock
from bot.wiring import App
from handlers.discussion import TIMEBOX
from handlers.messages import (
    ActionTaken,
    Actor,
    Choices,
    Command,
    Event,
    FormSubmitted,
    Place,
    Typed,
)
from handlers.model import RoundKind, SessionMode
from prompts.catalog import t
from prompts.formats import formats
from tests.conftest import SlackStack, eventually
from tests.driver import Driver, Sent, started_session
from tests.teams_fixtures import TEAM, fake_connector, serving
from tests.test_teams import actions, answer, card_of, count, said, sent_to, setup_session


def test_the_classic_retros_discuss_after_the_vote_and_before_committing() -> None:
    for key in ("retro", "four-ls", "glad-sad-mad"):
        kinds = [r.kind for r in formats()[key].rounds]
        assert kinds[kinds.index("vote") + 1 :] == ["discuss", "commit"], key


async def to_the_vote(d: Driver) -> None:
    """A retro up to its vote: three themes (stop, start, continue)."""
    await started_session(d)
    await d.cmd("Sanne", "next")  # the check-in closes, Start/Stop/Continue opens
    await d.cmd("Ahmed", "add", "stop: de lange overleggen over de wachtlijst")
    await d.cmd("Fleur", "add", "start: één intake voor alle gezinnen")
    await d.cmd("Joost", "add", "doorgaan: samen lunchen")
    await d.cmd("Sanne", "next")  # the themes
    await d.cmd("Sanne", "next")  # the vote
    await d.deliver()


def discussed(sent: list[Sent]) -> list[Sent]:
    return [s for s in sent if s.kind == "discuss"]


def button(sent: Sent) -> tuple[str, str]:
    action = next(a for b in sent.message.blocks if isinstance(b, Choices) for a in b.actions)
    return action.id, action.value


async def test_live_the_themes_come_one_by_one_each_with_its_time(
    app: App, clock: ManualClock
) -> None:
    d = Driver(app)
    await to_the_vote(d)
    await d.cmd("Ahmed", "vote", "2 2")  # "stop" (theme 2) gets the most dots
    await d.cmd("Fleur", "vote", "1")  # "start" (theme 1) one
    await d.cmd("Sanne", "next")  # the results, then the discussion opens
    sent = await d.deliver()
    kinds = [s.kind for s in sent]
    assert kinds.index("reveal") < kinds.index("discuss")  # the results first
    opened = next(s for s in sent if s.kind == "round-open")
    assert t("nl", "rounds.opened", position=5, total=6, title="Bespreken") in opened.text
    assert t("nl", "themes.discuss_live", count=2, minutes=10) in opened.text
    # Only the first theme now, as a message of its own in the channel, with its words.
    first = discussed(sent)
    assert len(first) == 1 and first[0].to.kind == "channel"
    assert first[0].text.startswith(
        t("nl", "themes.discuss_heading", number=1, count=2,
          title="de lange overleggen over de wachtlijst", dots=2, labels="Stop")
    )  # fmt: skip
    assert "de lange overleggen over de wachtlijst" in first[0].text.split("\n")[1]  # its words
    assert not [s for s in sent if s.kind == "round_prompt"]  # nothing to answer by DM

    # The timebox: the second theme comes when the first has had its ten minutes.
    clock.advance(TIMEBOX - timedelta(minutes=1))
    assert discussed(await d.deliver()) == []
    clock.advance(timedelta(minutes=1))
    second = discussed(await d.deliver())
    assert len(second) == 1 and "één intake" in second[0].text
    assert second[0].text.split("\n")[0].endswith("· Start")

    # A participant cannot move the discussion on; the coordinator can, before time is up.
    action_id, value = button(second[0])
    refused = await app.coulisse.handle(ActionTaken(action_id, value, d.actor("Joost"), d.place))
    assert refused.refused and d.text(refused.messages) == t("nl", "errors.coordinators_only")
    assert await d.action("Sanne", action_id, value) == t("nl", "themes.discuss_over")
    end = discussed(await d.deliver())
    assert [s.text for s in end] == [t("nl", "themes.discuss_time_up")]

    # Then the commitments.
    await d.cmd("Sanne", "next")
    sent = await d.deliver()
    commit_open = next(s for s in sent if s.kind == "round-open")
    assert t("nl", "rounds.opened", position=6, total=6, title="Afspraken") in commit_open.text
    async with app.uow() as uow:
        rounds = await uow.sessions.rounds(1)
        assert [r.kind for r in rounds if r.status.value == "open"] == [RoundKind.COMMIT]


async def test_moving_on_early_brings_the_next_theme_and_a_closed_round_posts_no_more(
    app: App, clock: ManualClock
) -> None:
    d = Driver(app)
    await to_the_vote(d)
    for who, theme in (("Ahmed", "1"), ("Fleur", "2"), ("Joost", "3")):
        await d.cmd(who, "vote", theme)
    await d.cmd("Sanne", "next")
    first = discussed(await d.deliver())
    assert len(first) == 1
    action_id, value = button(first[0])
    assert await d.action("Sanne", action_id, value) == t("nl", "themes.discuss_moved_on")
    second = discussed(await d.deliver())
    assert len(second) == 1 and second[0].text != first[0].text
    # The coordinator goes on to the commitments: the third theme and the closing note,
    # still waiting, never come.
    await d.cmd("Sanne", "next")
    clock.advance(TIMEBOX * 4)
    assert discussed(await d.deliver()) == []
    async with app.uow() as uow:
        pending = [r.dedupe_key for r in await uow.outbox.pending()]
    assert not [k for k in pending if k.startswith("discuss:")]


async def test_async_every_theme_at_once_without_a_timebox(app: App) -> None:
    d = Driver(app)
    await to_the_vote(d)
    async with app.uow() as uow:
        session = (await uow.sessions.for_team(1))[0]
        session.mode = SessionMode.ASYNC
        await uow.commit()
    for who, theme in (("Ahmed", "1"), ("Fleur", "2"), ("Joost", "3"), ("Sanne", "3")):
        await d.cmd(who, "vote", theme)
    await d.cmd("Sanne", "next")
    sent = await d.deliver()
    themes = discussed(sent)
    assert len(themes) == 3  # the top three, each its own message, all now
    assert themes[0].text.startswith(
        t("nl", "themes.discuss_heading", number=1, count=3, title="samen lunchen", dots=2,
          labels="Doorgaan")
    )  # fmt: skip
    assert not any(isinstance(b, Choices) for s in themes for b in s.message.blocks)
    opened = next(s for s in sent if s.kind == "round-open")
    assert t("nl", "themes.discuss_async", count=3) in opened.text


async def test_without_dots_there_is_nothing_to_discuss(app: App) -> None:
    d = Driver(app)
    await to_the_vote(d)
    await d.cmd("Sanne", "next")
    sent = await d.deliver()
    assert discussed(sent) == []
    assert any(t("nl", "themes.discuss_none") in s.text for s in sent if s.kind == "round-open")


async def test_merged_themes_keep_their_categories(app: App) -> None:
    d = Driver(app)
    await started_session(d)
    await d.cmd("Sanne", "next")
    await d.cmd("Ahmed", "add", "stop: de lange overleggen")
    await d.cmd("Fleur", "add", "start: korte stand-ups")
    await d.cmd("Sanne", "next")  # the themes: 1 start, 2 stop
    board = "\n".join(s.text for s in await d.deliver() if s.to.kind == "channel")
    assert "1. korte stand-ups (1) · Start" in board
    assert "2. de lange overleggen (1) · Stop" in board
    await d.cmd("Joost", "merge", "2 1")  # "start" joins "stop"
    async with app.uow() as uow:
        group = next(r for r in await uow.sessions.rounds(1) if r.kind == RoundKind.GROUP)
        themes = await uow.sessions.themes(group.id or 0)
    assert [(th.title, th.category) for th in themes] == [("de lange overleggen", "stop,start")]
    # The vote and the discussion show both labels.
    await d.cmd("Sanne", "next")
    await d.deliver()
    await d.cmd("Ahmed", "vote", "1")
    await d.cmd("Sanne", "next")
    theme = discussed(await d.deliver())[0]
    assert theme.text.startswith(
        t("nl", "themes.discuss_heading", number=1, count=1, title="de lange overleggen",
          dots=1, labels="Stop · Start")
    )  # fmt: skip


async def test_on_slack_each_theme_is_a_message_of_its_own_to_reply_to_in_its_thread(
    slack_stack: SlackStack,
) -> None:
    """Through `coulisse serve` and its outbox: each theme is a channel post of its own (a
    thread's root, never a reply in another's thread), with its button; pressing it on Slack
    brings the next theme."""
    app, api, s = slack_stack.app, slack_stack.api, slack_stack.slack
    place = Place("channel", "C1", "wijkteam")

    def actor(user: str) -> Actor:
        return Actor("slack", "T1", user, {"U1": "Sanne", "U2": "Ahmed", "U3": "Fleur"}[user])

    async def core(event: Event) -> None:
        done = await app.coulisse.handle(event)
        assert not done.refused, done.messages

    for user in ("U1", "U2", "U3"):
        await core(Command("join", actor(user), place))
    values = {"title": "Noord", "question": "Wat nu?", "format": "retro", "members": "U2,U3"}
    await core(FormSubmitted("new_session", values, actor("U1"), place))
    await core(Command("start", actor("U1"), place))
    await core(Command("next", actor("U1"), place))
    await core(Typed("stop: de lange overleggen", actor("U2"), Place("dm", "DU2")))
    await core(Typed("start: korte stand-ups", actor("U3"), Place("dm", "DU3")))
    for _ in range(2):  # the themes, the vote
        await core(Command("next", actor("U1"), place))
    await core(Command("vote", actor("U2"), place, "1"))
    await core(Command("vote", actor("U3"), place, "2"))
    await core(Command("next", actor("U1"), place))

    def theme_posts() -> list[dict[str, Any]]:
        question = t("nl", "themes.discuss_question")
        return [
            p
            for p in api.of("chat.postMessage")
            if p["channel"] == "C1" and question in json.dumps(p, ensure_ascii=False)
        ]

    await eventually(lambda: len(theme_posts()) == 1)
    first = theme_posts()[0]
    assert "thread_ts" not in first  # a message of its own: the start of its thread
    buttons = [e for b in first["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"].split("#")[0] for b in buttons] == ["next_theme"]
    assert await s.click("U1", buttons[0]["action_id"], buttons[0]["value"]) == 200
    await eventually(lambda: len(theme_posts()) == 2)
    second = theme_posts()[1]
    assert "thread_ts" not in second and second["blocks"] != first["blocks"]


async def test_on_teams_each_theme_is_a_post_of_its_own_to_reply_to(database_url: str) -> None:
    """Through `coulisse serve`: each theme is an activity of its own to the team's channel
    (Teams makes it a new thread, its replies the talk), its button moves the talk on."""
    async with fake_connector() as fake, serving(database_url, fake) as stack:
        c = stack.client
        await setup_session(stack, "retro")
        await c.mention("29:U1", "start")
        await c.mention("29:U1", "next")
        await sent_to(fake, fake.chat_of("29:U3"), "Start, stop, doorgaan")
        await c.say("29:U2", fake.chat_of("29:U2"), "stop: de lange overleggen")
        await c.say("29:U3", fake.chat_of("29:U3"), "start: korte stand-ups")
        await eventually(lambda: count(fake, fake.chat_of("29:U3"), "opgeslagen") == 1)
        await eventually(lambda: count(fake, fake.chat_of("29:U2"), "opgeslagen") == 1)
        await c.mention("29:U1", "next")  # the themes
        await c.mention("29:U1", "next")  # the vote
        ballot = await sent_to(fake, TEAM, "Stem op 1")
        for user, number in (("29:U2", 0), ("29:U3", 1)):
            vote = actions(card_of(ballot), action="vote")[number]
            status, _body = await c.execute(user, c.channel(), ballot.answered, vote)
            assert status == 200
        await c.mention("29:U1", "next")  # the results; the discussion opens
        question = t("nl", "themes.discuss_question")
        first = await sent_to(fake, TEAM, question)
        assert count(fake, TEAM, question) == 1  # one theme at a time
        assert first.conversation == TEAM  # to the channel itself: a new thread
        button = actions(card_of(first), action="next_theme")[0]
        status, body = await c.execute("29:U1", c.channel(), first.answered, button)
        assert status == 200 and answer(body) == t("nl", "themes.discuss_moved_on")
        await eventually(lambda: count(fake, TEAM, question) == 2)
        second = [call for call in fake.of("send", TEAM) if question in said(call)][-1]
        assert second.answered != first.answered and second.conversation == TEAM
