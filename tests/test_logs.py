"""The logs never contain what people wrote, nor the bot's tokens and secrets, even at DEBUG."""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from bot.clock import ManualClock
from bot.config import Settings, SettingsError
from bot.logs import (
    CHATTY_LIBRARIES,
    Json,
    NoMessages,
    configure,
    current_event_id,
    event_id,
    formatter,
)
from bot.outbox import OutboxDispatcher, RetryLater
from bot.wiring import App
from handlers.messages import Destination, Message, Text, outbox_row
from handlers.model import OutboxMessage
from storage import tables as t
from tests.conftest import BOT_TOKEN, SIGNING_SECRET, SlackStack, eventually

SECRET_TEXT = "Mevrouw Jansen op de Dorpsstraat 12 wacht al maanden"


@pytest.fixture
def verbose_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    names = ("", *CHATTY_LIBRARIES)
    levels = {name: logging.getLogger(name).level for name in names}
    configure("DEBUG")
    caplog.set_level(logging.DEBUG)
    yield caplog
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


async def test_debug_logs_hold_no_user_text_or_secrets(
    slack_stack: SlackStack, verbose_logs: pytest.LogCaptureFixture
) -> None:
    s, api = slack_stack.slack, slack_stack.api
    await s.command("U1", "new")
    await eventually(lambda: len(api.of("views.open")) == 1)
    await s.command("U1", f"add {SECRET_TEXT}")
    assert await s.dm("U2", SECRET_TEXT) == 200
    await eventually(
        lambda: len(api.of("chat.postMessage")) + len(api.of("chat.postEphemeral")) >= 2
    )
    logging.getLogger("bot.probe").debug("capture works")
    logged = "\n".join(r.getMessage() for r in verbose_logs.records)
    assert "capture works" in logged
    for secret in ("Dorpsstraat", "Jansen", BOT_TOKEN, SIGNING_SECRET):
        assert secret not in logged


def test_libraries_that_log_bodies_and_headers_stay_at_warning(
    verbose_logs: pytest.LogCaptureFixture,
) -> None:
    for name in ("slack_sdk.web.async_base_client", "slack_bolt.App", "openai", "msrest.http"):
        assert logging.getLogger(name).getEffectiveLevel() >= logging.WARNING, name
    assert logging.getLogger("bot.outbox").isEnabledFor(logging.DEBUG)  # ours follow the setting


async def test_database_errors_do_not_quote_what_people_wrote(app: App) -> None:
    """A failed statement's parameters are user text: they stay out of the error (and so out
    of every traceback a `log.exception` writes)."""
    with pytest.raises(sa.exc.IntegrityError) as failed:
        async with app.engine.begin() as conn:
            await conn.execute(sa.text("INSERT INTO teams (name) VALUES (:name)"),
                               {"name": SECRET_TEXT})  # fmt: skip
    assert "parameters hidden" in str(failed.value)  # SQLAlchemy's part
    # PostgreSQL itself quotes the failing row in its message: the log formatter leaves
    # exception messages out.
    written = NoMessages().formatException((failed.type, failed.value, failed.tb))
    assert "Dorpsstraat" not in written and "IntegrityError" in written and "line" in written


def formatted(records: list[logging.LogRecord], fmt: str) -> str:
    """The lines as an operator's log would hold them, in that format."""
    chosen = formatter(fmt)
    return "\n".join(chosen.format(record) for record in records)


@pytest.mark.parametrize("fmt", ["text", "json"])
async def test_neither_format_holds_user_text_or_secrets_at_debug(
    slack_stack: SlackStack, verbose_logs: pytest.LogCaptureFixture, fmt: str
) -> None:
    s, api = slack_stack.slack, slack_stack.api
    await s.command("U1", f"new {SECRET_TEXT}")
    await eventually(lambda: len(api.of("views.open")) == 1)
    assert await s.dm("U2", SECRET_TEXT) == 200
    await eventually(
        lambda: len(api.of("chat.postEphemeral")) + len(api.of("chat.postMessage")) >= 1
    )
    try:
        raise ValueError(SECRET_TEXT)
    except ValueError:
        logging.getLogger("bot.probe").exception("a failure")
    written = formatted(verbose_logs.records, fmt)
    assert "a failure" in written and "ValueError" in written
    for secret in ("Dorpsstraat", "Jansen", BOT_TOKEN, SIGNING_SECRET):
        assert secret not in written
    if fmt == "json":
        lines = [json.loads(line) for line in written.splitlines() if line.startswith("{")]
        assert lines and all(
            {"time", "level", "logger", "event_id", "message"} <= set(x) for x in lines
        )


def test_json_lines_carry_the_event_id_and_no_exception_message(
    verbose_logs: pytest.LogCaptureFixture,
) -> None:
    log = logging.getLogger("bot.probe")
    with event_id("feedc0ffee01") as chosen:
        assert chosen == current_event_id() == "feedc0ffee01"
        try:
            raise RuntimeError(SECRET_TEXT)
        except RuntimeError:
            log.exception("handling failed")
    log.warning("outside")
    assert current_event_id() == "-"
    inside, outside = (json.loads(Json().format(r)) for r in verbose_logs.records[-2:])
    assert inside["event_id"] == "feedc0ffee01" and outside["event_id"] == "-"
    assert inside["exception"] == "RuntimeError" and "Dorpsstraat" not in json.dumps(inside)
    assert "line" in inside["traceback"]
    with event_id() as fresh:
        assert len(fresh) == 12 and fresh != "feedc0ffee01"


def test_an_unknown_log_format_stops_the_start() -> None:
    with pytest.raises(ValueError, match="COULISSE_LOG_FORMAT"):
        formatter("xml")
    with pytest.raises(SettingsError):
        Settings(log_format="xml")


async def test_the_event_id_follows_a_row_from_handling_to_its_delivery(
    sqlite_app: App, clock: ManualClock, verbose_logs: pytest.LogCaptureFixture
) -> None:
    """A row queued while an event is handled is delivered, later and maybe elsewhere, under
    that event's id: the sender's log lines and the dispatcher's carry it."""
    seen: list[str] = []

    async def send(item: OutboxMessage, _to: Destination, _message: Message) -> None:
        seen.append(current_event_id())
        if len(seen) == 1:
            raise RetryLater(0, "rate limited")

    with event_id("0123456789ab"):
        async with sqlite_app.uow() as uow:
            row = outbox_row(Destination.channel(1), Message((Text("x"),)), kind="reply",
                             dedupe_key="k", due_at=clock.now())  # fmt: skip
            await uow.outbox.enqueue(row)
            await uow.commit()
    assert current_event_id() == "-"
    dispatcher = OutboxDispatcher(sqlite_app.outbox, send, clock)
    await dispatcher.run_once()  # refused: logged "later"
    clock.advance(timedelta(seconds=1))
    await dispatcher.run_once()
    assert seen == ["0123456789ab", "0123456789ab"]
    later = [
        r for r in verbose_logs.records if r.name == "bot.outbox" and "later" in r.getMessage()
    ]
    assert later and all(getattr(r, "event_id", "") == "0123456789ab" for r in later)


async def test_one_slack_delivery_keeps_one_event_id_into_the_outbox(
    slack_stack: SlackStack,
) -> None:
    """The id set where the delivery is kept follows its handling into every message it
    queues: the rows of one command share it, another command's rows have their own."""
    s, api = slack_stack.slack, slack_stack.api
    await s.command("U1", "new")
    await eventually(lambda: len(api.of("views.open")) == 1)
    view = api.of("views.open")[0]["view"]
    await s.submit("U1", view, {"title": "T", "question": "Q", "format": "retro",
                                "members": ["U2", "U3"]})  # fmt: skip
    await eventually(lambda: "staat klaar" in api.texts("chat.postEphemeral"))
    await s.command("U1", "start")
    await eventually(lambda: len(api.of("conversations.open")) == 3)

    async def ids() -> dict[str, set[str]]:
        async with slack_stack.app.engine.connect() as conn:
            rows = await conn.execute(sa.select(t.outbox.c.kind, t.outbox.c.payload))
            found: dict[str, set[str]] = {}
            for kind, payload in rows:
                found.setdefault(kind, set()).add(str(payload.get("event_id", "")))
            return found

    by_kind = await ids()
    started = by_kind["round_prompt"] | by_kind.get("session_open", set())
    assert len(started) == 1, by_kind  # the start's rows: one delivery, one id
    (one,) = started
    assert re.fullmatch(r"[0-9a-f]{12}", one)
