"""Answers to the person who acted survive a flaky Slack: with 20 % 429s and 10 % 500s on
chat.postEphemeral and chat.postMessage, every answer arrives exactly once (at once, or through
the outbox in the person's DM), and none twice."""

from __future__ import annotations

import pytest

from prompts.catalog import t
from tests.conftest import SlackStack, eventually
from tests.fake_slack import Call
from tests.slack_limits import within_slack_limits  # noqa: F401 (the fixture below)

pytestmark = pytest.mark.usefixtures("within_slack_limits")  # each test: all within limits

FLAKY = [(429, 0.2), (500, 0.1)]
PEOPLE = [f"U{n:02d}" for n in range(20)]


def answers_to(calls: list[Call], user: str, text: str) -> int:
    """How many times `text` reached `user`: ephemeral in the channel, or in their DM."""
    count = 0
    for call in calls:
        to_them = (call.method == "chat.postEphemeral" and call.params.get("user") == user) or (
            call.method == "chat.postMessage" and call.params.get("channel") == f"D{user}"
        )
        count += to_them and text in str(call.params.get("text", ""))
    return count


async def test_every_answer_arrives_once_through_429s_and_500s(slack_stack: SlackStack) -> None:
    api, s, app = slack_stack.api, slack_stack.slack, slack_stack.app
    api.flaky = {"chat.postEphemeral": FLAKY, "chat.postMessage": FLAKY}
    heading = t("nl", "help.heading")
    for n, user in enumerate(PEOPLE):  # half ask in the channel, half in their DM
        status = await s.command(user, "help") if n % 2 else await s.dm(user, "help")
        assert status == 200

    def all_answered() -> bool:
        return all(answers_to(api.calls, u, heading) >= 1 for u in PEOPLE)

    await eventually(all_answered, timeout=90)

    async def outbox_done() -> bool:
        async with app.uow() as uow:
            return not await uow.outbox.pending()

    await eventually(outbox_done, timeout=90)
    assert {u: answers_to(api.calls, u, heading) for u in PEOPLE} == dict.fromkeys(PEOPLE, 1)
    faults = {c.method for c in api.refused}
    assert faults == {"chat.postEphemeral", "chat.postMessage"}, "the faults did happen"
