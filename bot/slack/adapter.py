"""slack-bolt listeners: Slack requests become neutral events; replies go back as ephemeral
messages, DMs, modals or an updated message. Every request is acknowledged first; the work
happens after the ack (a modal submission waits up to two seconds, to show a refusal in the
form itself)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.blocks import fallback_text, form_values, home, modal, render
from handlers.messages import (
    ActionTaken,
    Actor,
    Command,
    Event,
    Form,
    FormSubmitted,
    Message,
    Place,
)
from handlers.router import Coulisse

log = logging.getLogger(__name__)

VIEW_WAIT = 2.0  # seconds a modal submission waits for its answer before it is acknowledged
DOUBLE_CLICK = 2  # seconds within which the same click counts once
_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!([a-z]+)[^>]*>")


def plain_text(slack_text: str) -> str:
    """Slack's message markup as the plain text a person typed."""
    text = _MENTION.sub(r"@\1", slack_text)
    text = _LINK.sub(lambda m: f"{m[2]} ({m[1]})" if m[2] else m[1], text)
    text = _SPECIAL.sub(r"@\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def place_of(channel_id: str, channel_name: str = "") -> Place:
    if not channel_id or channel_id.startswith("D"):
        return Place("dm", channel_id)
    return Place("channel", channel_id, channel_name or channel_id)


@dataclass
class Where:
    """Where replies go: the channel (ephemeral) or DM, and the message acted on."""

    channel: str
    user: str
    dm: bool
    trigger_id: str = ""
    message_ts: str = ""


class SlackAdapter:
    def __init__(self, coulisse: Coulisse, client: AsyncWebClient, signing_secret: str) -> None:
        self.coulisse = coulisse
        self.client = client
        self._bot_user: str | None = None
        # The client carries the token (and the API URL); bolt asks it who we are.
        self.app = AsyncApp(
            signing_secret=signing_secret, client=client, process_before_response=False
        )
        self.app.command("/coulisse")(self.on_command)
        self.app.action(re.compile(".*"))(self.on_action)
        self.app.view(re.compile(".*"))(self.on_view)
        self.app.event("message")(self.on_message)
        self.app.event("app_mention")(self.on_mention)
        self.app.event("app_home_opened")(self.on_home)
        self.app.event("member_joined_channel")(self.on_member_joined)

    # --- incoming -----------------------------------------------------------------------------

    @staticmethod
    def actor(team: str, user: str, name: str = "") -> Actor:
        return Actor("slack", team, user, name)

    async def on_command(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        word, _, rest = body.get("text", "").strip().partition(" ")
        place = place_of(body.get("channel_id", ""), body.get("channel_name", ""))
        event = Command(
            word or "help",
            self.actor(body["team_id"], body["user_id"], body.get("user_name", "")),
            place,
            args=plain_text(rest),
            event_key=f"slack:command:{body.get('trigger_id', '')}",
        )
        where = Where(
            body.get("channel_id", ""),
            body["user_id"],
            place.kind == "dm",
            body.get("trigger_id", ""),
        )
        await self.run(event, where)

    async def on_action(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        action = body["actions"][0]
        container = body.get("container", {})
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id", "")
        user = body["user"]["id"]
        source = container.get("message_ts") or (body.get("view") or {}).get("id", "")
        bucket = int(float(action.get("action_ts", "0") or 0)) // DOUBLE_CLICK
        value = action.get("value", "")
        action_id = action["action_id"].split("#")[0]
        event = ActionTaken(
            action_id,
            value,
            self.actor(body["user"].get("team_id") or body["team"]["id"], user),
            place_of(channel),
            # A double click is the same user, button and message within a moment: one effect.
            event_key=f"slack:action:{user}:{action_id}:{value}:{source}:{bucket}",
        )
        where = Where(
            channel or user,
            user,
            not channel or channel.startswith("D"),
            body.get("trigger_id", ""),
            container.get("message_ts", ""),
        )
        await self.run(event, where)
        if container.get("type") == "view" and (body.get("view") or {}).get("type") == "home":
            await self.publish_home(body["user"].get("team_id") or body["team"]["id"], user)

    async def on_view(self, ack: Any, body: dict[str, Any]) -> None:
        view = body["view"]
        form_id, _, context = view.get("callback_id", "").partition("|")
        meta = json.loads(view.get("private_metadata") or "{}")
        user = body["user"]["id"]
        channel = meta.get("channel", "")
        values = form_values(view.get("state", {}))
        if form_id == "new_session" and not values.get("members") and channel:
            values["members"] = ",".join(await self.channel_members(channel))
        event = FormSubmitted(
            form_id,
            values,
            self.actor(body["user"].get("team_id") or body["team"]["id"], user),
            place_of(channel, meta.get("channel_name", "")),
            context,
            event_key=f"slack:view:{view['id']}",
        )
        task = asyncio.ensure_future(self.coulisse.handle(event))
        done, _ = await asyncio.wait({task}, timeout=VIEW_WAIT)
        if done and (replies := task.result()) and replies[0].refused:
            # Keep the form open with the reason next to it: nothing typed is lost.
            first = next(
                (b["block_id"] for b in view.get("blocks", []) if b.get("type") == "input"), ""
            )
            await ack(response_action="errors", errors={first: fallback_text(replies[0])})
            return
        await ack()
        where = Where(channel if channel and not channel.startswith("D") else user, user,
                      not channel or channel.startswith("D"))  # fmt: skip
        await self.reply(await task, where)

    async def on_message(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        if event.get("channel_type") != "im" or event.get("bot_id") or event.get("subtype"):
            return  # only people's own messages in their DM with the bot
        text = plain_text(event.get("text", ""))
        word = text.strip().casefold()
        name = "help" if word in ("help", "hulp", "?") else "add"
        command = Command(
            name,
            self.actor(body["team_id"], event["user"]),
            Place("dm", event.get("channel", "")),
            args="" if name == "help" else text,
            event_key=f"slack:event:{body.get('event_id', '')}",
        )
        await self.run(command, Where(event.get("channel", ""), event["user"], dm=True))

    async def on_mention(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        text = _MENTION.sub("", event.get("text", ""), count=1).strip()
        word, _, rest = plain_text(text).partition(" ")
        command = Command(
            word or "help",
            self.actor(body["team_id"], event["user"]),
            place_of(event.get("channel", "")),
            args=rest,
            event_key=f"slack:event:{body.get('event_id', '')}",
        )
        await self.run(command, Where(event.get("channel", ""), event["user"], dm=False))

    async def on_member_joined(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        command = Command(
            "join",
            self.actor(body["team_id"], event["user"]),
            place_of(event.get("channel", "")),
            event_key=f"slack:event:{body.get('event_id', '')}",
        )
        await self.run(command, Where(event.get("channel", ""), event["user"], dm=False))

    async def on_home(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        if event.get("tab") in (None, "home"):
            await self.publish_home(body["team_id"], event["user"])

    async def publish_home(self, team: str, user: str) -> None:
        """The App Home, fresh: my open commitments and my teams' sessions."""
        replies = await self.coulisse.handle(Command("home", self.actor(team, user), Place("dm")))
        if replies:
            await self.client.views_publish(user_id=user, view=home(replies[0]))

    async def channel_members(self, channel: str) -> list[str]:
        """Everyone in the channel but the bot: a session's people when none were chosen."""
        if self._bot_user is None:
            self._bot_user = str((await self.client.auth_test()).get("user_id", ""))
        members: list[str] = []
        cursor = None
        while True:
            page = await self.client.conversations_members(
                channel=channel, cursor=cursor, limit=200
            )
            found: list[str] = list(page.get("members", []))
            members += [m for m in found if m != self._bot_user]
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return members

    async def run(self, event: Event, where: Where) -> None:
        try:
            replies = await self.coulisse.handle(event)
        except Exception:
            log.exception("handling a Slack %s failed", type(event).__name__)
            return
        await self.reply(replies, where)

    # --- replies ------------------------------------------------------------------------------

    async def reply(self, replies: list[Message], where: Where) -> None:
        meta = json.dumps({"channel": where.channel if not where.dm else ""})
        for message in replies:
            forms = [b for b in message.blocks if isinstance(b, Form)]
            if forms and where.trigger_id:
                await self.client.views_open(
                    trigger_id=where.trigger_id, view=modal(forms[0], private_metadata=meta)
                )
                rest = Message(tuple(b for b in message.blocks if not isinstance(b, Form)))
                if rest.blocks:
                    await self._send(rest, where)
                where.trigger_id = ""  # a trigger opens one modal
                continue
            if message.replace:
                if where.message_ts and not where.dm:
                    await self.client.chat_update(
                        channel=where.channel,
                        ts=where.message_ts,
                        text=fallback_text(message),
                        blocks=render(message)[0],
                    )
                continue
            await self._send(message, where)

    async def _send(self, message: Message, where: Where) -> None:
        for blocks in render(message):
            if where.dm:
                await self.client.chat_postMessage(
                    channel=where.channel or where.user,
                    text=fallback_text(message),
                    blocks=blocks,
                    unfurl_links=False,
                    unfurl_media=False,
                )
            else:
                await self.client.chat_postEphemeral(
                    channel=where.channel,
                    user=where.user,
                    text=fallback_text(message),
                    blocks=blocks,
                )
