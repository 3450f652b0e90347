"""Files in a personal chat, the only way Teams lets a bot send one: a file consent card asks
the person; when they accept, Teams hands the bot an upload session in their OneDrive, the bot
PUTs the bytes there and shows the file with a file info card.

The bytes are made again when the person accepts (not kept from when the card was sent): no
document waits in the database for a click that may never come, and the file shows the state
at the moment it is handed over. The size on the card is from the first render; pseudonyms are
keyed per export, so the second may differ by a few bytes, and the upload says its own length.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp

from bot.attachments import Attachment, Attachments, NothingToExport
from bot.teams.cards import activity, render
from bot.teams.connector import Connector, ConnectorError
from bot.teams.turn import Turn
from handlers.messages import Export, Message, Outcome, Text
from prompts.catalog import t

log = logging.getLogger(__name__)

CONSENT = "application/vnd.microsoft.teams.card.file.consent"
INFO = "application/vnd.microsoft.teams.card.file.info"
UPLOAD_TIMEOUT = 60.0


class UploadFailed(Exception):
    pass


def text_activity(text: str) -> dict[str, Any]:
    return activity(render(Message((Text(text),)))[0])


def offer(made: Attachment, export: Export, lang: str) -> dict[str, Any]:
    """The consent card for a file made for `export` (its format may have fallen back)."""
    description = t(lang, "exporting.consent", title=made.title)
    context = export_context(export, made.fmt)
    size = len(made.file.data)
    return consent_activity(made.file.filename, description, size, context, made.note)


def export_context(export: Export, fmt: str) -> dict[str, Any]:
    """What comes back in the invoke: which export (never a name or the bytes)."""
    return {"export": {"kind": export.kind, "id": export.id, "fmt": fmt, "lang": export.lang}}


def consent_activity(
    name: str, description: str, size: int, context: dict[str, Any], note: str = ""
) -> dict[str, Any]:
    card = {
        "contentType": CONSENT,
        "name": name,
        "content": {
            "description": description,
            "sizeInBytes": size,
            "acceptContext": context,
            "declineContext": context,
        },
    }
    activity: dict[str, Any] = {"type": "message", "attachments": [card]}
    if note:
        activity["text"] = note
    return activity


def info_activity(upload: Any) -> dict[str, Any]:
    """The uploaded file shown in the chat (`upload`: botbuilder's FileUploadInfo)."""
    card = {
        "contentType": INFO,
        "contentUrl": upload.content_url,
        "name": upload.name,
        "content": {"uniqueId": upload.unique_id, "fileType": upload.file_type},
    }
    return {"type": "message", "attachments": [card]}


async def upload(url: str, data: bytes) -> None:
    """The whole file in one PUT to the upload session (OneDrive takes up to 60 MiB at once).
    The session URL is its own authorisation: no bot token goes to OneDrive."""
    headers = {
        "Content-Length": str(len(data)),
        "Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}",
    }
    timeout = aiohttp.ClientTimeout(total=UPLOAD_TIMEOUT)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.put(url, data=data, headers=headers) as resp,
        ):
            if resp.status >= 400:
                raise UploadFailed(f"the upload session answered {resp.status}")
    except (aiohttp.ClientError, TimeoutError) as error:  # a total timeout is not a ClientError
        raise UploadFailed(type(error).__name__) from error


class Handover:
    """After the person accepted: make the file, put it in their OneDrive, show it."""

    def __init__(self, connector: Connector, attachments: Attachments) -> None:
        self.connector = connector
        self.attachments = attachments

    async def __call__(self, export: Export, turn: Turn, upload_info: Any, who: Outcome) -> None:
        """`who`: the outcome that allowed it (the person and their language)."""
        person_id, lang = who.person_id, who.lang
        try:
            if person_id is None or upload_info is None or not upload_info.upload_url:
                raise UploadFailed("no person or no upload session")
            made = await self.attachments.make(export, person_id)
            await upload(str(upload_info.upload_url), made.file.data)
            answer = info_activity(upload_info)
        except NothingToExport:
            answer = text_activity(t(lang, "exporting.gone"))
        except UploadFailed as failure:
            log.warning("a file did not reach OneDrive: %s", failure)
            answer = text_activity(t(lang, "exporting.upload_failed"))
        try:
            await self.connector.send(turn.service_url, turn.conversation_id, answer)
        except ConnectorError as error:
            log.warning("the file card was not sent: %s", error)
