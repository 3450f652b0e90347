"""Sends outbox messages to Slack: DMs through conversations.open, about one message per second
per channel, 429s and 5xx answered with a later retry, causal maps uploaded as pictures, an
export requested in chat uploaded as the file itself."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import metrics
from bot.attachments import Attachments, NothingToExport
from bot.delivery import Target
from bot.export.diagram import png, svg
from bot.outbox import RetryLater
from bot.slack.blocks import fallback_text, render
from handlers.messages import Diagram, Export, Message, Text
from handlers.model import ConversationRef, OutboxMessage, Platform
from prompts.catalog import t

CHANNEL_INTERVAL = 1.0  # Slack allows about one message per second per channel
SERVER_ERROR_DELAY = 5.0


def retry_from(error: SlackApiError) -> RetryLater | None:
    """A rate limit or a server error is worth trying again; anything else is not."""
    status = error.response.status_code
    if status == 429:
        metrics.rate_limited("slack")
        seconds = float(error.response.headers.get("Retry-After", "1") or 1)
        return RetryLater(seconds, "rate limited")
    if status >= 500:
        return RetryLater(SERVER_ERROR_DELAY, f"Slack answered {status}")
    return None


class SlackSender:
    def __init__(
        self,
        client: AsyncWebClient,
        *,
        interval: float = CHANNEL_INTERVAL,
        monotonic: Callable[[], float] = time.monotonic,
        attachments: Attachments | None = None,
    ) -> None:
        self.attachments = attachments
        self.client = client
        self.interval = interval
        self.monotonic = monotonic
        self._last_sent: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def __call__(
        self, item: OutboxMessage, target: Target, message: Message
    ) -> ConversationRef | None:
        """Returns the DM channel it opened, for the delivery to save (bot.delivery)."""
        try:
            channel, opened = await self.channel_for(target)
            async with self._locks.setdefault(channel, asyncio.Lock()):
                await self._post(channel, message, skip=int(item.payload.get("skip", 0)))
                for export in (b for b in message.blocks if isinstance(b, Export)):
                    await self._upload_export(channel, export, target)
        except SlackApiError as error:
            later = retry_from(error)
            if later is not None:
                raise later from None
            raise
        return opened

    async def channel_for(self, target: Target) -> tuple[str, ConversationRef | None]:
        """A team's channel, or the DM channel with a person: opened once, then remembered
        (returned with its reference to save when it was opened just now)."""
        if target.kind == "channel":
            return target.address, None
        if target.reference is not None:  # saved, and read with the recipient (bot.delivery)
            return str(target.reference["channel"]), None
        opened = await self.client.conversations_open(users=target.address)
        channel = str(opened["channel"]["id"])
        return channel, ConversationRef(
            Platform.SLACK, "person", target.owner_id, {"channel": channel}
        )

    async def _pace(self, channel: str) -> None:
        wait = self._last_sent.get(channel, -1e9) + self.interval - self.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self._last_sent[channel] = self.monotonic()

    async def _post(self, channel: str, message: Message, skip: int = 0) -> None:
        """`skip`: parts of the message that already went out (an answer given in part)."""
        diagrams = [b for b in message.blocks if isinstance(b, Diagram)]
        message = Message(tuple(b for b in message.blocks if not isinstance(b, Export)))
        for sent, blocks in enumerate(render(message)[skip:] if message.blocks else []):
            await self._pace(channel)
            try:
                await self.client.chat_postMessage(
                    channel=channel,
                    text=fallback_text(message),
                    blocks=blocks,
                    unfurl_links=False,
                    unfurl_media=False,
                )
            except SlackApiError as error:  # the parts before this one went out: not again
                later = retry_from(error)
                if later is None:
                    raise
                later.sent = sent
                raise later from None
        for diagram in diagrams:
            await self._pace(channel)
            picture = png(diagram)
            await self.client.files_upload_v2(
                channel=channel,
                file=picture if picture is not None else svg(diagram).encode(),
                filename="causal-map.png" if picture is not None else "causal-map.svg",
                title=diagram.title,
                alt_txt=diagram.alt,
                request_file_info=False,
            )

    async def _upload_export(self, channel: str, export: Export, target: Target) -> None:
        """The file itself, in the person's DM (the same upload as a map's picture)."""
        if self.attachments is None or target.kind != "dm":
            raise UnknownExport("exports go to a person's DM, with attachments configured")
        try:
            made = await self.attachments.make(export, target.owner_id)
        except NothingToExport:
            await self._post(channel, Message((Text(t(target.locale, "exporting.gone")),)))
            return
        if made.note:
            await self._post(channel, Message((Text(made.note),)))
        await self._pace(channel)
        await self.client.files_upload_v2(
            channel=channel,
            file=made.file.data,
            filename=made.file.filename,
            title=made.title,
            alt_txt=made.title,
            request_file_info=False,
        )


class UnknownExport(Exception):
    pass
