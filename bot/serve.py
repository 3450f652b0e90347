"""`coulisse serve`: the web server, the platform adapters and the outbox, in one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from bot.attachments import Attachments
from bot.clock import SystemClock
from bot.config import Settings
from bot.delivery import Delivery, PlatformSend
from bot.llm import synthesizer_from
from bot.outbox import OutboxDispatcher, Send, lease_holder
from bot.scheduler import Ticks
from bot.slack.adapter import SlackAdapter
from bot.slack.sender import SlackSender
from bot.teams import media
from bot.teams.wiring import Teams, build_teams, slack_configured
from bot.teams.wiring import check as check_teams
from bot.teams.wiring import refuse_or_warn as refuse_or_warn_teams
from bot.web import TEAMS, make_web_app
from bot.webapp import web_view_of
from bot.wiring import App, build
from handlers.assist import ASSIST
from handlers.model import Platform
from handlers.ports import LeaseHolder

log = logging.getLogger(__name__)


def outbox_lanes(
    app: App, send: Send, settings: Settings, holder: LeaseHolder | None = None
) -> tuple[OutboxDispatcher, OutboxDispatcher]:
    """Two lanes over one outbox: every message but the assistant's jobs, sent one after the
    other with a short lease; and the assistant's jobs, a few at once, leased for the
    slowest model call. A stalled model delays only its own drafts."""
    messages = OutboxDispatcher(
        app.outbox,
        send,
        app.coulisse.clock,
        prepare=app.prepare_nudge,
        lease_seconds=settings.outbox_lease,
        except_kinds=(ASSIST,),
        holder=holder,
        look_ahead=send.look_ahead if isinstance(send, Delivery) else None,  # one read a batch
    )
    drafts = OutboxDispatcher(
        app.outbox,
        send,
        app.coulisse.clock,
        prepare=app.prepare_nudge,
        lease_seconds=settings.lease_seconds,
        only_kinds=(ASSIST,),
        concurrency=settings.llm_concurrency,
        holder=holder,
    )
    return messages, drafts


@contextlib.asynccontextmanager
async def running(
    settings: Settings, host: str, port: int
) -> AsyncIterator[tuple[App, SlackAdapter | None, web.AppRunner]]:
    """Everything started; yields the App, the Slack adapter (if configured) and the site."""
    teams_on = check_teams(settings, slack_configured(settings))  # before anything starts
    app = await build(
        settings.database_url,
        SystemClock(),
        bounds=settings.loop_bounds,
        policy=settings.nudge_policy,
        synthesizer=synthesizer_from(settings),
        defaults=settings.workspace_defaults,
        retention_days=settings.retention_days,
    )
    senders: dict[Platform, PlatformSend] = {}
    slack = None
    install_routes: list[web.RouteDef] = []
    http: aiohttp.ClientSession | None = None
    if settings.slack_bot_token and (settings.slack_signing_secret or settings.slack_app_token):
        # Kept-alive connections for every call: without a session slack_sdk opens one per call.
        http = aiohttp.ClientSession()
        client = AsyncWebClient(
            token=settings.slack_bot_token, base_url=settings.slack_api_url, session=http
        )
        slack = SlackAdapter(app.coulisse, client, settings.slack_signing_secret)
        senders[Platform.SLACK] = SlackSender(
            client,
            interval=settings.slack_channel_interval,
            attachments=Attachments(app.uow, app.coulisse.clock),
        )
    elif settings.slack_oauth_configured and settings.slack_signing_secret:
        from bot.slack import install  # "Add to Slack": several workspaces, their tokens stored

        installs = install.installs(
            settings,
            app.engine,
            app.coulisse.clock,
            lambda client: SlackSender(
                client,
                interval=settings.slack_channel_interval,
                attachments=Attachments(app.uow, app.coulisse.clock),
            ),
        )
        slack = SlackAdapter(
            app.coulisse, installs.client, settings.slack_signing_secret, installs.flow,
            tokens=installs.sender.clients.token,
        )  # fmt: skip
        install.listen_for_uninstalls(slack.app, installs.store)
        senders[Platform.SLACK] = installs.sender
        install_routes = installs.routes
    teams: Teams | None = None
    if teams_on:
        teams = build_teams(settings, app)
        senders[Platform.TEAMS] = teams.sender
    holder = lease_holder(settings.instance or str(port))  # a restart takes back its rows
    app.coulisse.worker = holder.name  # and the deliveries it kept but did not handle
    dispatcher, assistant = outbox_lanes(app, Delivery(app.uow, senders), settings, holder)
    web_app = make_web_app(app, slack, teams, web_view_of(settings))
    web_app.add_routes(install_routes)  # /slack/install and /slack/oauth_redirect, if on
    if teams is not None:  # causal maps for Teams' cards; the access log leaves out the token
        web_app.router.add_get(media.ROUTE, teams.pictures.serve)
    runner = web.AppRunner(web_app, access_log_class=media.AccessLog)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    socket_mode = None
    if slack is not None and settings.slack_app_token:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        socket_mode = AsyncSocketModeHandler(slack.app, settings.slack_app_token)
        await socket_mode.connect_async()
    rosters = {Platform.SLACK.value: slack.roster_of} if slack is not None else {}
    ticks = Ticks(app, dispatcher, settings, assistant=assistant, rosters=rosters)
    ticks.start()
    try:
        yield app, slack, runner
    finally:
        await ticks.stop()
        if socket_mode is not None:
            await socket_mode.close_async()
        await runner.cleanup()
        if slack is not None:
            await slack.close()
        if teams is not None:
            await teams.close()
        if http is not None:
            await http.close()
        await app.close()


async def serve(settings: Settings, host: str, port: int) -> None:
    refuse_or_warn_teams(settings, slack_configured(settings))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running(settings, host, port) as (_app, slack, _runner):
        where = f"http://{host}:{port}"
        mode = "Socket Mode" if settings.slack_app_token else f"{where}/slack/events"
        print(f"coulisse serving on {where} (Slack: {mode if slack else 'not configured'})",
              flush=True)  # fmt: skip
        teams = f"{where}/api/messages" if TEAMS in _runner.app else "not configured"
        print(f"Teams: {teams}", flush=True)
        await stop.wait()
