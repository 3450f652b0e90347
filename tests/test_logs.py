"""The logs never contain what people wrote, nor the bot's tokens and secrets, even at DEBUG."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from bot.logs import CHATTY_LIBRARIES, NoMessages, configure
from bot.wiring import App
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
