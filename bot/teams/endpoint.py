"""POST /api/messages: our own small aiohttp handler around botbuilder.

botbuilder's `CloudAdapter.process()` answers 500 to every invoke whose handler returns a body
(it serializes the body twice), and lets a malformed token become a 500 too. Here the Activity
is read, the caller authenticated (anything wrong is a 401), `process_activity` runs the turn,
and the invoke response goes back exactly as the handler made it.
"""

from __future__ import annotations

import logging

from aiohttp import web
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity

from bot.teams.adapter import TeamsAdapter
from bot.teams.auth import Authenticator, Unauthorized

log = logging.getLogger(__name__)


class TeamsEndpoint:
    def __init__(self, adapter: TeamsAdapter, authenticator: Authenticator) -> None:
        self.adapter = adapter
        self.authenticator = authenticator
        self.cloud = CloudAdapter(authenticator.botbuilder)
        self.cloud.on_turn_error = None  # raise: the request answers 500 and says nothing else

    async def handle(self, request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            return web.Response(status=415)
        try:
            body = await request.json()
            activity = Activity().deserialize(body)
        except Exception:
            return web.Response(status=400, text="not a Bot Framework activity")
        if not isinstance(body, dict) or not activity.type:
            return web.Response(status=400, text="not a Bot Framework activity")
        try:
            auth = await self.authenticator.authenticate(
                activity, request.headers.get("Authorization", "")
            )
        except Unauthorized as refused:
            log.info("refused an activity: %s", refused)
            return web.Response(status=401)
        try:
            invoke = await self.cloud.process_activity(auth, activity, self.adapter.on_turn)
        except Exception:
            log.exception("handling a Teams %s failed", activity.type)
            return web.Response(status=500)
        if invoke is None:
            return web.Response(status=200)
        if invoke.body is None:
            return web.Response(status=int(invoke.status))
        return web.json_response(invoke.body, status=int(invoke.status))
