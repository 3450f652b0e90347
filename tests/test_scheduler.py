"""`coulisse serve` after downtime: what fell due is sent at once; what went stale is skipped
with its reason, never silently dropped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp import web

from bot.clock import SystemClock
from bot.config import Settings
from bot.serve import running
from bot.wiring import build
from handlers.messages import Destination, Text, encode_destination, encode_message, message
from handlers.model import OutboxMessage, OutboxStatus, Person, Platform, Workspace
from tests.conftest import eventually
from tests.fake_slack import BOT_TOKEN, SIGNING_SECRET, FakeSlackApi, free_port


async def test_due_nudges_go_out_right_after_a_restart_and_stale_ones_are_skipped(
    database_url: str,
) -> None:
    app = await build(database_url, SystemClock(), migrate=False)
    long_ago = datetime.now(UTC) - timedelta(hours=3)
    async with app.uow() as uow:
        workspace = Workspace(Platform.SLACK, "T1")
        uow.add(workspace)
        await uow.flush()
        assert workspace.id is not None
        person = Person(workspace.id, "U9", "Noor", timezone="UTC")
        person.quiet_start, person.quiet_end = person.quiet_end, person.quiet_end  # never quiet
        uow.add(person)
        await uow.flush()
        assert person.id is not None
        to = encode_destination(Destination.dm(person.id))
        await uow.outbox.enqueue(
            OutboxMessage(
                "plain:1",
                "digest",
                to,
                encode_message(message(Text("Hallo Noor"))),
                long_ago,
                person.id,
            )
        )
        await uow.outbox.enqueue(
            OutboxMessage(
                "closing-soon:999:1",
                "closing_soon",
                to,
                {"nudge": {"type": "closing_soon", "round_id": 999}},
                long_ago,
                person.id,
            )
        )
        await uow.commit()
    await app.close()

    api = FakeSlackApi()
    runner = web.AppRunner(api.app())
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    settings = Settings(
        database_url=database_url,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=f"http://127.0.0.1:{port}/api/",
        outbox_interval=0.2,
        slack_channel_interval=0,
        holidays_country="NL",
    )
    try:
        async with running(settings, "127.0.0.1", free_port()) as (served, _slack, _runner):
            await eventually(lambda: "Hallo Noor" in api.texts(), timeout=10)

            async def skipped() -> bool:
                async with served.uow() as uow:
                    stale = await uow.outbox.by_key("closing-soon:999:1")
                return stale is not None and stale.status == OutboxStatus.SKIPPED

            await eventually(skipped, timeout=10)
            async with served.uow() as uow:
                stale = await uow.outbox.by_key("closing-soon:999:1")
            assert stale is not None and stale.reason == "round_closed"
            assert len(api.of("chat.postMessage")) == 1
    finally:
        await runner.cleanup()
