"""Where the bot reaches a team's channel or a person's 1:1 chat, kept in the database as
Bot Framework ConversationReferences, so proactive messages work after a restart."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from typing import Any

from bot.teams.connector import Connector
from bot.teams.turn import Turn
from handlers.model import ConversationRef, Platform
from handlers.ports import UnitOfWorkFactory

log = logging.getLogger(__name__)

CHANNEL = "msteams"


class NoConversation(Exception):
    """Nothing stored says where this team or person can be reached."""


@dataclass(frozen=True)
class Address:
    service_url: str
    conversation_id: str


def reference(
    turn: Turn, conversation_id: str, kind: str, user: dict[str, str] | None = None
) -> dict[str, Any]:
    """A ConversationReference in the connector's JSON shape."""
    ref: dict[str, Any] = {
        "channelId": CHANNEL,
        "serviceUrl": turn.service_url,
        "bot": {"id": turn.bot_id, "name": turn.bot_name},
        "conversation": {
            "id": conversation_id,
            "conversationType": kind,
            "tenantId": turn.tenant,
            "isGroup": kind != "personal",
        },
    }
    if user:
        ref["user"] = user
    return ref


def address(ref: dict[str, Any]) -> Address:
    return Address(str(ref["serviceUrl"]), str(ref["conversation"]["id"]))


class Conversations:
    def __init__(self, uow: UnitOfWorkFactory, connector: Connector) -> None:
        self.uow = uow
        self.connector = connector
        self._known: set[tuple[str, str, str]] = set()  # stored this process: no need to look
        self._creating: dict[str, asyncio.Lock] = {}

    async def remember(self, turn: Turn, person_id: int | None, team_id: int | None) -> None:
        """Store where this turn came from (for the person, or the team, the handlers
        resolved), the first time this process sees it."""
        if not turn.service_url or not turn.user_id:
            return
        scope = "person" if turn.personal else "team"
        owner = person_id if turn.personal else team_id
        conversation = turn.conversation_id if turn.personal else turn.channel_id
        key = (scope, conversation, turn.service_url)
        if owner is None or key in self._known:
            return
        if turn.personal:
            user = {"id": turn.user_id, "name": turn.user_name, "aadObjectId": turn.user_aad}
            ref = reference(turn, conversation, "personal", user)
        else:
            ref = reference(turn, conversation, turn.kind)
        async with self.uow() as uow:
            stored = await uow.conversations.find(Platform.TEAMS.value, scope, owner)
            if stored is None or stored.reference != ref:
                await uow.conversations.save(ConversationRef(Platform.TEAMS, scope, owner, ref))
                await uow.commit()
        self._known.add(key)

    async def of_team(self, team_id: int) -> Address:
        async with self.uow() as uow:
            ref = await uow.conversations.find(Platform.TEAMS.value, "team", team_id)
        if ref is None:
            raise NoConversation(f"team {team_id}")
        return address(ref.reference)

    async def of_person(
        self, person_id: int, user_id: str, tenant: str, via: Turn | None = None
    ) -> Address:
        """The person's 1:1 chat with the bot, created the first time it is needed."""
        async with self._creating.setdefault(user_id, asyncio.Lock()):
            # Short transactions: on SQLite even a read holds the write lock until it ends.
            async with self.uow() as uow:
                ref = await uow.conversations.find(Platform.TEAMS.value, "person", person_id)
                origin = via if ref is None and via else None
                if ref is None and origin is None:
                    teams = await uow.conversations.of_teams_of(Platform.TEAMS.value, person_id)
                    origin = _turn_from(teams[0].reference) if teams else None
            if ref is not None:
                return address(ref.reference)
            if origin is None:
                raise NoConversation(f"person {person_id}")
            created = await self.connector.create_conversation(
                origin.service_url,
                {
                    "isGroup": False,
                    "bot": {"id": origin.bot_id, "name": origin.bot_name},
                    "members": [{"id": user_id}],
                    "tenantId": tenant,
                    "channelData": {"tenant": {"id": tenant}},
                },
            )
            service_url = str(created.get("serviceUrl") or origin.service_url)
            turn = replace(origin, service_url=service_url)
            new = reference(turn, str(created["id"]), "personal", {"id": user_id})
            async with self.uow() as uow:
                await uow.conversations.save(
                    ConversationRef(Platform.TEAMS, "person", person_id, new)
                )
                await uow.commit()
            return address(new)


def _turn_from(ref: dict[str, Any]) -> Turn:
    """The parts of a stored reference a new conversation needs, as a Turn."""
    conversation = ref.get("conversation", {})
    bot = ref.get("bot", {})
    return Turn(
        activity_id="",
        service_url=str(ref.get("serviceUrl", "")),
        conversation_id=str(conversation.get("id", "")),
        kind=str(conversation.get("conversationType", "channel")),
        channel_id=str(conversation.get("id", "")),
        channel_name="",
        tenant=str(conversation.get("tenantId", "")),
        user_id="",
        user_name="",
        user_aad="",
        bot_id=str(bot.get("id", "")),
        bot_name=str(bot.get("name", "")),
        reply_to="",
        locale="",
        timezone="",
        timestamp=0.0,
    )
