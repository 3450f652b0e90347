"""Logging that never carries what people wrote or the bot's secrets.

Our own log lines name event types, statuses and ids only. Libraries are another matter: at
DEBUG, slack-bolt, slack_sdk, botbuilder and the HTTP clients log request and response bodies
(user text) and headers (tokens). So however verbose COULISSE_LOG_LEVEL is, they stay at WARNING.
"""

from __future__ import annotations

import logging
import sys

CHATTY_LIBRARIES = (
    "slack_bolt", "slack_sdk", "botbuilder", "botframework", "msrest", "msal", "urllib3",
    "aiohttp.access", "aiohttp.client", "openai", "httpx", "httpcore", "sqlalchemy.engine",
    "apscheduler", "asyncio",
)  # fmt: skip


def configure(level: str) -> None:
    logging.basicConfig(level=level.upper(), stream=sys.stderr)
    for name in CHATTY_LIBRARIES:
        library = logging.getLogger(name)
        library.setLevel(max(library.getEffectiveLevel(), logging.WARNING))
