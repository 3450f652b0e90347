"""botbuilder's TeamsActivityHandler: Teams activities become neutral events; an outcome's
replies go where `replies` shows each intent. The adapter decides nothing: what text means,
who joins a team on installation, whose answer it is, all come back from the core."""

from __future__ import annotations

import asyncio
import hashlib
import html
import json
import logging
import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.schema import ChannelAccount
from botbuilder.schema.teams import FileConsentCardResponse, TeamInfo

from bot import faults, metrics
from bot.logs import EVENT_ID, new_event_id
from bot.teams.cards import ActionSubmission, submission
from bot.teams.connector import Connector
from bot.teams.files import Handover
from bot.teams.media import Pictures
from bot.teams.pacing import Pacer
from bot.teams.references import Conversations
from bot.teams.replies import InvokeAnswer, Replies
from bot.teams.turn import Turn
from bot.teams.updates import CardUpdates
from handlers.messages import (
    ActionTaken,
    Command,
    Event,
    Export,
    FormSubmitted,
    Installed,
    Outcome,
    Typed,
)
from handlers.ports import Roster, UnitOfWorkFactory
from handlers.router import Coulisse
from prompts.catalog import language, t

log = logging.getLogger(__name__)

# Seconds a card action waits for its answer before Teams hears "received" (the answer then
# follows in the person's chat). Teams gives an invoke five seconds, then retries it and shows
# an error; meanwhile the button shows its own spinner. A vote takes about 10 ms, but a burst
# of a whole team voting queues them: 200 votes in one second end within about 0.6 s on
# SQLite (bench/teams_turn.py). Two seconds answers such a burst in the card itself and still
# leaves Teams' limit three seconds for the network and a slow machine.
INVOKE_WAIT = 2.0
CLOSE_WAIT = 10.0
MESSAGE_RESPONSE = "application/vnd.microsoft.activity.message"
ERROR_RESPONSE = "application/vnd.microsoft.error"
_AT = re.compile(r"<at>(.*?)</at>", re.S)
_TAG = re.compile(r"<[^>]+>")


def plain_text(text: str) -> str:
    """Teams' message text as the plain text a person typed (mentions as @name)."""
    text = _AT.sub(lambda m: f"@{m[1]}", text or "")
    return html.unescape(_TAG.sub("", text)).replace("\xa0", " ").strip()


class NotKept(Exception):
    """The database could not keep an activity before its answer."""


def _digest(values: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]


class TeamsAdapter(TeamsActivityHandler):
    def __init__(
        self,
        coulisse: Coulisse,
        uow: UnitOfWorkFactory,
        connector: Connector,
        *,
        pacer: Pacer | None = None,
        timezone: str = "Europe/Amsterdam",
        handover: Handover | None = None,
        pictures: Pictures | None = None,
    ) -> None:
        super().__init__()
        self._removing: set[asyncio.Future[None]] = set()  # invokes' rows, kept referenced
        self.handover = handover
        self.coulisse = coulisse
        self.connector = connector
        self.pacer = pacer or Pacer()
        self.conversations = Conversations(uow, connector)
        self.updates = CardUpdates(connector, self.pacer)
        self.replies = Replies(
            coulisse, connector, self.conversations, self.pacer, self.updates, self.roster,
            pictures,
        )  # fmt: skip
        self.timezone = timezone
        self.invoke_wait = INVOKE_WAIT
        self._working: set[asyncio.Future[None]] = set()

    async def close(self) -> None:
        """Let card actions still at work finish (they were answered "received"), then stop."""
        if self._working:
            await asyncio.wait(set(self._working), timeout=CLOSE_WAIT)
        await self.updates.close()

    # --- incoming -----------------------------------------------------------------------------

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        turn = Turn.of(turn_context.activity)
        value = turn_context.activity.value
        if isinstance(value, dict) and value:  # Action.Submit from an older client
            await self.submit(turn, value)
            return
        TurnContext.remove_recipient_mention(turn_context.activity)
        text = plain_text(turn_context.activity.text or "")
        key = f"teams:activity:{turn.conversation_id}:{turn.activity_id}"
        # In a channel the bot hears only what mentions it; in the 1:1 chat everything.
        await self.run(Typed(text, turn.actor(), turn.place(), key), turn)

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        if turn_context.activity.name != "adaptiveCard/action":
            return await super().on_invoke_activity(turn_context)
        # Answered here rather than through on_adaptive_card_invoke: botbuilder's model
        # cannot serialize a text value, which is what shows the answer to the clicker alone.
        value = turn_context.activity.value
        action = value.get("action") if isinstance(value, dict) else None
        if not isinstance(action, dict) or action.get("type") != "Action.Execute":
            error = {"code": "BadRequest", "message": "not an Action.Execute"}
            return InvokeResponse(status=400, body={"statusCode": 400, "type": ERROR_RESPONSE,
                                                    "value": error})  # fmt: skip
        turn = Turn.of(turn_context.activity)
        answer = InvokeAnswer()
        work = asyncio.ensure_future(self.submit(turn, action.get("data"), answer))
        await asyncio.wait({work}, timeout=self.invoke_wait)
        said = answer.close()
        if work.done() and isinstance(work.exception(), NotKept):
            log.error("a card action could not be kept", exc_info=work.exception())
            said = t(language(turn.locale), "errors.not_kept")  # nothing kept: try again
        elif work.done():
            work.result()  # a failure is the request's: 500
        else:
            # Under a burst the person hears "received" now; the answer follows in their chat.
            self._working.add(work)
            work.add_done_callback(self._finished)
            said = said or t(language(turn.locale), "teams.received")
        return InvokeResponse(
            status=200, body={"statusCode": 200, "type": MESSAGE_RESPONSE, "value": said}
        )

    async def on_teams_file_consent_accept(
        self, turn_context: TurnContext, file_consent_card_response: FileConsentCardResponse
    ) -> None:
        """The person let the bot put the file in their OneDrive: the handlers say whether it
        may still go (a coordinator of that team), then it is made, uploaded and shown."""
        turn = Turn.of(turn_context.activity)
        context = file_consent_card_response.context
        export = context.get("export") if isinstance(context, dict) else None
        key = f"teams:activity:{turn.conversation_id}:{turn.activity_id}"
        event = ActionTaken("export_file", json.dumps(export), turn.actor(), turn.place(), key)
        outcome, kept = await self._handle(event, turn)
        allowed = [b for m in outcome.messages for b in m.blocks if isinstance(b, Export)]
        if allowed and self.handover is not None:
            await self.handover(allowed[0], turn, file_consent_card_response.upload_info, outcome)
        else:
            await self.conversations.remember(turn, outcome.person_id, outcome.team_id)
            await self.replies.deliver(outcome, turn)  # a polite no (or nothing: a redelivery)
        await self.coulisse.replied(kept)

    async def on_teams_file_consent_decline(
        self, turn_context: TurnContext, file_consent_card_response: FileConsentCardResponse
    ) -> None:
        turn = Turn.of(turn_context.activity)
        key = f"teams:activity:{turn.conversation_id}:{turn.activity_id}"
        await self.run(ActionTaken("export_declined", "", turn.actor(), turn.place(), key), turn)

    def _finished(self, work: asyncio.Future[None]) -> None:
        self._working.discard(work)
        if not work.cancelled() and work.exception() is not None:
            log.error("a card action failed after its answer", exc_info=work.exception())

    async def submit(self, turn: Turn, data: Any, answer: InvokeAnswer | None = None) -> None:
        """A card's button or form, as ActionTaken or FormSubmitted."""
        sent = submission(data, self.zone(turn))
        if sent is None:
            log.info("a card submission without action or form")
            return
        # Only a personal chat acts for a channel (a form asked for there); elsewhere the
        # conversation itself says where.
        place = turn.place(sent.channel if turn.personal else "")
        # When Teams says it was sent: the core counts the same click (or the same form with the
        # same values) once within a moment, wherever the clock's second falls.
        at = datetime.fromtimestamp(turn.timestamp, UTC) if turn.timestamp else None
        event: Event
        if isinstance(sent, ActionSubmission):
            event = ActionTaken(
                sent.action_id,
                sent.value,
                turn.actor(),
                place,
                # The click by who, which button, which card: the core counts it once a moment.
                f"teams:action:{turn.user_id}:{sent.action_id}:{sent.value}:{turn.reply_to}",
                clicked_at=at,
            )
        else:
            values = dict(sent.values)
            event = FormSubmitted(
                sent.form_id,
                values,
                turn.actor(),
                place,
                sent.context,
                f"teams:form:{turn.user_id}:{sent.form_id}:{turn.reply_to}:{_digest(values)}",
                clicked_at=at,
            )
        await self.run(event, turn, answer=answer)

    async def on_teams_members_added_dispatch(
        self, members_added: list[ChannelAccount], team_info: TeamInfo, turn_context: TurnContext
    ) -> None:
        # Replaces botbuilder's, which asks the connector about each member one by one.
        turn = Turn.of(turn_context.activity)
        added = [m for m in members_added if m.id != turn.bot_id]
        key = f"teams:activity:{turn.conversation_id}:{turn.activity_id}"
        if len(added) < len(members_added):
            await self.installed(turn, key)
        if turn.personal:
            return
        for member in added:
            event = Command(
                "join", turn.actor(member.id, member.name or ""), turn.place(), "",
                f"{key}:{member.id}",
            )  # fmt: skip
            await self.run(event, turn, user=member.id)  # welcomed in their own chat

    async def installed(self, turn: Turn, key: str) -> None:
        """The bot was added to a personal chat, a team or a group chat."""
        await self.run(Installed(turn.actor(), turn.place(), key), turn)

    async def roster(self, service_url: str, conversation_id: str) -> list[tuple[str, str]]:
        """(id, name) of everyone in the team or chat; nobody when the connector will not say."""
        try:
            members = await self.connector.members(service_url, conversation_id)
        except Exception as error:
            log.warning("the roster is not available: %s", type(error).__name__)
            return []
        return [(str(m["id"]), str(m.get("name") or "")) for m in members if m.get("id")]

    def zone(self, turn: Turn) -> ZoneInfo:
        for name in (turn.timezone, self.timezone):
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
        return ZoneInfo("UTC")

    def roster_of(self, turn: Turn) -> Roster:
        """The roster port for the core, bound to where this turn came from."""

        async def members(channel_id: str) -> list[tuple[str, str]]:
            people = await self.roster(turn.service_url, channel_id)
            return [(i, name) for i, name in people if i != turn.bot_id]

        return members

    async def run(
        self, event: Event, turn: Turn, *, answer: InvokeAnswer | None = None, user: str = ""
    ) -> None:
        outcome, kept = await self._handle(event, turn)
        await self.conversations.remember(turn, outcome.person_id, outcome.team_id)
        faults.before_reply()
        await self.replies.deliver(outcome, turn, answer=answer, user=user)
        if answer is None:  # given: the row is gone before this turn's 200
            await self.coulisse.replied(kept)
        else:  # handed to the invoke response, which goes out as this turn ends: the row is
            # removed in the background, nearly always after that response left
            self._removing.add(task := asyncio.ensure_future(self.coulisse.replied(kept)))
            task.add_done_callback(self._removing.discard)

    async def _handle(self, event: Event, turn: Turn) -> tuple[Outcome, int | None]:
        """Kept first, then handled: a turn that fails to keep its event answers 500 (or, for
        a card, says to try again), never 200 for something not kept. A delivery already
        waiting (Teams sent it again) has nothing more to do. With the kept delivery's id,
        for `Coulisse.replied`."""
        EVENT_ID.set(new_event_id())  # on every line about it, the work after it included
        try:
            kept = await self.coulisse.receive(event)
        except Exception as error:
            raise NotKept from error
        if kept is None:
            return Outcome(duplicate=True, event_key=event.event_key), None
        with metrics.handling("teams", event):
            outcome = await self.coulisse.handle(event, roster=self.roster_of(turn), delivery=kept)
        return outcome, kept
