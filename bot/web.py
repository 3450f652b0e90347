"""One aiohttp server for everything that comes in over HTTP: Slack at /slack/events, Teams at
/api/messages, and /healthz."""

from __future__ import annotations

import sqlalchemy as sa
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

from bot.slack.adapter import SlackAdapter
from bot.teams.wiring import Teams
from bot.wiring import App

TEAMS = web.AppKey("teams", Teams)  # the Teams parts, for whoever holds the web app (tests)


def make_web_app(
    app: App, slack: SlackAdapter | None, teams: Teams | None = None
) -> web.Application:
    async def healthz(_request: web.Request) -> web.Response:
        try:
            async with app.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        except Exception as exc:  # the point is to say so, not to crash
            body = {"status": "database unreachable", "error": type(exc).__name__}
            return web.json_response(body, status=503)
        return web.json_response({"status": "ok"})

    web_app = web.Application(client_max_size=1024**2)
    web_app.router.add_get("/healthz", healthz)
    if slack is not None:

        async def slack_events(request: web.Request) -> web.Response:
            bolt_request = await to_bolt_request(request)
            return await to_aiohttp_response(await slack.app.async_dispatch(bolt_request))

        web_app.router.add_post("/slack/events", slack_events)
    if teams is not None:
        web_app[TEAMS] = teams
        web_app.router.add_post("/api/messages", teams.endpoint.handle)
    return web_app
