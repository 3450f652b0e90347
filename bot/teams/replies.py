"""Where the answers to what someone did go in Teams.

Teams has no ephemeral messages, and an answer in a channel would tell everyone who did what
(who voted, who committed to what). So an answer goes to the person: short text through the
card action's own response (shown only to them), anything else to their 1:1 chat with the bot.
A ballot with new counts replaces the card it came from, for everyone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from bot.export.diagram import png
from bot.teams.cards import activity, render
from bot.teams.connector import RETRY_STATUSES, Connector, ConnectorError
from bot.teams.pacing import Pacer, TooSoon
from bot.teams.references import Address, Conversations, NoConversation
from bot.teams.turn import Turn
from bot.teams.updates import CardUpdates
from handlers.messages import (
    Destination,
    Diagram,
    Form,
    Message,
    PeopleInput,
    Text,
    encode_destination,
    encode_message,
)
from handlers.model import OutboxMessage, Platform
from handlers.ports import Clock, UnitOfWorkFactory

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


async def pictures(message: Message) -> dict[Diagram, bytes]:
    """The causal maps of a message drawn as PNG (Graphviz runs off the event loop)."""
    drawn: dict[Diagram, bytes] = {}
    for block in message.blocks:
        if isinstance(block, Diagram):
            picture = await asyncio.to_thread(png, block)
            if picture is not None:
                drawn[block] = picture
    return drawn


class Replies:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        connector: Connector,
        conversations: Conversations,
        pacer: Pacer,
        updates: CardUpdates,
        roster: Roster,
        clock: Clock,
    ) -> None:
        self.clock = clock
        self.uow = uow
        self.connector = connector
        self.conversations = conversations
        self.pacer = pacer
        self.updates = updates
        self.roster = roster

    async def deliver(
        self,
        replies: Sequence[Message],
        turn: Turn,
        *,
        answer: InvokeAnswer | None = None,
        user: str = "",
    ) -> None:
        for index, message in enumerate(replies):
            if message.replace:
                if turn.reply_to:
                    where = Address(turn.service_url, turn.conversation_id)
                    self.updates.schedule(where, turn.reply_to, activity(render(message)[0]))
                continue
            if answer is not None and answer.open and is_plain(message) and not user:
                answer.texts += [b.text for b in message.blocks if isinstance(b, Text)]
                continue
            await self._to_person(message, turn, user, index)

    async def _to_person(self, message: Message, turn: Turn, user: str, index: int) -> None:
        origin = "" if turn.personal else turn.channel_id
        people: list[tuple[str, str]] = []
        if origin and needs_people(message):
            people = await self.roster(turn.service_url, origin)
        cards = render(message, origin=origin, people=people, pictures=await pictures(message))
        try:
            person_id, where = await self._chat_of(turn, user or turn.user_id)
        except (NoConversation, ConnectorError) as error:
            log.warning("no chat to answer in: %s", error)
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
            if number > 0 or person_id is None:
                log.warning("an answer was not sent: the conversation's limit")
                return
            # Not lost: the whole answer goes through the outbox, which waits and tries again.
            key = f"teams-reply:{turn.conversation_id}:{turn.activity_id}:{user}:{index}"
            await self._later(person_id, message, key, wait or 0.0)
            return

    async def _later(self, person_id: int, message: Message, key: str, wait: float) -> None:
        async with self.uow() as uow:
            await uow.outbox.enqueue(
                OutboxMessage(
                    dedupe_key=key,
                    kind="reply",
                    destination=encode_destination(Destination.dm(person_id)),
                    payload=encode_message(message),
                    due_at=self.clock.now() + timedelta(seconds=wait),
                    person_id=person_id,
                )
            )
            await uow.commit()

    async def _chat_of(self, turn: Turn, user_id: str) -> tuple[int | None, Address]:
        async with self.uow() as uow:
            workspace = await uow.directory.workspace(Platform.TEAMS.value, turn.tenant)
            person = (
                await uow.directory.person_by_platform_id(workspace.id, user_id)
                if workspace and workspace.id
                else None
            )
        person_id = person.id if person else None
        if turn.personal and user_id == turn.user_id:
            return person_id, Address(turn.service_url, turn.conversation_id)
        if person_id is None:
            raise NoConversation(user_id)
        return person_id, await self.conversations.of_person(person_id, user_id, turn.tenant,
                                                             via=turn)  # fmt: skip
