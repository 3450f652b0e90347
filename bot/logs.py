"""Logging that never carries what people wrote or the bot's secrets.

Our own log lines name event types, statuses and ids only. Libraries are another matter: at
DEBUG, slack-bolt, slack_sdk, botbuilder and the HTTP clients log request and response bodies
(user text) and headers (tokens). So however verbose COULISSE_LOG_LEVEL is, they stay at WARNING.
"""

from __future__ import annotations

import logging
import sys
import traceback
from typing import Any

CHATTY_LIBRARIES = (
    "slack_bolt", "slack_sdk", "botbuilder", "botframework", "msrest", "msal", "urllib3",
    "aiohttp.access", "aiohttp.client", "openai", "httpx", "httpcore", "sqlalchemy.engine",
    "apscheduler", "asyncio", "aiosqlite", "asyncpg",  # the drivers log statement parameters
)  # fmt: skip


class NoMessages(logging.Formatter):
    """Tracebacks with where it failed and the exception's type, without its message: the
    database quotes the failing row ("Failing row contains …"), other libraries the input."""

    def formatException(self, ei: Any) -> str:
        kind, _message, tb = ei
        frames = "".join(traceback.format_tb(tb))
        return f"Traceback (most recent call last):\n{frames}{kind.__name__} (message withheld)"


def configure(level: str) -> None:
    logging.basicConfig(level=level.upper(), stream=sys.stderr)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(NoMessages(logging.BASIC_FORMAT))
    for name in CHATTY_LIBRARIES:
        library = logging.getLogger(name)
        library.setLevel(max(library.getEffectiveLevel(), logging.WARNING))
