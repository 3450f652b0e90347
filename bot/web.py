"""One aiohttp server for everything that comes in over HTTP: Slack at /slack/events, Teams at
/api/messages, the web view under /web/, /healthz, /readyz and /metrics."""

from __future__ import annotations

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

from bot import health, metrics, webapp
from bot.slack.adapter import SlackAdapter
from bot.teams.wiring import Teams
from bot.webapp import WebView
from bot.wiring import App

TEAMS = web.AppKey("teams", Teams)  # the Teams parts, for whoever holds the web app (tests)


def make_web_app(
    app: App,
    slack: SlackAdapter | None,
    teams: Teams | None = None,
    view: WebView | None = None,
) -> web.Application:
    web_app = web.Application(client_max_size=1024**2)
    # Alive, ready (database and migrations), and the figures Prometheus scrapes.
    web_app.router.add_get("/healthz", health.healthz)
    web_app.router.add_get("/readyz", health.readyz(app.engine))
    web_app.router.add_get("/metrics", metrics.handler(app.engine, app.coulisse.clock.now))
    if slack is not None:

        async def slack_events(request: web.Request) -> web.Response:
            bolt_request = await to_bolt_request(request)
            return await to_aiohttp_response(await slack.app.async_dispatch(bolt_request))

        web_app.router.add_post("/slack/events", slack_events)
    if teams is not None:
        web_app[TEAMS] = teams
        web_app.router.add_post("/api/messages", teams.endpoint.handle)
    if view is not None:  # the web view's pages under /web/ (bot/webapp/)
        webapp.mount(web_app, app, view)
    return web_app
