"""A fake Bot Framework connector on loopback: the REST API the bot calls for Teams (v3,
tests/specs/teams/botframework-channel.json). It records every call, checks each body
against the spec's definitions (Activity, ConversationParameters), answers as the connector
does (ResourceResponse, ConversationResourceResponse, PagedMembersResult), and fails on demand
(429 with Retry-After, 412, 502, …)."""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from jsonschema import Draft4Validator

SPEC = Path(__file__).resolve().parent / "specs" / "teams" / "botframework-channel.json"
CARD = "application/vnd.microsoft.card.adaptive"


def _validator(definition: str) -> Draft4Validator:
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    return Draft4Validator(
        {"$ref": f"#/definitions/{definition}", "definitions": spec["definitions"]}
    )


@dataclass
class Call:
    method: str  # "create", "send", "reply", "update", "members"
    conversation: str
    activity_id: str
    body: dict[str, Any]
    at: float
    answered: str = ""  # the id the fake gave (a sent activity's id)
    size: int = 0  # bytes of the body as it arrived
    content_type: str = ""  # as declared, charset included


@dataclass
class FakeConnector:
    calls: list[Call] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)  # bodies the spec does not allow
    # method -> queued (status, headers, conversation or "" for any)
    failures: dict[str, list[tuple[int, dict[str, str], str]]] = field(default_factory=dict)
    members: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # conversation -> roster
    url: str = ""
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _activity: Draft4Validator = field(default_factory=lambda: _validator("Activity"))
    _params: Draft4Validator = field(default_factory=lambda: _validator("ConversationParameters"))

    def fail(
        self,
        method: str,
        status: int,
        headers: dict[str, str] | None = None,
        conversation: str = "",
    ) -> None:
        """The next `method` call ("send", "update", "create", "members"), to `conversation` if
        given, gets this status."""
        self.failures.setdefault(method, []).append((status, headers or {}, conversation))

    def of(self, method: str, conversation: str | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == method and (conversation is None or c.conversation == conversation)
        ]

    def cards(
        self, conversation: str | None = None, methods: tuple[str, ...] = ("send", "update")
    ) -> list[dict[str, Any]]:
        """Every Adaptive Card the bot sent (or updated), in order."""
        return [
            a["content"]
            for c in self.calls
            if c.method in methods and (conversation is None or c.conversation == conversation)
            for a in c.body.get("attachments", [])
            if a.get("contentType") == CARD
        ]

    def text(
        self, conversation: str | None = None, methods: tuple[str, ...] = ("send", "update")
    ) -> str:
        """Everything the bot said there, as one string (cards included)."""
        return "\n".join(
            json.dumps(c.body, ensure_ascii=False)
            for c in self.calls
            if c.method in methods and (conversation is None or c.conversation == conversation)
        )

    def chat_of(self, user_id: str) -> str:
        """The 1:1 conversation the fake created for a user."""
        return f"a:{user_id}"

    def _check(self, validator: Draft4Validator, body: Any, what: str) -> bool:
        errors = [e.message for e in validator.iter_errors(body)]
        if errors:
            self.invalid.append(f"{what}: {errors[0]}")
        return not errors

    async def handle(self, request: web.Request) -> web.Response:
        conversation = request.match_info.get("conversation", "")
        activity_id = request.match_info.get("activity", "")
        tail = request.match_info.get("tail", "")
        body: dict[str, Any] = {}
        raw = b""
        if request.can_read_body:
            raw = await request.read()
            body = json.loads(raw.decode(request.charset or "utf-8"))
        if request.method == "POST" and not conversation:
            method = "create"
        elif request.method == "GET" and tail == "pagedmembers":
            method = "members"
        elif request.method == "PUT":
            method = "update"
        else:
            method = "reply" if activity_id else "send"
        queued = [f for f in self.failures.get(method, []) if f[2] in ("", conversation)]
        if queued:
            self.failures[method].remove(queued[0])
            status, headers, _ = queued[0]
            error = {
                "error": {"code": "Throttled" if status == 429 else "Failure", "message": "fake"}
            }
            return web.json_response(error, status=status, headers=headers)
        call = Call(method, conversation, activity_id, body, time.monotonic())
        call.size, call.content_type = len(raw), request.headers.get("Content-Type", "")
        if method == "create":
            if not self._check(self._params, body, "create"):
                return web.json_response({"error": {"code": "BadArgument"}}, status=400)
            member = body["members"][0]["id"]
            call.answered = self.chat_of(member)
            self.calls.append(call)
            return web.json_response(
                {"id": call.answered, "activityId": "", "serviceUrl": self.url}, status=201
            )
        if method == "members":
            self.calls.append(call)
            roster = self.members.get(conversation)
            if roster is None:
                return web.json_response({"error": {"code": "ConversationNotFound"}}, status=404)
            return web.json_response({"members": roster})
        if not self._check(self._activity, body, method):
            return web.json_response({"error": {"code": "BadArgument"}}, status=400)
        call.answered = activity_id if method == "update" else f"1{next(self._ids):012d}"
        self.calls.append(call)
        return web.json_response({"id": call.answered}, status=200 if method == "update" else 201)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v3/conversations", self.handle)
        app.router.add_post("/v3/conversations/{conversation}/activities", self.handle)
        app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", self.handle)
        app.router.add_put("/v3/conversations/{conversation}/activities/{activity}", self.handle)
        app.router.add_get("/v3/conversations/{conversation}/{tail}", self.handle)
        return app
