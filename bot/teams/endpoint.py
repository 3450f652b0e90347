"""POST /api/messages: our own small aiohttp handler around botbuilder.

botbuilder's `CloudAdapter.process()` answers 500 to every invoke whose handler returns a body
(it serializes the body twice), and lets a malformed token become a 500 too. Here the Activity
is read, the caller authenticated (anything wrong is a 401), `process_activity` runs the turn,
and the invoke response goes back exactly as the handler made it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity
from botframework.connector.auth import AuthenticateRequestResult

from bot.teams.adapter import TeamsAdapter
from bot.teams.auth import Authenticator, Unauthorized

log = logging.getLogger(__name__)

Logic = Callable[[TurnContext], Awaitable[None]]


class TurnRunner(CloudAdapter):
    """botbuilder's CloudAdapter, minus the two msrest clients it builds for every turn (a
    connector client and a user-token client: about 7 ms of CPU each turn, in their retry-policy
    set-up). This bot never uses them: what it sends goes through our Connector; only the
    invoke response travels through the turn context, and that needs no client."""

    async def process_activity(
        self, auth: AuthenticateRequestResult, activity: Activity, logic: Logic
    ) -> InvokeResponse | None:
        activity.caller_id = auth.caller_id
        context = TurnContext(self, activity)
        context.turn_state[self.BOT_IDENTITY_KEY] = auth.claims_identity
        context.turn_state[self.BOT_OAUTH_SCOPE_KEY] = auth.audience
        context.turn_state[self.BOT_CALLBACK_HANDLER_KEY] = logic
        await self.run_pipeline(context, logic)
        result: InvokeResponse | None = self._process_turn_results(context)
        return result


class TeamsEndpoint:
    def __init__(self, adapter: TeamsAdapter, authenticator: Authenticator) -> None:
        self.adapter = adapter
        self.authenticator = authenticator
        self.cloud = TurnRunner(authenticator.botbuilder)
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
