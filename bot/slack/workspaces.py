"""Which workspace a Slack request is answered in, when "Add to Slack" serves several
(bot/slack/install.py): slack-bolt authorizes each request with its workspace's token, this
middleware keeps that client for the adapter's answers. Tasks started for the request (the work
after its 200) inherit it. Small on purpose: the adapter imports it for one workspace too."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

REQUEST_CLIENT: ContextVar[AsyncWebClient | None] = ContextVar("slack_client", default=None)


async def remember_client(context: Any, next: Callable[[], Awaitable[Any]]) -> Any:
    """A slack-bolt middleware (bolt passes its arguments by these names)."""
    REQUEST_CLIENT.set(context.client)
    return await next()
