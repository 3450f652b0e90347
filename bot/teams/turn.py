"""What one incoming activity says about who, where and what, read once."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from botbuilder.schema import Activity

from handlers.messages import Actor, Place
from handlers.model import Platform

NO_TENANT = "default"  # the Bot Framework Emulator sends no tenant


def _get(data: Any, *path: str) -> str:
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return str(data or "")


@dataclass(frozen=True)
class Turn:
    activity_id: str
    service_url: str
    conversation_id: str  # as it came; in a channel thread it ends in ";messageid=…"
    kind: str  # "personal", "channel" or "groupChat"
    channel_id: str  # the team's channel or the group chat; empty in a personal chat
    channel_name: str
    tenant: str
    user_id: str
    user_name: str
    user_aad: str
    bot_id: str
    bot_name: str
    reply_to: str  # the activity a card action came from
    locale: str
    timezone: str
    timestamp: float

    @classmethod
    def of(cls, activity: Activity) -> Turn:
        data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
        conversation = activity.conversation
        conv_id = str(conversation.id or "") if conversation else ""
        kind = str(getattr(conversation, "conversation_type", "") or "") or "personal"
        if kind == "channel":
            channel = _get(data, "channel", "id") or conv_id.split(";")[0]
            name = _get(data, "channel", "name") or _get(data, "team", "name")
        elif kind == "groupChat":
            channel, name = conv_id, str(getattr(conversation, "name", "") or "")
        else:
            channel, name = "", ""
        tenant = (
            _get(data, "tenant", "id")
            or str(getattr(conversation, "tenant_id", "") or "")
            or NO_TENANT
        )
        sender, recipient = activity.from_property, activity.recipient
        stamp = activity.timestamp.timestamp() if activity.timestamp else time.time()
        return cls(
            activity_id=str(activity.id or ""),
            service_url=str(activity.service_url or ""),
            conversation_id=conv_id,
            kind=kind,
            channel_id=channel,
            channel_name=name or channel,
            tenant=tenant,
            user_id=str(sender.id or "") if sender else "",
            user_name=str(sender.name or "") if sender else "",
            user_aad=str(getattr(sender, "aad_object_id", "") or "") if sender else "",
            bot_id=str(recipient.id or "") if recipient else "",
            bot_name=str(recipient.name or "") if recipient else "",
            reply_to=str(activity.reply_to_id or ""),
            locale=str(activity.locale or ""),
            timezone=str(getattr(activity, "local_timezone", "") or ""),
            timestamp=stamp,
        )

    @property
    def personal(self) -> bool:
        return self.kind == "personal"

    def actor(self, user_id: str = "", name: str = "") -> Actor:
        if user_id and user_id != self.user_id:
            return Actor(Platform.TEAMS.value, self.tenant, user_id, name)
        return Actor(Platform.TEAMS.value, self.tenant, self.user_id, self.user_name, "",
                     self.locale)  # fmt: skip

    def place(self, channel: str = "") -> Place:
        """Where it happened; `channel` when a personal chat acts for a channel (a form)."""
        if channel:
            return Place("channel", channel, channel)
        if self.personal:
            return Place("dm", self.conversation_id)
        return Place("channel", self.channel_id, self.channel_name)
