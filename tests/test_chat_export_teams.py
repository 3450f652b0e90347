"""`export` in Teams over real HTTP: the file consent card in the coordinator's personal chat
(checked against the Bot Framework channel spec by the fake connector), the accept invoke with an
upload session on a loopback fake OneDrive that receives the PUT, then the file info card; a
decline gets a polite note, and only a coordinator's accept uploads anything."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from tests.conftest import eventually
from tests.fake_connector import Call, FakeConnector
from tests.fake_slack import on_loopback
from tests.teams_fixtures import TeamsStack
from tests.test_teams import NAMES, connector, said, sent_to, setup_session, teams_stack

__all__ = ["connector", "teams_stack"]  # fixtures, shared with test_teams

CONSENT = "application/vnd.microsoft.teams.card.file.consent"
INFO = "application/vnd.microsoft.teams.card.file.info"


@dataclass
class FakeOneDrive:
    """An upload session endpoint: records each PUT (headers and bytes)."""

    puts: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    async def put(self, request: web.Request) -> web.Response:
        self.puts.append((dict(request.headers), await request.read()))
        return web.json_response({"id": "item-1", "name": "summary.pdf"}, status=201)


@pytest.fixture
async def onedrive() -> AsyncIterator[FakeOneDrive]:
    fake = FakeOneDrive()
    app = web.Application()
    app.router.add_put("/upload/{session}", fake.put)
    async with on_loopback(app) as fake.url:
        yield fake


def consent_of(call: Call) -> dict[str, Any]:
    return next(a for a in call.body["attachments"] if a["contentType"] == CONSENT)


async def offered(fake: FakeConnector, user: str) -> Call:
    """The file consent card the bot sent to the person's chat (waiting for it)."""
    return await sent_to(fake, fake.chat_of(user), CONSENT)


async def file_consent(
    stack: TeamsStack, user: str, reply_to: str, action: str, context: Any, upload_url: str = ""
) -> tuple[int, Any]:
    """The invoke Teams sends when the person answers a file consent card."""
    c = stack.client
    value: dict[str, Any] = {"type": "fileUpload", "action": action, "context": context}
    if action == "accept":
        value["uploadInfo"] = {
            "contentUrl": "https://contoso.sharepoint.com/personal/sanne/Documents/summary.pdf",
            "name": "summary.pdf",
            "uploadUrl": upload_url,
            "uniqueId": "1150D938-8870-4044-9F2C-5BBDEBA70C9D",
            "fileType": "pdf",
        }
    activity = {
        **c._base(user, c.chat(stack.connector.chat_of(user))),
        "type": "invoke",
        "name": "fileConsent/invoke",
        "replyToId": reply_to,
        "value": value,
    }
    return await c.post(activity)


async def test_accepting_the_card_puts_the_pdf_in_onedrive_and_shows_it(
    teams_stack: TeamsStack, onedrive: FakeOneDrive
) -> None:
    c, fake = teams_stack.client, teams_stack.connector
    await setup_session(teams_stack)
    await c.mention("29:U1", "start")
    await c.mention("29:U1", "export")
    card = await offered(fake, "29:U1")
    consent = consent_of(card)
    assert consent["name"] == "summary.pdf"
    content = consent["content"]
    assert content["sizeInBytes"] > 1000 and "OneDrive" in content["description"]
    assert content["acceptContext"]["export"]["fmt"] == "pdf"
    assert fake.invalid == []  # every activity the bot sent matches the channel spec
    assert not any(name in said(card) for name in NAMES)

    status, body = await file_consent(
        teams_stack,
        "29:U1",
        card.answered,
        "accept",
        content["acceptContext"],
        f"{onedrive.url}/upload/session-1",
    )
    assert status == 200 and body is None
    assert len(onedrive.puts) == 1
    headers, data = onedrive.puts[0]
    assert data.startswith(b"%PDF")
    assert headers["Content-Range"] == f"bytes 0-{len(data) - 1}/{len(data)}"
    assert "Authorization" not in headers  # the bot's token never goes to OneDrive
    pdftotext = ["pdftotext", "-", "-"]
    run = await asyncio.to_thread(subprocess.run, pdftotext, input=data, capture_output=True)
    text = run.stdout.decode()
    assert "Noord: samen grip" in text
    assert not any(name in text for name in NAMES) and "29:U" not in text

    shown = await sent_to(fake, fake.chat_of("29:U1"), INFO)
    info = shown.body["attachments"][0]
    assert info["contentUrl"].endswith("/summary.pdf") and info["name"] == "summary.pdf"
    assert info["content"] == {
        "uniqueId": "1150D938-8870-4044-9F2C-5BBDEBA70C9D",
        "fileType": "pdf",
    }
    assert fake.invalid == []


async def test_declining_gets_a_polite_note_and_no_upload(
    teams_stack: TeamsStack, onedrive: FakeOneDrive
) -> None:
    c, fake = teams_stack.client, teams_stack.connector
    await setup_session(teams_stack)
    await c.mention("29:U1", "start")  # a draft is never exported
    await c.say("29:U1", fake.chat_of("29:U1"), "export word")  # in the personal chat
    card = await offered(fake, "29:U1")
    context = consent_of(card)["content"]["declineContext"]
    assert consent_of(card)["name"] == "summary.docx"
    status, _ = await file_consent(teams_stack, "29:U1", card.answered, "decline", context)
    assert status == 200
    await sent_to(fake, fake.chat_of("29:U1"), "stuur ik het bestand niet")
    assert onedrive.puts == []


async def test_only_a_coordinator_gets_a_file(
    teams_stack: TeamsStack, onedrive: FakeOneDrive
) -> None:
    c, fake = teams_stack.client, teams_stack.connector
    await setup_session(teams_stack)
    await c.mention("29:U1", "start")  # a draft is never exported
    await c.mention("29:U2", "export")
    await sent_to(fake, fake.chat_of("29:U2"), "coördinator")
    # A participant answering with a coordinator's card context uploads nothing either.
    await c.mention("29:U1", "export")
    context = consent_of(await offered(fake, "29:U1"))["content"]["acceptContext"]
    status, _ = await file_consent(
        teams_stack, "29:U2", "", "accept", context, f"{onedrive.url}/upload/session-2"
    )
    assert status == 200
    chat = fake.chat_of("29:U2")
    await eventually(lambda: sum("coördinator" in said(m) for m in fake.of("send", chat)) == 2)
    assert onedrive.puts == []
    assert not any(CONSENT in said(m) for m in fake.of("send", chat))
