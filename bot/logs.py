"""Logging that never carries what people wrote or the bot's secrets.

Our own log lines name event types, statuses and ids only. Libraries are another matter: at
DEBUG, slack-bolt, slack_sdk, botbuilder and the HTTP clients log request and response bodies
(user text) and headers (tokens). So however verbose COULISSE_LOG_LEVEL is, they stay at WARNING.

For operators: COULISSE_LOG_FORMAT=json writes one JSON object a line, and every line written
while one event is taken in, handled and its messages delivered carries that event's id
(`event_id`), so one grep follows it through the replicas. The id is ours (random), never the
platform's: it says nothing about who did what.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import sys
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from storage.tracing import EVENT_ID

CHATTY_LIBRARIES = (
    "slack_bolt", "slack_sdk", "botbuilder", "botframework", "msrest", "msal", "urllib3",
    "aiohttp.access", "aiohttp.client", "openai", "httpx", "httpcore", "sqlalchemy.engine",
    "apscheduler", "asyncio", "aiosqlite", "asyncpg",  # the drivers log statement parameters
)  # fmt: skip
FORMATS = ("text", "json")
TEXT_FORMAT = "%(levelname)s:%(name)s:[%(event_id)s] %(message)s"


def new_event_id() -> str:
    """12 random hex digits: unique enough to follow one event, and meaningless outside."""
    return secrets.token_hex(6)


def current_event_id() -> str:
    """The id of the event this code runs for, "-" outside one."""
    return EVENT_ID.get()


@contextlib.contextmanager
def event_id(value: str | None = None) -> Iterator[str]:
    """Every log line inside carries this id (a new one when none is given): set it where an
    event is taken in, again (from what was stored with it) where it is handled later or its
    messages are sent. Tasks started inside inherit it."""
    token = EVENT_ID.set(value or new_event_id())
    try:
        yield EVENT_ID.get()
    finally:
        EVENT_ID.reset(token)


class WithEventId(logging.Filter):
    """Puts the current event's id on each record (`%(event_id)s`, the JSON's `event_id`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.event_id = EVENT_ID.get()
        return True


def withheld(ei: Any) -> str:
    """A traceback with where it failed and the exception's type, without its message: the
    database quotes the failing row ("Failing row contains …"), other libraries the input."""
    kind, _message, tb = ei
    frames = "".join(traceback.format_tb(tb))
    return f"Traceback (most recent call last):\n{frames}{kind.__name__} (message withheld)"


class NoMessages(logging.Formatter):
    """Text lines whose tracebacks leave the exception's message out."""

    def format(self, record: logging.LogRecord) -> str:
        record.__dict__.setdefault("event_id", EVENT_ID.get())  # a handler without the filter
        return super().format(record)

    def formatException(self, ei: Any) -> str:
        return withheld(ei)


class Json(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, event_id, message, and for an
    exception its type and a traceback without its message."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "event_id": getattr(record, "event_id", EVENT_ID.get()),
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            line["exception"] = record.exc_info[0].__name__
            line["traceback"] = withheld(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def formatter(fmt: str) -> logging.Formatter:
    if fmt not in FORMATS:
        raise ValueError(f"COULISSE_LOG_FORMAT must be one of {', '.join(FORMATS)}, not {fmt!r}")
    return Json() if fmt == "json" else NoMessages(TEXT_FORMAT)


def configure(level: str, fmt: str = "text") -> None:
    logging.basicConfig(level=level.upper(), stream=sys.stderr)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter(fmt))
        if not any(isinstance(f, WithEventId) for f in handler.filters):
            handler.addFilter(WithEventId())
    for name in CHATTY_LIBRARIES:
        library = logging.getLogger(name)
        library.setLevel(max(library.getEffectiveLevel(), logging.WARNING))
