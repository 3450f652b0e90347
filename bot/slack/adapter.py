"""slack-bolt listeners: Slack requests become neutral events, and an outcome's replies go back
as Slack shows each intent: to the actor as an ephemeral message (or in their DM), a form as a
modal, the message acted on updated in place.

Slack hears 200 only once the event is kept in the database (`Coulisse.receive`): bolt answers
after the listener returns (`process_before_response`), and the listener keeps the event, then
hands the work to a task. When the database cannot keep it, an event gets a 500 (Slack sends it
again) and a click, command or form says at once to try again (Slack never resends those).
A modal submission waits up to two seconds for its answer, to show a refusal in the form
itself. An answer Slack will not take now goes through the outbox instead. Once the answers are
given the adapter says so (`Coulisse.replied`): until then they are kept with the delivery, and
sent by DM through the outbox if this process dies first."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

if TYPE_CHECKING:
    from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow

from bot import faults, metrics
from bot.logs import EVENT_ID, new_event_id
from bot.outbox import RetryLater
from bot.slack.blocks import fallback_text, form_values, home, modal, render
from bot.slack.sender import retry_from
from bot.slack.workspaces import REQUEST_CLIENT, remember_client
from handlers.home import left_out
from handlers.messages import (
    ActionTaken,
    Actor,
    Command,
    Event,
    FormSubmitted,
    Message,
    Outcome,
    Place,
    Reply,
    To,
    Typed,
)
from handlers.ports import NO_ROSTER, Roster
from handlers.router import Coulisse
from prompts.catalog import t

log = logging.getLogger(__name__)

VIEW_WAIT = 2.0  # seconds a modal submission waits for its answer before it is acknowledged
UPDATE_WAIT = 3.0  # seconds an update of the message acted on waits for a rate limit, once
_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!([a-z]+)[^>]*>")


def plain_text(slack_text: str) -> str:
    """Slack's message markup as the plain text a person typed."""
    text = _MENTION.sub(r"@\1", slack_text)
    text = _LINK.sub(lambda m: f"{m[2]} ({m[1]})" if m[2] else m[1], text)
    text = _SPECIAL.sub(r"@\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def clicked_at(action_ts: str) -> datetime | None:
    """Slack's action_ts ("1700000001.900100") as a moment; None when it is missing."""
    try:
        return datetime.fromtimestamp(float(action_ts), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def place_of(channel_id: str, channel_name: str = "", thread: str = "") -> Place:
    if not channel_id or channel_id.startswith("D"):
        return Place("dm", channel_id, thread=thread)
    return Place("channel", channel_id, channel_name or channel_id, thread)


@dataclass
class Where:
    """Where replies go: the channel (ephemeral) or DM, and the message acted on."""

    channel: str
    user: str
    dm: bool
    trigger_id: str = ""
    message_ts: str = ""


class SlackAdapter:
    def __init__(
        self,
        coulisse: Coulisse,
        client: AsyncWebClient,
        signing_secret: str,
        oauth_flow: AsyncOAuthFlow | None = None,
        tokens: Callable[[str], Awaitable[str | None]] | None = None,
    ) -> None:
        """`oauth_flow`: "Add to Slack" (bot/slack/install.py): each workspace's requests are
        authorized, and answered, with its own token; `client` then carries none, and
        `tokens` gives a workspace's for work done after its request (`roster_of`)."""
        self.coulisse = coulisse
        self._client = client
        self._tokens = tokens
        self._bot_users: dict[str, str] = {}  # token -> the bot's user id in that workspace
        self._working: set[asyncio.Task[None]] = set()
        # The client carries the token (and the API URL); bolt asks it who we are. Slack's
        # 200 waits for the listener, which returns once the event is kept (see the top).
        self.app = AsyncApp(
            name="coulisse",  # unnamed, bolt reads every frame's source file (inspect.stack)
            signing_secret=signing_secret,
            client=client,
            process_before_response=True,
            oauth_flow=oauth_flow,
        )
        if oauth_flow is not None:
            self.app.middleware(remember_client)
        self.app.command("/coulisse")(self.on_command)
        self.app.action(re.compile(".*"))(self.on_action)
        self.app.view(re.compile(".*"))(self.on_view)
        self.app.event("message")(self.on_message)
        self.app.event("app_mention")(self.on_mention)
        self.app.event("app_home_opened")(self.on_home)
        self.app.event("member_joined_channel")(self.on_member_joined)

    @property
    def client(self) -> AsyncWebClient:
        """The Web API client for the request being answered (its workspace's token)."""
        return REQUEST_CLIENT.get() or self._client

    async def close(self) -> None:
        """Let the work still running finish (each event was kept, so none would be lost)."""
        if self._working:
            await asyncio.wait(set(self._working), timeout=10)

    # --- incoming -----------------------------------------------------------------------------

    def _later(self, work: Any) -> None:
        """The work for an event kept and acknowledged, in a task of its own."""
        task = asyncio.ensure_future(work)
        self._working.add(task)
        task.add_done_callback(self._working.discard)

    async def _keep(self, event: Event) -> int | bool | None:
        """The kept delivery's id; None when it is already waiting; False when the database
        could not keep it (the person must hear so, or Slack must send it again)."""
        EVENT_ID.set(new_event_id())  # on every line about it, the work after it included
        try:
            return await self.coulisse.receive(event)
        except Exception:
            log.exception("a Slack %s could not be kept", type(event).__name__)
            return False

    def _not_kept(self) -> str:
        return t(self.coulisse.defaults.locale, "errors.not_kept")

    @staticmethod
    def actor(team: str, user: str, name: str = "") -> Actor:
        return Actor("slack", team, user, name)

    async def on_command(self, ack: Any, body: dict[str, Any]) -> None:
        word, _, rest = body.get("text", "").strip().partition(" ")
        place = place_of(body.get("channel_id", ""), body.get("channel_name", ""))
        event = Command(
            word,
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
        kept = await self._keep(event)
        if kept is False:
            await ack(text=self._not_kept())  # shown to the person alone
            return
        await ack()
        if kept is not None:
            self._later(self.run(event, where, kept))

    async def on_action(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        action = body["actions"][0]
        container = body.get("container", {})
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id", "")
        user = body["user"]["id"]
        source = container.get("message_ts") or (body.get("view") or {}).get("id", "")
        value = action.get("value", "")
        action_id = action["action_id"].split("#")[0]
        event = ActionTaken(
            action_id,
            value,
            self.actor(body["user"].get("team_id") or body["team"]["id"], user),
            place_of(channel),
            # The click by who, which button, which message: the core counts it once a moment.
            event_key=f"slack:action:{user}:{action_id}:{value}:{source}",
            clicked_at=clicked_at(action.get("action_ts", "")),
        )
        where = Where(
            channel or user,
            user,
            not channel or channel.startswith("D"),
            body.get("trigger_id", ""),
            container.get("message_ts", ""),
        )
        kept = await self._keep(event)
        await ack()
        if kept is False:
            await self._say_not_kept(body, respond, user)
            return
        home = container.get("type") == "view" and (body.get("view") or {}).get("type") == "home"
        if kept is not None:
            team = body["user"].get("team_id") or body["team"]["id"]
            self._later(self._act(event, where, kept, team if home else ""))

    async def _act(self, event: Event, where: Where, kept: int, home_of: str) -> None:
        await self.run(event, where, kept)
        if home_of:
            await self.publish_home(home_of, where.user)

    async def _say_not_kept(self, body: dict[str, Any], respond: Any, user: str) -> None:
        try:
            if body.get("response_url"):
                await respond(text=self._not_kept(), response_type="ephemeral",
                              replace_original=False)  # fmt: skip
            else:  # a button on the Home tab has no response URL
                await self.client.chat_postMessage(channel=user, text=self._not_kept())
        except Exception:
            log.exception("could not tell someone that their click did not come through")

    async def on_view(self, ack: Any, body: dict[str, Any]) -> None:
        view = body["view"]
        form_id, _, context = view.get("callback_id", "").partition("|")
        meta = json.loads(view.get("private_metadata") or "{}")
        user = body["user"]["id"]
        channel = meta.get("channel", "")
        event = FormSubmitted(
            form_id,
            form_values(view.get("state", {})),
            self.actor(body["user"].get("team_id") or body["team"]["id"], user),
            place_of(channel, meta.get("channel_name", "")),
            context,
            event_key=f"slack:view:{view['id']}",
        )
        first = next((b["block_id"] for b in view.get("blocks", []) if b.get("type") == "input"),
                     "")  # fmt: skip
        kept = await self._keep(event)
        if kept is False:  # the form stays open with what was typed; sending again will do
            await ack(response_action="errors", errors={first: self._not_kept()})
            return
        if kept is None:
            await ack()
            return
        task = asyncio.ensure_future(
            self.coulisse.handle(event, roster=self.channel_members, delivery=kept)
        )
        done, _ = await asyncio.wait({task}, timeout=VIEW_WAIT)
        if done and (outcome := task.result()).refused and outcome.replies:
            # Keep the form open with the reason next to it: nothing typed is lost.
            reason = fallback_text(outcome.replies[0].message)
            faults.before_reply()
            await ack(response_action="errors", errors={first: reason})
            await self.coulisse.replied(kept)
            return
        await ack()
        where = Where(channel if channel and not channel.startswith("D") else user, user,
                      not channel or channel.startswith("D"))  # fmt: skip
        self._later(self._answer_when_done(task, where, kept))

    async def _answer_when_done(
        self, task: asyncio.Future[Outcome], where: Where, kept: int
    ) -> None:
        try:
            outcome = await task
        except Exception:
            log.exception("handling a Slack form failed")
            return
        faults.before_reply()
        await self.answer(outcome, where)
        await self.coulisse.replied(kept)

    async def on_message(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        if event.get("channel_type") != "im" or event.get("bot_id") or event.get("subtype"):
            return  # only people's own messages in their DM with the bot
        typed = Typed(
            plain_text(event.get("text", "")),
            self.actor(body["team_id"], event["user"]),
            place_of(event.get("channel", ""), thread=event.get("thread_ts", "")),
            event_key=f"slack:event:{body.get('event_id', '')}",
        )
        await self._event(typed, Where(event.get("channel", ""), event["user"], dm=True))

    async def on_mention(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        text = _MENTION.sub("", event.get("text", ""), count=1)
        channel = event.get("channel", "")
        typed = Typed(
            plain_text(text),
            self.actor(body["team_id"], event["user"]),
            place_of(channel, thread=event.get("thread_ts", "")),
            event_key=f"slack:event:{body.get('event_id', '')}",
        )
        where = Where(channel, event["user"], dm=channel.startswith("D"))
        await self._event(typed, where)

    async def on_member_joined(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        command = Command(
            "join",
            self.actor(body["team_id"], event["user"]),
            place_of(event.get("channel", "")),
            event_key=f"slack:event:{body.get('event_id', '')}",
        )
        await self._event(command, Where(event.get("channel", ""), event["user"], dm=False))

    async def on_home(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        if event.get("tab") in (None, "home"):
            await self.publish_home(body["team_id"], event["user"])

    async def publish_home(self, team: str, user: str) -> None:
        """The App Home, fresh: my open commitments and my teams' sessions."""
        outcome = await self.coulisse.handle(Command("home", self.actor(team, user), Place("dm")))
        if outcome.replies:
            # Past Slack's 100 blocks the core says what is left out, in the person's language.
            view = home(outcome.replies[0].message, more=lambda rest: left_out(outcome.lang, rest))
            await self.client.views_publish(user_id=user, view=view)

    async def channel_members(self, channel: str) -> list[tuple[str, str]]:
        """Everyone in the channel but the bot (the roster port); nobody if Slack won't say."""
        return await self._members(self.client, channel)

    async def roster_of(self, workspace: str) -> Roster:
        """The roster port for a delivery handled after its request (the intake tick, maybe
        on another replica): with "Add to Slack" no request's client is at hand, so the
        workspace's own token is looked up, before handling begins (inside its transaction
        the look-up would wait for that transaction's own lock on SQLite)."""
        if self._tokens is None:
            return self.channel_members
        token = await self._tokens(workspace)
        if token is None:  # no longer installed there
            return NO_ROSTER
        return functools.partial(
            self._members, AsyncWebClient(token=token, base_url=self._client.base_url)
        )

    async def _members(self, client: AsyncWebClient, channel: str) -> list[tuple[str, str]]:
        try:
            token = client.token or ""
            if token not in self._bot_users:
                self._bot_users[token] = str((await client.auth_test()).get("user_id", ""))
            members: list[str] = []
            cursor = None
            while True:
                page = await client.conversations_members(channel=channel, cursor=cursor, limit=200)
                found: list[str] = list(page.get("members", []))
                members += [m for m in found if m != self._bot_users[token]]
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    return [(m, "") for m in members]
        except SlackApiError as error:
            log.warning("the channel's members are not available: %s", error.response.status_code)
            return []

    async def _event(self, event: Event, where: Where) -> None:
        EVENT_ID.set(new_event_id())
        kept = await self.coulisse.receive(event)  # raises when not kept: Slack hears 500
        if kept is not None:
            self._later(self.run(event, where, kept))

    async def run(self, event: Event, where: Where, kept: int | None = None) -> None:
        try:
            with metrics.handling("slack", event):
                outcome = await self.coulisse.handle(
                    event, roster=self.channel_members, delivery=kept
                )
        except Exception:
            log.exception("handling a Slack %s failed", type(event).__name__)
            return
        faults.before_reply()
        await self.answer(outcome, where)
        await self.coulisse.replied(kept)

    # --- replies ------------------------------------------------------------------------------

    async def answer(self, outcome: Outcome, where: Where) -> None:
        """Each reply as Slack shows its intent; what Slack will not take now goes through
        the outbox to the person's DM (paced and retried there), never lost."""
        for index, reply in enumerate(outcome.replies):
            try:
                await self._give(reply, where)
            except RetryLater as later:
                await self.coulisse.later(outcome, reply, index, later.seconds, later.sent)

    async def _give(self, reply: Reply, where: Where) -> None:
        if reply.to == To.ACTED_ON:
            await self._update(reply.message, where)
        elif reply.to == To.FORM and where.trigger_id and reply.form is not None:
            meta = json.dumps({"channel": where.channel if not where.dm else ""})
            trigger, where.trigger_id = where.trigger_id, ""  # a trigger opens one modal
            try:
                await self.client.views_open(
                    trigger_id=trigger, view=modal(reply.form, private_metadata=meta)
                )
            except SlackApiError as error:  # expired or refused: a button that opens it
                log.info("a modal did not open: %s", error.response.get("error", ""))
                await self._post(reply.message, where)
        elif reply.to == To.CHANNEL and not where.dm:
            await self._post(reply.message, where, everyone=True)
        else:
            await self._post(reply.message, where)

    async def _update(self, message: Message, where: Where) -> None:
        """The message acted on, for everyone; a rate limit is waited out once."""
        if not where.message_ts or where.dm:
            return
        parts = render(message)
        if len(parts) > 1:  # the core's replacements (a ballot's page) fit one message
            log.warning("a message in place of another needs %d; only the first fits", len(parts))
        for attempt in (1, 2):
            try:
                await self.client.chat_update(
                    channel=where.channel,
                    ts=where.message_ts,
                    text=fallback_text(message),
                    blocks=parts[0],
                )
                return
            except SlackApiError as error:
                later = retry_from(error)
                if later is None or attempt == 2:
                    log.warning("a message was not updated: %s", error.response.status_code)
                    return
                await asyncio.sleep(min(later.seconds, UPDATE_WAIT))

    async def _post(self, message: Message, where: Where, *, everyone: bool = False) -> None:
        """Privately (ephemeral in a channel, the DM itself), or to the channel; a failure
        says how many parts reached the person, so that the outbox sends only the rest."""
        for sent, blocks in enumerate(render(message)):
            try:
                if where.dm or everyone:
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
            except SlackApiError as error:
                later = retry_from(error) or RetryLater(0, str(error.response.get("error", "")))
                later.sent = sent
                raise later from None
