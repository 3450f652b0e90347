"""Sends outbox messages to Teams: to a team's channel or a person's 1:1 chat (created the first
time), through conversation references from the database, within Teams' limits per
conversation. A 429, 412, 502 or 504 makes the outbox try again later, with jitter."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from bot import metrics
from bot.attachments import Attachments, NothingToExport
from bot.delivery import Target
from bot.outbox import RetryLater
from bot.teams.cards import activity, render
from bot.teams.connector import RETRY_STATUSES, Connector, ConnectorError
from bot.teams.files import offer, text_activity
from bot.teams.media import Pictures
from bot.teams.pacing import Pacer, TooSoon
from bot.teams.references import Address, Conversations
from handlers.messages import Export, Message
from handlers.model import OutboxMessage
from prompts.catalog import t

SEND_WAIT = 1.0  # longer than this for the limit, and the outbox sends others meanwhile
SERVER_ERROR_DELAY = 5.0  # a 5xx the connector does not name (500, 503): try again then


def retry_from(error: ConnectorError, jitter: Callable[[float], float]) -> RetryLater | None:
    """A rate limit or a passing failure is worth trying again; anything else is not."""
    base = RETRY_STATUSES.get(error.status)
    if base is None and error.status >= 500:  # a passing server error, as on Slack
        base = SERVER_ERROR_DELAY
    if base is None:
        return None
    if error.status == 429:
        metrics.rate_limited("teams")
    seconds = error.retry_after if error.retry_after is not None else base
    return RetryLater(seconds + jitter(seconds), f"Teams answered {error.status}")


def half_jitter(seconds: float) -> float:
    """Up to half as long again, so that many waiting messages do not return at once."""
    return random.uniform(0, max(seconds, 0.5) / 2)


class TeamsSender:
    def __init__(
        self,
        connector: Connector,
        conversations: Conversations,
        pacer: Pacer,
        *,
        jitter: Callable[[float], float] = half_jitter,
        attachments: Attachments | None = None,
        pictures: Pictures | None = None,
    ) -> None:
        self.attachments = attachments
        self.pictures = pictures or Pictures()
        self.connector = connector
        self.conversations = conversations
        self.pacer = pacer
        self.jitter = jitter

    async def __call__(self, item: OutboxMessage, target: Target, message: Message) -> None:
        try:
            where = await self.address(target)
            exports = [b for b in message.blocks if isinstance(b, Export)]
            message = Message(tuple(b for b in message.blocks if not isinstance(b, Export)))
            cards = []
            if message.blocks:
                pictures = await self.pictures.urls(message)
                cards = render(message, pictures=pictures, lang=target.locale)
            # `skip`: cards of an answer that reached the person before it came here.
            sends = [activity(content) for content in cards[int(item.payload.get("skip", 0)) :]]
            sends += [await self._offer(export, target) for export in exports]
            for sent, body in enumerate(sends):
                try:
                    await self.pacer.acquire(where.conversation_id, SEND_WAIT)
                except TooSoon as soon:
                    wait = soon.wait + self.jitter(soon.wait)
                    raise RetryLater(wait, str(soon), sent=sent) from None
                try:
                    await self.connector.send(where.service_url, where.conversation_id, body)
                except ConnectorError as error:  # the cards before this one went out: not again
                    later = retry_from(error, self.jitter)
                    if later is None:
                        raise
                    later.sent = sent
                    raise later from None
        except ConnectorError as error:
            later = retry_from(error, self.jitter)
            if later is not None:
                raise later from None
            raise

    async def _offer(self, export: Export, target: Target) -> dict[str, Any]:
        """A file goes to a personal chat as a consent card; the file follows on accept."""
        if self.attachments is None or target.kind != "dm":
            raise ValueError("a file can only be offered in a personal chat")
        try:
            made = await self.attachments.make(export, target.owner_id)
        except NothingToExport:
            return text_activity(t(target.locale, "exporting.gone"))
        return offer(made, export, target.locale)

    async def address(self, target: Target) -> Address:
        if target.kind == "channel":
            return await self.conversations.of_team(target.owner_id)
        return await self.conversations.of_person(target.owner_id, target.address, target.workspace)
