"""`coulisse serve`: the web server, the platform adapters and the outbox, in one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator

from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import SystemClock
from bot.config import Settings
from bot.delivery import Delivery, PlatformSend
from bot.outbox import OutboxDispatcher
from bot.slack.adapter import SlackAdapter
from bot.slack.sender import SlackSender
from bot.web import make_web_app
from bot.wiring import App, build
from handlers.model import Platform

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def running(
    settings: Settings, host: str, port: int
) -> AsyncIterator[tuple[App, SlackAdapter | None, web.AppRunner]]:
    """Everything started; yields the App, the Slack adapter (if configured) and the site."""
    app = await build(settings.database_url, SystemClock(), bounds=settings.loop_bounds)
    senders: dict[Platform, PlatformSend] = {}
    slack = None
    if settings.slack_bot_token and (settings.slack_signing_secret or settings.slack_app_token):
        client = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
        slack = SlackAdapter(app.coulisse, client, settings.slack_signing_secret)
        senders[Platform.SLACK] = SlackSender(
            client, app.uow, interval=settings.slack_channel_interval
        )
    dispatcher = OutboxDispatcher(
        app.outbox, Delivery(app.uow, senders), app.coulisse.clock, prepare=app.prepare_nudge
    )
    runner = web.AppRunner(make_web_app(app, slack))
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    socket_mode = None
    if slack is not None and settings.slack_app_token:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        socket_mode = AsyncSocketModeHandler(slack.app, settings.slack_app_token)
        await socket_mode.connect_async()
    pump = asyncio.create_task(_pump(dispatcher, settings.outbox_interval))
    try:
        yield app, slack, runner
    finally:
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump
        if socket_mode is not None:
            await socket_mode.close_async()
        await runner.cleanup()
        await app.close()


async def _pump(dispatcher: OutboxDispatcher, interval: float) -> None:
    """Send what is due, again and again; a failing round is logged, not fatal."""
    while True:
        try:
            await dispatcher.drain()
        except Exception:
            log.exception("the outbox round failed; trying again")
        await asyncio.sleep(interval)


async def serve(settings: Settings, host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running(settings, host, port) as (_app, slack, _runner):
        where = f"http://{host}:{port}"
        mode = "Socket Mode" if settings.slack_app_token else f"{where}/slack/events"
        print(f"coulisse serving on {where} (Slack: {mode if slack else 'not configured'})",
              flush=True)  # fmt: skip
        await stop.wait()
