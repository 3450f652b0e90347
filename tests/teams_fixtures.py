"""Teams over real HTTP on loopback: `coulisse serve` with the fake connector, a client that posts
the activities Teams posts (conversationUpdate, message, invoke) to /api/messages, and the card
checks against tests/specs."""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from jsonschema import Draft6Validator

from bot.config import Settings
from bot.serve import running
from bot.teams.wiring import Teams
from bot.web import TEAMS
from bot.wiring import App
from tests.fake_connector import FakeConnector
from tests.fake_slack import free_port, on_loopback

SPECS = Path(__file__).resolve().parent / "specs" / "teams"
TENANT = "72f988bf-0000-4000-8000-000000000001"
BOT = {"id": "28:coulisse-bot", "name": "Coulisse"}
TEAM = "19:team-noord@thread.tacv2"  # the team's General channel has the team's id
PEOPLE = {
    "29:U1": "Sanne de Vries",
    "29:U2": "Ahmed El Amrani",
    "29:U3": "Fleur Jansen",
    "29:U4": "Joost Bakker",
    "29:U5": "Noor Visser",
}


def card_validator() -> Draft6Validator:
    schema = json.loads((SPECS / "adaptive-card-1.5.0.schema.json").read_text(encoding="utf-8"))
    Draft6Validator.check_schema(schema)
    return Draft6Validator(schema)


def card_problems(validator: Draft6Validator, card: dict[str, Any]) -> list[str]:
    """What is wrong with a card: the schema's findings (without the Teams-only `msteams`), and
    the root `type` and `version` the schema does not check."""
    found = [
        e.message for e in validator.iter_errors({k: v for k, v in card.items() if k != "msteams"})
    ]
    if card.get("type") != "AdaptiveCard":
        found.append("the root type is not AdaptiveCard")
    if card.get("version") != "1.5":
        found.append("the version is not 1.5")
    return found


@dataclass
class TeamsClient:
    """Sends what Teams sends, to the bot's /api/messages."""

    url: str
    service_url: str
    session: aiohttp.ClientSession
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    headers: dict[str, str] = field(default_factory=dict)

    def _base(self, user: str, conversation: dict[str, Any], channel: str = "") -> dict[str, Any]:
        data: dict[str, Any] = {"tenant": {"id": TENANT}}
        if conversation["conversationType"] == "channel":
            data["team"] = {"id": TEAM, "name": "Wijkteam Noord"}
            data["channel"] = {"id": channel or TEAM, "name": "wijkteam-noord"}
        return {
            "id": f"f:{next(self._ids)}",
            "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "localTimestamp": datetime.now(UTC).isoformat(),
            "localTimezone": "Europe/Amsterdam",
            "serviceUrl": self.service_url,
            "channelId": "msteams",
            "from": {"id": user, "name": PEOPLE.get(user, user), "aadObjectId": f"aad-{user[3:]}"},
            "conversation": {"tenantId": TENANT, **conversation},
            "recipient": BOT,
            "channelData": data,
            "locale": "nl-NL",
        }

    @staticmethod
    def channel(channel: str = TEAM, thread: str = "") -> dict[str, Any]:
        conv = f"{channel};messageid={thread}" if thread else channel
        return {"id": conv, "conversationType": "channel", "isGroup": True}

    @staticmethod
    def chat(conversation: str) -> dict[str, Any]:
        return {"id": conversation, "conversationType": "personal"}

    async def post(
        self, activity: dict[str, Any], headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        all_headers = {**self.headers, **(headers or {})}
        async with self.session.post(self.url, json=activity, headers=all_headers) as resp:
            body = await resp.text()
            return resp.status, (json.loads(body) if body else None)

    async def install(self, installer: str = "29:U1") -> int:
        activity = {
            **self._base(installer, self.channel()),
            "type": "conversationUpdate",
            "membersAdded": [{"id": BOT["id"]}],
        }
        activity["channelData"]["eventType"] = "teamMemberAdded"
        status, _ = await self.post(activity)
        return status

    async def members_added(self, added: list[str], by: str = "29:U1") -> int:
        activity = {
            **self._base(by, self.channel()),
            "type": "conversationUpdate",
            "membersAdded": [{"id": u, "aadObjectId": f"aad-{u[3:]}"} for u in added],
        }
        status, _ = await self.post(activity)
        return status

    async def mention(self, user: str, text: str, activity_id: str | None = None) -> int:
        """`@Coulisse <text>` in the channel: a new post."""
        activity = {
            **self._base(user, self.channel(thread=str(next(self._ids)))),
            "type": "message",
            "text": f"<at>Coulisse</at> {text}",
            "textFormat": "plain",
            "entities": [{"type": "mention", "mentioned": BOT, "text": "<at>Coulisse</at>"}],
        }
        if activity_id:
            activity["id"] = activity_id
        status, _ = await self.post(activity)
        return status

    async def say(
        self, user: str, conversation: str, text: str, activity_id: str | None = None
    ) -> int:
        """A message in the person's 1:1 chat with the bot."""
        activity = {**self._base(user, self.chat(conversation)), "type": "message", "text": text}
        if activity_id:
            activity["id"] = activity_id
        status, _ = await self.post(activity)
        return status

    async def execute(
        self,
        user: str,
        conversation: dict[str, Any],
        reply_to: str,
        action: dict[str, Any],
        inputs: dict[str, Any] | None = None,
        timestamp: str | None = None,
    ) -> tuple[int, Any]:
        """An Action.Execute on a card: the invoke Teams sends (inputs merged into data)."""
        activity = {
            **self._base(user, conversation),
            "type": "invoke",
            "name": "adaptiveCard/action",
            "replyToId": reply_to,
            "value": {
                "action": {
                    "type": "Action.Execute",
                    "verb": action["verb"],
                    "data": {**action.get("data", {}), **(inputs or {})},
                },
                "trigger": "manual",
            },
        }
        if timestamp:
            activity["timestamp"] = timestamp
        return await self.post(activity)

    async def submit(
        self, user: str, conversation: dict[str, Any], reply_to: str, data: dict[str, Any]
    ) -> int:
        """An Action.Submit on a card: a message whose value is the data and inputs."""
        activity = {
            **self._base(user, conversation),
            "type": "message",
            "replyToId": reply_to,
            "value": data,
        }
        status, _ = await self.post(activity)
        return status


@dataclass
class TeamsStack:
    connector: FakeConnector
    client: TeamsClient
    app: App
    teams: Teams
    base: str


@contextlib.asynccontextmanager
async def fake_connector(in_front: Any = None) -> AsyncIterator[FakeConnector]:
    """The fake connector on loopback, knowing the team's roster; `in_front`, an aiohttp
    middleware before it (the fault scenarios' throttling), then without an access log."""
    fake = FakeConnector()
    app = fake.app()
    if in_front is not None:
        app.middlewares.append(in_front)
    fake.members[TEAM] = [
        {"id": uid, "name": name, "aadObjectId": f"aad-{uid[3:]}"} for uid, name in PEOPLE.items()
    ]
    async with on_loopback(app, quiet=in_front is not None) as fake.url:
        yield fake


def teams_settings(database_url: str, **extra: Any) -> Settings:
    return Settings(
        database_url=database_url, allow_unauthenticated=True, outbox_interval=0.05, **extra
    )


@contextlib.asynccontextmanager
async def serving(database_url: str, fake: FakeConnector) -> AsyncIterator[TeamsStack]:
    """`coulisse serve` on loopback, Teams without authentication, the fake connector behind."""
    port = free_port()
    async with (
        running(teams_settings(database_url), "127.0.0.1", port) as (app, _slack, runner),
        aiohttp.ClientSession() as session,
    ):
        base = f"http://127.0.0.1:{port}"
        client = TeamsClient(f"{base}/api/messages", fake.url, session)
        teams = runner.app[TEAMS]
        teams.adapter.invoke_wait = 10.0  # answers in the response, however slow the machine
        yield TeamsStack(fake, client, app, teams, base)
