"""A fake Slack on loopback: the Web API the bot calls (recording every call, with parameters
from the query string, a form or JSON) and a client that sends signed requests to the bot.
Like Slack, it refuses a payload over Slack's limits (tests/slack_limits.py)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import random
import socket
import time
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.slack_limits import problems

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
JSON_PARAMS = {"blocks", "view", "attachments", "files"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def on_loopback(app: web.Application, *, quiet: bool = False) -> AsyncIterator[str]:
    """`app` (a fake's) served on a free loopback port for the block; yields its base URL.
    `quiet`: no access log (fault scenarios send thousands of requests)."""
    runner = web.AppRunner(app, access_log=None) if quiet else web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    ts: str = ""  # the message's ts as the fake answered it (chat.postMessage)


@dataclass
class FakeSlackApi:
    calls: list[Call] = field(default_factory=list)
    failures: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    uploads: list[bytes] = field(default_factory=list)
    members: dict[str, list[str]] = field(default_factory=dict)  # channel -> user ids
    _ts: Any = field(default_factory=lambda: itertools.count(1))
    url: str = ""
    # method -> [(status, probability)]: a flaky Slack, seeded so that a run can be repeated.
    flaky: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    random: random.Random = field(default_factory=lambda: random.Random(12))
    refused: list[Call] = field(default_factory=list)  # calls answered with an injected fault
    checked: int = 0  # payloads (a message's blocks, a view) checked against Slack's limits
    over_limits: list[tuple[str, str, str]] = field(default_factory=list)  # method, error, why

    def fail(self, method: str, status: int, headers: dict[str, str] | None = None) -> None:
        """The next call of `method` gets this HTTP status (429 with Retry-After, 500, …)."""
        self.failures.setdefault(method, []).append((status, headers or {}))

    def of(self, method: str) -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.method == method]

    def texts(self, method: str = "chat.postMessage") -> str:
        """Everything the bot said through `method`, as one string (blocks included)."""
        return "\n".join(json.dumps(p, ensure_ascii=False) for p in self.of(method))

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.can_read_body:
            params.update(dict(await request.post()))
        for key in JSON_PARAMS & params.keys():
            if isinstance(params[key], str):
                params[key] = json.loads(params[key])
        params.pop("token", None)
        queued = self.failures.get(method)
        if queued:
            status, headers = queued.pop(0)
            return web.json_response(
                {"ok": False, "error": "fake_failure"}, status=status, headers=headers
            )
        draw, odds = self.random.random(), 0.0
        for status, probability in self.flaky.get(method, []):
            odds += probability
            if draw < odds:  # nothing is posted: the caller must try again
                self.refused.append(Call(method, params, time.monotonic()))
                headers = {"Retry-After": "1"} if status == 429 else {}
                return web.json_response(
                    {"ok": False, "error": "ratelimited" if status == 429 else "fatal_error"},
                    status=status,
                    headers=headers,
                )
        count, found = problems(method, params)
        self.checked += count
        self.over_limits += [(method, error, why) for error, why in found]
        refusal = next((error for error, _why in found if error), "")
        if refusal:  # as Slack answers it; a missing `text` only warns
            self.refused.append(Call(method, params, time.monotonic()))
            return web.json_response({"ok": False, "error": refusal})
        call = Call(method, params, time.monotonic())
        self.calls.append(call)
        answer = self.answer(method, params)
        call.ts = str(answer.get("ts", ""))
        return web.json_response(answer)

    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://fake.slack/",
                "team": "Gemeente",
                "user": "coulisse",
                "team_id": "T1",
                "user_id": "UBOT",
                "bot_id": "BBOT",
            }
        if method in ("chat.postMessage", "chat.update"):
            ts = params.get("ts") or f"1700000000.{next(self._ts):06d}"
            return {"ok": True, "channel": params.get("channel"), "ts": ts, "message": {"ts": ts}}
        if method == "conversations.members":
            return {
                "ok": True,
                "members": self.members.get(str(params.get("channel")), []),
                "response_metadata": {"next_cursor": ""},
            }
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(params.get("users", ""))}}
        if method in ("views.open", "views.publish"):
            return {"ok": True, "view": {"id": f"V{next(self._ts)}"}}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ts)}"
            return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            return {"ok": True, "files": [{"id": f["id"]} for f in params.get("files", [])]}
        return {"ok": True}

    async def upload(self, request: web.Request) -> web.Response:
        self.uploads.append(await request.read())
        return web.Response(text="OK")

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self.handle)
        app.router.add_post("/upload/{file_id}", self.upload)
        return app


def sign(body: bytes, timestamp: int | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + ts.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


@dataclass
class SlackClient:
    """Sends what Slack sends: slash commands, interactions and events, signed."""

    url: str  # the bot's /slack/events
    session: aiohttp.ClientSession
    team: str = "T1"
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    async def post(
        self,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        signed: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        all_headers = {"Content-Type": content_type, **(signed or sign(body)), **(headers or {})}
        async with self.session.post(self.url, data=body, headers=all_headers) as resp:
            return resp.status, await resp.text()

    async def command(self, user: str, text: str, channel: str = "C1", **extra: Any) -> int:
        n = next(self._ids)
        form = {
            "token": "",
            "team_id": self.team,
            "team_domain": "gemeente",
            "channel_id": channel,
            "channel_name": "wijkteam-noord",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/coulisse",
            "text": text,
            "response_url": "",
            "trigger_id": f"trigger-{n}",
            "api_app_id": "A1",
            **extra,
        }
        status, _ = await self.post(
            urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded"
        )
        return status

    async def interaction(self, payload: dict[str, Any]) -> tuple[int, str]:
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        return await self.post(body, "application/x-www-form-urlencoded")

    async def click(
        self,
        user: str,
        action_id: str,
        value: str,
        *,
        channel: str = "C1",
        message_ts: str = "",
        action_ts: str | None = None,
        container: str = "message",
    ) -> int:
        n = next(self._ids)
        payload = {
            "type": "block_actions",
            "team": {"id": self.team},
            "user": {"id": user, "team_id": self.team},
            "api_app_id": "A1",
            "trigger_id": f"trigger-{n}",
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel}
            if container == "message"
            else {"type": "view", "view_id": "VHOME"},
            **(
                {"channel": {"id": channel}}
                if channel
                else {"view": {"id": "VHOME", "type": "home"}}
            ),
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "b",
                    "value": value,
                    "action_ts": action_ts or f"{time.time():.6f}",
                }
            ],
        }
        status, _ = await self.interaction(payload)
        return status

    async def submit(
        self, user: str, view: dict[str, Any], values: dict[str, Any], view_id: str | None = None
    ) -> tuple[int, str]:
        """Submit a modal the bot opened (`view` as it was sent to views.open)."""
        state: dict[str, Any] = {"values": {}}
        for block in view["blocks"]:
            if block.get("type") != "input":
                continue
            name, kind = block["block_id"], block["element"]["type"]
            value = values.get(name)
            if kind == "plain_text_input":
                entry = {"type": kind, "value": value}
            elif kind == "datepicker":
                entry = {"type": kind, "selected_date": value}
            elif kind == "static_select":
                entry = {"type": kind, "selected_option": {"value": value} if value else None}
            elif kind == "datetimepicker":
                entry = {"type": kind, "selected_date_time": value}
            elif kind == "multi_users_select":
                entry = {"type": kind, "selected_users": value or []}
            else:
                entry = {"type": kind}
            state["values"][name] = {block["element"]["action_id"]: entry}
        payload = {
            "type": "view_submission",
            "team": {"id": self.team},
            "user": {"id": user, "team_id": self.team},
            "api_app_id": "A1",
            "view": {**view, "id": view_id or f"V{next(self._ids)}", "state": state, "hash": "h"},
        }
        return await self.interaction(payload)

    async def event(
        self,
        event: dict[str, Any],
        event_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> int:
        envelope = {
            "token": "",
            "team_id": self.team,
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._ids)}",
            "event_time": int(time.time()),
            "event": event,
        }
        status, _ = await self.post(json.dumps(envelope).encode(), "application/json", headers)
        return status

    async def dm(
        self,
        user: str,
        text: str,
        event_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> int:
        return await self.event(
            {
                "type": "message",
                "channel": f"D{user}",
                "channel_type": "im",
                "user": user,
                "text": text,
                "ts": f"{time.time():.6f}",
            },
            event_id,
            headers,
        )
