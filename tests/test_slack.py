"""Slack over real HTTP on loopback: signed requests into `coulisse serve`, a fake Web API that
records what the bot sends, validated against tests/specs."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from bot.wiring import App
from handlers.messages import ActionTaken, Event, Outcome
from handlers.model import Person, RoundKind, Team
from handlers.ports import UnitOfWork
from prompts.catalog import t
from tests.conftest import SlackStack, eventually
from tests.fake_slack import sign
from tests.slack_limits import within_slack_limits  # noqa: F401 (the fixture below)

pytestmark = pytest.mark.usefixtures("within_slack_limits")  # each test: all within limits

SPECS = Path(__file__).resolve().parent / "specs" / "slack"
# Newer than the 2020 Web API spec in tests/specs: the upload flow that replaced files.upload.
NEWER_THAN_SPEC = {"files.getUploadURLExternal", "files.completeUploadExternal"}
# slack-bolt asks auth.test with team_id (for org-wide installs), a parameter added since.
NEWER_PARAMS = {"auth.test": {"team_id"}}
PEOPLE = {"U1": "Sanne", "U2": "Ahmed", "U3": "Fleur", "U4": "Joost", "U5": "Noor"}


def assert_known_to_the_spec(stack: SlackStack) -> None:
    spec = json.loads((SPECS / "slack_web_openapi_v2_without_examples.json").read_text())
    for call in stack.api.calls:
        if call.method in NEWER_THAN_SPEC:
            continue
        path = spec["paths"].get(f"/{call.method}")
        assert path is not None, f"{call.method} is not a Slack Web API method"
        known = {p["name"] for verb in path.values() for p in verb.get("parameters", [])}
        known |= NEWER_PARAMS.get(call.method, set())
        assert set(call.params) <= known, (call.method, set(call.params) - known)


def no_pings(stack: SlackStack) -> None:
    """Nothing the bot sent can mention @channel, @here or anyone, or link anywhere."""
    for call in stack.api.calls:
        sent = json.dumps(call.params)
        for forbidden in ("<!channel>", "<!here>", "<!everyone>", "<@U", "<https://evil"):
            assert forbidden not in sent, (call.method, forbidden)


async def modal(stack: SlackStack, count: int) -> dict[str, Any]:
    """The `count`-th modal the bot opened."""
    await eventually(lambda: len(stack.api.of("views.open")) >= count)
    return stack.api.of("views.open")[count - 1]["view"]


def channel_posts(stack: SlackStack) -> list[dict[str, Any]]:
    return [p for p in stack.api.of("chat.postMessage") if p["channel"] == "C1"]


Handled = list[tuple[Event, Outcome]]


def watch_handled(stack: SlackStack) -> Handled:
    """Every event the core has finished with, and its outcome. A delivery seen before says
    nothing, so this is how a test knows the second one was handled, not merely slow."""
    handled: Handled = []
    handle = stack.app.coulisse.handle

    async def watched(event: Event, **kwargs: Any) -> Outcome:
        outcome = await handle(event, **kwargs)
        handled.append((event, outcome))
        return outcome

    stack.app.coulisse.handle = watched  # type: ignore[method-assign]
    return handled


def said(posts: list[dict[str, Any]]) -> list[str]:
    """Each message's text as the person reads it (its sections, unescaped)."""
    return [
        "\n".join(
            b["text"]["text"].replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
            for b in p.get("blocks", [])
            if b["type"] == "section" and "text" in b
        )
        for p in posts
    ]


def dms(stack: SlackStack, channel: str) -> list[dict[str, Any]]:
    return [p for p in stack.api.of("chat.postMessage") if p["channel"] == channel]


def ephemerals_to(stack: SlackStack, user: str) -> list[str]:
    return said([p for p in stack.api.of("chat.postEphemeral") if p["user"] == user])


async def person_and_team(uow: UnitOfWork, user: str) -> tuple[Person, Team]:
    """The Slack user's person and their (first) team."""
    ws = await uow.directory.workspace("slack", "T1")
    assert ws is not None and ws.id is not None
    person = await uow.directory.person_by_platform_id(ws.id, user)
    assert person is not None and person.id is not None
    return person, (await uow.directory.teams_of(person.id))[0]


async def at_the_vote(app: App, user: str) -> tuple[str, int]:
    """The title of theme 1 of `user`'s team's session, and the dots `user` put on themes."""
    async with app.uow() as uow:
        person, team = await person_and_team(uow, user)
        session = await uow.sessions.current_for_team(team.id or 0)
        assert session is not None
        rounds = await uow.sessions.rounds(session.id or 0)
        group = next(r for r in rounds if r.kind == RoundKind.GROUP)
        vote = next(r for r in rounds if r.kind == RoundKind.VOTE)
        themes = await uow.sessions.themes(group.id or 0)
        dots = sum(
            v.dots for v in await uow.sessions.votes(vote.id or 0) if v.person_id == person.id
        )
        return next(th.title for th in themes if th.position == 1), dots


async def answers_of(app: App, user: str) -> list[str]:
    """What `user` answered in their team's open round, as stored."""
    async with app.uow() as uow:
        person, team = await person_and_team(uow, user)
        opened = await uow.sessions.open_round(team.id or 0)
        assert opened is not None
        stored = await uow.sessions.contributions([opened[1].id or 0])
        return [c.text for c in stored if c.author_id == person.id]


async def test_a_whole_regie_session_through_slack(slack_stack: SlackStack) -> None:
    s = slack_stack.slack
    api = slack_stack.api
    # The coordinator prepares the session in a modal, for the channel's people.
    assert await s.command("U1", "new") == 200
    view = await modal(slack_stack, 1)
    assert view["type"] == "modal" and view["callback_id"].startswith("new_session|")
    status, body = await s.submit(
        "U1",
        view,
        {
            "title": "Noord: samen grip",
            "question": "Hoe voorkomen we lange wachttijden?",
            "format": "regie",
            "language": "nl",
            "anonymous": "yes",
            "members": ["U2", "U3", "U4", "U5"],
        },
    )
    assert status == 200 and body == ""
    await eventually(lambda: "staat klaar" in api.texts("chat.postEphemeral"))
    await s.command("U1", "start")
    # The check-in question goes to all five by DM; the channel hears the team starts.
    await eventually(lambda: len(api.of("conversations.open")) == 5)
    await eventually(
        lambda: sum(p["channel"].startswith("D") for p in api.of("chat.postMessage")) >= 5
    )
    assert any(
        "Ronde 1 van 8" in json.dumps(p, ensure_ascii=False) for p in channel_posts(slack_stack)
    )

    for user, text in [
        ("U2", "Moe maar hoopvol"),
        ("U3", "<!channel> *vet* <https://evil.example|klik> &lt;b&gt; &amp; @here"),
    ]:
        assert await s.dm(user, text) == 200

    def saved_for() -> set[str]:
        posts = api.of("chat.postMessage") + api.of("chat.postEphemeral")
        return {p["channel"] for p in posts if "opgeslagen" in json.dumps(p, ensure_ascii=False)}

    await eventually(lambda: {"DU2", "DU3"} <= saved_for())  # both answers stored
    await s.command("U1", "next")  # reveal, overview opens
    # The reveal may go out as more than one message: wait for the last answer in it.
    await eventually(
        lambda: "klik (https://evil" in json.dumps(channel_posts(slack_stack), ensure_ascii=False)
    )
    reveal = json.dumps(channel_posts(slack_stack), ensure_ascii=False)
    assert "Wat het team deelde" in reveal
    # What was a ping in Slack's markup arrives as words; what was typed as markup stays text.
    assert "@channel" in reveal and "&lt;b&gt; &amp;" in reveal and "klik (https://evil" in reveal
    assert "Ahmed" not in reveal and "U2" not in reveal

    # An answer through the form a DM button opens (the overview round).
    await s.dm("U2", "actor: Huisartsen in Noord (4)")
    await s.click("U3", "form#0", json.dumps({"form": "force", "context": ""}), channel="DU3")
    force_view = await modal(slack_stack, 2)
    await s.submit(
        "U3", force_view, {"text": "Privacyregels", "direction": "restraining", "strength": "5"}
    )
    await eventually(lambda: "krachtenveld" in api.texts())
    for answer, round_title, category in [
        ("patronen: Gezinnen worden steeds doorverwezen", "de ijsberg", "iceberg.patterns"),
        (
            "onuitgesproken: We vertrouwen elkaars oordeel nog niet",
            "systeemvragen",
            "systemic.unspoken",
        ),
    ]:
        await s.command("U1", "next")
        await eventually(lambda t=round_title: t in api.texts())
        await s.dm("U5", answer)
        # Stored before the round closes: the themes to vote on are made of these answers.
        round_name, key = category.split(".")
        label = t("nl", f"rounds.{round_name}.categories.{key}")
        stored = t("nl", "contributions.stored_anonymous", category=label)
        await eventually(lambda m=stored: m in said(dms(slack_stack, "DU5")))
    await s.command("U1", "next")
    await eventually(lambda: "oorzakelijke verbanden" in api.texts())
    await s.dm("U4", "wachtlijst -> +druk op huisarts\ndruk op huisarts -> +wachtlijst")
    await eventually(lambda: "Toegevoegd aan de kaart" in api.texts())
    await s.command("U1", "next")  # the map goes to the channel, with its picture
    await eventually(lambda: len(api.of("files.completeUploadExternal")) == 1)
    assert api.uploads and api.uploads[0][:4] in (b"\x89PNG", b"<svg", b"<?xm")
    await eventually(lambda: "R1 (versterkend)" in api.texts())
    await s.command("U1", "next")  # themes → dot voting: the ballot has buttons
    await eventually(
        lambda: any(
            "Stem op 1" in json.dumps(p, ensure_ascii=False) for p in channel_posts(slack_stack)
        )
    )
    ballot = next(
        p for p in channel_posts(slack_stack) if "Stem op 1" in json.dumps(p, ensure_ascii=False)
    )
    vote = next(e for b in ballot["blocks"] if b["type"] == "actions" for e in b["elements"])
    ballot_ts = next(c.ts for c in api.calls if c.params is ballot)
    handled = watch_handled(slack_stack)
    # A double click counts once, also across an even second (0.4 s apart, in two of the old
    # 2-second buckets).
    for ts in (
        f"{int(time.time()) // 2 * 2 + 1}.900000",
        f"{int(time.time()) // 2 * 2 + 2}.300000",
    ):
        status = await s.click(
            "U2", vote["action_id"], vote["value"], message_ts=ballot_ts, action_ts=ts
        )
        assert status == 200

    def clicks() -> list[Outcome]:
        return [o for e, o in handled if isinstance(e, ActionTaken) and e.action_id == "vote"]

    await eventually(lambda: len(clicks()) == 2)  # both handled: one counted, one seen before
    title, dots = await at_the_vote(slack_stack.app, "U2")
    assert dots == 1
    assert sorted(o.duplicate for o in clicks()) == [False, True]
    cast = t("nl", "votes.cast", number=1, title=title, dots=1, left=2)
    await eventually(lambda: cast in ephemerals_to(slack_stack, "U2") and api.of("chat.update"))
    assert ephemerals_to(slack_stack, "U2").count(cast) == 1 and len(api.of("chat.update")) == 1
    updated = api.of("chat.update")[0]
    assert updated["ts"] == ballot_ts
    assert t("nl", "votes.line", number=1, title=title, dots=1) in said([updated])[0]
    assert "Ahmed" not in json.dumps(updated) and "U2" not in json.dumps(updated["blocks"])

    await s.command("U1", "next")  # commitments: a modal with a date picker
    await s.command("U2", "commit")
    commit_view = await modal(slack_stack, 3)
    kinds = {
        b["block_id"]: b["element"]["type"] for b in commit_view["blocks"] if b["type"] == "input"
    }
    assert kinds["due"] == "datepicker" and kinds["mode"] == "static_select"
    await s.submit(
        "U2",
        commit_view,
        {
            "text": "Eén intake proberen",
            "due": "2099-02-01",
            "mode": "co_create",
            "co_owners": "",
            "focus": "R1",
            "level": "structures",
        },
    )
    await eventually(lambda: "Afspraak 1 staat genoteerd" in api.texts("chat.postEphemeral"))
    await s.command("U1", "next")  # the last round closes: the summary goes to the channel
    await eventually(
        lambda: "Samenvatting" in json.dumps(channel_posts(slack_stack), ensure_ascii=False)
    )
    assert_known_to_the_spec(slack_stack)
    no_pings(slack_stack)
    for post in api.of("chat.postMessage"):
        assert post.get("unfurl_links") in (False, "false", "0", 0) or "blocks" not in post


async def test_a_refusal_keeps_the_modal_open_with_the_reason(slack_stack: SlackStack) -> None:
    s = slack_stack.slack
    await s.command("U1", "new")
    view = await modal(slack_stack, 1)
    status, body = await s.submit("U1", view, {"title": "", "question": "q", "format": "retro"})
    assert status == 200
    answer = json.loads(body)
    assert answer["response_action"] == "errors" and "lijkt leeg" in next(
        iter(answer["errors"].values())
    )


@pytest.mark.parametrize("problem", ["forged", "stale", "missing"])
async def test_forged_or_stale_requests_get_401(slack_stack: SlackStack, problem: str) -> None:
    body = (
        b"token=&team_id=T1&user_id=U1&command=%2Fcoulisse&text=status&channel_id=C1&trigger_id=t"
    )
    if problem == "forged":
        headers = sign(body, secret="not-the-secret")
    elif problem == "stale":
        headers = sign(body, timestamp=int(time.time()) - 6 * 60)
    else:
        headers = {"X-Slack-Request-Timestamp": str(int(time.time()))}
    status, _ = await slack_stack.slack.post(
        body, "application/x-www-form-urlencoded", signed=headers
    )
    assert status == 401
    assert slack_stack.api.of("chat.postEphemeral") == []


async def test_a_retried_event_has_one_effect(slack_stack: SlackStack) -> None:
    s = slack_stack.slack
    await s.command("U1", "new")
    view = await modal(slack_stack, 1)
    await s.submit(
        "U1", view, {"title": "T", "question": "Q", "format": "retro", "members": ["U2"]}
    )
    await eventually(lambda: "staat klaar" in slack_stack.api.texts("chat.postEphemeral"))
    await s.command("U1", "start")
    await eventually(lambda: len(slack_stack.api.of("conversations.open")) == 2)
    handled = watch_handled(slack_stack)
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    await s.dm("U2", "Goed", event_id="Ev42")
    await s.dm("U2", "Goed", event_id="Ev42", headers=retry)

    def deliveries() -> list[Outcome]:
        return [o for e, o in handled if e.event_key == "slack:event:Ev42"]

    # The retry is either refused at intake (the first still waits there) or handled as seen
    # before; either way one effect.
    await eventually(lambda: any(not o.duplicate for o in deliveries()))
    assert await answers_of(slack_stack.app, "U2") == ["Goed"]
    assert [o.duplicate for o in deliveries()].count(False) == 1
    stored = t("nl", "contributions.stored_anonymous", category="")

    await eventually(lambda: stored in said(dms(slack_stack, "DU2")))
    assert said(dms(slack_stack, "DU2")).count(stored) == 1


async def test_429_and_500_are_retried_later(slack_stack: SlackStack) -> None:
    s, api = slack_stack.slack, slack_stack.api
    api.fail("chat.postMessage", 429, {"Retry-After": "1"})
    api.fail("chat.postMessage", 500)
    await s.command("U1", "new")
    view = await modal(slack_stack, 1)
    await s.submit("U1", view, {"title": "T", "question": "Q", "format": "retro"})
    await eventually(lambda: "staat klaar" in slack_stack.api.texts("chat.postEphemeral"))
    await s.command("U1", "start")
    # Two outbox messages met a failure each; after Retry-After and the server-error pause
    # both still arrive, once.
    await eventually(lambda: len(channel_posts(slack_stack)) >= 2, timeout=20)
    headings = [json.dumps(p, ensure_ascii=False) for p in channel_posts(slack_stack)]
    assert sum("Ronde 1 van 6" in h for h in headings) == 1
    assert api.failures["chat.postMessage"] == []


async def test_healthz(slack_stack: SlackStack) -> None:
    async with slack_stack.slack.session.get(f"{slack_stack.base}/healthz") as resp:
        assert resp.status == 200 and (await resp.json())["status"] == "ok"


async def test_unknown_input_gets_the_help_ephemeral(slack_stack: SlackStack) -> None:
    await slack_stack.slack.command("U1", "xyzzy")
    await eventually(lambda: "Wat je kunt doen" in slack_stack.api.texts("chat.postEphemeral"))
    assert slack_stack.api.of("chat.postMessage") == []


async def test_a_session_is_for_the_channel_when_nobody_is_chosen(slack_stack: SlackStack) -> None:
    s, api = slack_stack.slack, slack_stack.api
    api.members["C1"] = ["U1", "U2", "U3", "UBOT"]
    await s.command("U1", "new")
    view = await modal(slack_stack, 1)
    await s.submit("U1", view, {"title": "T", "question": "Q", "format": "retro"})
    await eventually(lambda: "staat klaar" in slack_stack.api.texts("chat.postEphemeral"))
    await s.command("U1", "start")
    # Everyone in the channel gets the question, the bot itself does not.
    await eventually(lambda: len(api.of("conversations.open")) == 3)
    assert sorted(p["users"] for p in api.of("conversations.open")) == ["U1", "U2", "U3"]


async def test_app_home_shows_my_commitments_with_check_in_buttons(slack_stack: SlackStack) -> None:
    s, api = slack_stack.slack, slack_stack.api
    await s.command("U1", "new")
    await s.submit(
        "U1",
        await modal(slack_stack, 1),
        {"title": "T", "question": "Q", "format": "retro", "members": ["U2"]},
    )
    # Slack gets its answer first and the work follows: wait for each step before the next,
    # as a person would (a commit submitted before the start has landed is refused).
    await eventually(lambda: "staat klaar" in api.texts("chat.postEphemeral"))
    await s.command("U1", "start")
    await eventually(lambda: len(api.of("conversations.open")) >= 1)  # the round's DMs: it runs
    await s.command("U2", "commit")
    await s.submit(
        "U2",
        await modal(slack_stack, 2),
        {"text": "Bellen", "due": "2099-01-01", "mode": "co_produce"},
    )
    await eventually(lambda: "genoteerd" in api.texts("chat.postEphemeral"))
    await s.event({"type": "app_home_opened", "user": "U2", "channel": "DU2", "tab": "home"})
    await eventually(lambda: len(api.of("views.publish")) == 1)
    published = api.of("views.publish")[0]
    assert published["user_id"] == "U2" and published["view"]["type"] == "home"
    home = json.dumps(published["view"], ensure_ascii=False)
    assert "Bellen" in home and "T — wijkteam-noord, bezig" in home
    button = next(
        e
        for b in published["view"]["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["value"].endswith(":done")
    )
    # A check-in from the App Home (a view, no channel): the answer comes by DM.
    await s.click("U2", button["action_id"], button["value"], channel="", container="view")
    await eventually(lambda: "klaar" in api.texts())
    await eventually(lambda: len(api.of("views.publish")) == 2)  # the home tab is refreshed
    assert "Bellen" not in json.dumps(api.of("views.publish")[1], ensure_ascii=False)
    assert any(
        p["channel"] in ("U2", "DU2")
        and "afspraak 1 staat nu op" in json.dumps(p, ensure_ascii=False)
        for p in api.of("chat.postMessage")
    )


async def test_someone_joining_the_channel_is_welcomed_and_becomes_a_member(
    slack_stack: SlackStack,
) -> None:
    s, api = slack_stack.slack, slack_stack.api
    await s.command("U1", "help")  # the channel becomes a team, U1 its coordinator
    await eventually(lambda: len(api.of("chat.postEphemeral")) == 1)
    await s.event({"type": "member_joined_channel", "user": "U7", "channel": "C1", "team": "T1"})
    await eventually(lambda: "Welkom bij wijkteam-noord" in api.texts("chat.postEphemeral"))
    welcome = next(
        p for p in api.of("chat.postEphemeral") if "Welkom" in json.dumps(p, ensure_ascii=False)
    )
    assert welcome["user"] == "U7" and "deelnemer" in json.dumps(welcome, ensure_ascii=False)
