"""How an outcome's replies are shown in Teams.

Teams has no ephemeral messages, and an answer in a channel would tell everyone who did what
(who voted, who committed to what). So an answer goes to the person: short text through the
card action's own response (shown only to them), anything else to their 1:1 chat with the bot.
A ballot with new counts replaces the card it came from, for everyone; a post for the channel
goes to the conversation the event came from. What Teams will not take now goes through the
outbox (`Coulisse.later`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.teams.cards import activity, render
from bot.teams.connector import RETRY_STATUSES, Connector, ConnectorError
from bot.teams.media import Pictures
from bot.teams.pacing import Pacer, TooSoon
from bot.teams.references import Address, Conversations, NoConversation
from bot.teams.turn import Turn
from bot.teams.updates import CardUpdates
from handlers.messages import Form, Message, Outcome, PeopleInput, Reply, Text, To
from handlers.router import Coulisse

log = logging.getLogger(__name__)

REPLY_WAIT = 5.0  # seconds an answer may wait for the conversation's limit within a turn

Roster = Callable[[str, str], Awaitable[list[tuple[str, str]]]]  # (service url, conversation)


@dataclass
class InvokeAnswer:
    """What a card action's invoke response will say, while it is still open: the person who
    clicked sees it, and no one else. Once closed, answers go to their chat instead."""

    open: bool = True
    texts: list[str] = field(default_factory=list)

    def close(self) -> str:
        self.open = False
        return "\n\n".join(self.texts)


def is_plain(message: Message) -> bool:
    return bool(message.blocks) and all(isinstance(b, Text) for b in message.blocks)


def needs_people(message: Message) -> bool:
    return any(
        isinstance(f, PeopleInput) for b in message.blocks if isinstance(b, Form) for f in b.fields
    )


class Replies:
    def __init__(
        self,
        coulisse: Coulisse,
        connector: Connector,
        conversations: Conversations,
        pacer: Pacer,
        updates: CardUpdates,
        roster: Roster,
        pictures: Pictures | None = None,
    ) -> None:
        self.pictures = pictures or Pictures()
        self.coulisse = coulisse
        self.connector = connector
        self.conversations = conversations
        self.pacer = pacer
        self.updates = updates
        self.roster = roster

    async def deliver(
        self,
        outcome: Outcome,
        turn: Turn,
        *,
        answer: InvokeAnswer | None = None,
        user: str = "",
    ) -> None:
        """`user`: the answers are for this member (added by someone else), not the sender."""
        for index, reply in enumerate(outcome.replies):
            if reply.to == To.ACTED_ON:
                if turn.reply_to:
                    where = Address(turn.service_url, turn.conversation_id)
                    new = render(reply.message, lang=outcome.lang)[0]
                    self.updates.schedule(where, turn.reply_to, activity(new))
                continue
            plain = reply.to == To.ACTOR and is_plain(reply.message)
            if answer is not None and answer.open and plain and not user:
                answer.texts += [b.text for b in reply.message.blocks if isinstance(b, Text)]
                continue
            await self._send(outcome, reply, index, turn, user)

    async def _send(self, outcome: Outcome, reply: Reply, index: int, turn: Turn,
                    user: str) -> None:  # fmt: skip
        origin = "" if turn.personal else turn.channel_id
        people: list[tuple[str, str]] = []
        if origin and needs_people(reply.message):
            people = await self.roster(turn.service_url, origin)
        message = reply.message
        pictures = await self.pictures.urls(message)
        cards = render(message, origin=origin, people=people, pictures=pictures, lang=outcome.lang)
        try:
            where = await self._where(outcome, reply, turn, user)
        except (NoConversation, ConnectorError) as error:
            log.warning("no chat to answer in: %s", error)
            await self.coulisse.later(outcome, reply, index)
            return
        for number, content in enumerate(cards):
            try:
                await self.pacer.acquire(where.conversation_id, REPLY_WAIT)
                await self.connector.send(where.service_url, where.conversation_id,
                                          activity(content))  # fmt: skip
            except TooSoon as soon:
                wait: float | None = soon.wait
            except ConnectorError as error:
                if error.status not in RETRY_STATUSES:
                    log.warning("an answer was not sent: %s", error)
                    return
                wait = error.retry_after or RETRY_STATUSES[error.status]
            else:
                continue
            # Not lost: the rest goes through the outbox, which waits and tries again.
            await self.coulisse.later(outcome, reply, index, wait or 0.0, skip=number)
            return

    async def _where(self, outcome: Outcome, reply: Reply, turn: Turn, user: str) -> Address:
        if reply.to == To.CHANNEL:
            return Address(turn.service_url, turn.channel_id or turn.conversation_id)
        if turn.personal and not user:
            return Address(turn.service_url, turn.conversation_id)
        if outcome.person_id is None:
            raise NoConversation(user or turn.user_id)
        return await self.conversations.of_person(
            outcome.person_id, user or turn.user_id, turn.tenant, via=turn
        )
