"""Causal maps as pictures Teams shows: a card's Image is an HTTPS URL that Teams fetches
itself (through its image proxy). A PNG in the card as a data URI is over the message's size,
and desktop Teams does not show one (bot/teams/limits.py).

The bot serves the picture at `GET /media/<token>.png`. The token is random (256 bits) and the
URL its only key: the database keeps the token's SHA-256, never the token, and the access log
shows `/media/-`. The bytes are in the database, so any instance behind the public URL answers
(an HMAC-signed URL would need no table, but the server answering it would have to draw the map
again from the team's words, which a URL must not carry, or find it in a cache only the drawing
instance has). A picture expires after COULISSE_MEDIA_DAYS; expired ones are deleted with the
next one stored.

Without COULISSE_PUBLIC_URL Teams has no address to fetch from: the card shows the map as text,
as it did, and the log says so once, at start.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
import subprocess
from collections.abc import Callable
from datetime import timedelta

from aiohttp import web
from aiohttp.web_log import AccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from bot.export.diagram import dot_source, graphviz
from bot.teams.limits import IMAGE_PIXELS, picture_fits
from handlers.messages import Diagram, Message
from handlers.ports import Clock, Media

log = logging.getLogger(__name__)

ROUTE = "/media/{name}"
TOKEN_BYTES = 32  # secrets.token_urlsafe: 43 characters
_NAME = re.compile(r"([A-Za-z0-9_-]{43})\.png")
DPI = 96
INCHES = round((IMAGE_PIXELS.value - 16) / DPI, 2)  # Graphviz scales a larger map down to this
CACHE = "private, max-age=3600"  # the viewer's client may keep it; shared caches may not


def key_of(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def draw(diagram: Diagram) -> bytes | None:
    """The map as PNG within Teams' 1024 × 1024 (scaled down only when larger); None without
    Graphviz."""
    dot = graphviz()
    if dot is None:
        return None
    args = [dot, "-Tpng", f"-Gdpi={DPI}", f"-Gsize={INCHES},{INCHES}"]
    source = dot_source(diagram).encode()
    return subprocess.run(args, input=source, capture_output=True, check=True, timeout=30).stdout


class Pictures:
    def __init__(
        self,
        store: Media | None = None,
        public_url: str = "",
        clock: Clock | None = None,
        lifetime: timedelta = timedelta(days=7),
        drawing: Callable[[Diagram], bytes | None] = draw,
    ) -> None:
        self.store = store
        self.base = public_url.rstrip("/")
        self.clock = clock
        self.lifetime = lifetime
        self.drawing = drawing

    async def urls(self, message: Message) -> dict[Diagram, str]:
        """Where each causal map of the message is served, drawn and stored now. None for a
        map without a public URL, or one that cannot be drawn within Teams' limits: the card
        shows its text instead."""
        found: dict[Diagram, str] = {}
        if not self.base or self.store is None or self.clock is None:
            return found
        for block in message.blocks:
            if not isinstance(block, Diagram) or block in found:
                continue
            try:
                picture = await asyncio.to_thread(self.drawing, block)
                if picture is None or not picture_fits(picture):
                    continue
                token = secrets.token_urlsafe(TOKEN_BYTES)
                now = self.clock.now()
                await self.store.put(key_of(token), picture, now, now + self.lifetime)
            except Exception as error:  # the message still goes, with the map as text
                log.warning("a causal map was not stored for Teams: %s", type(error).__name__)
                continue
            found[block] = f"{self.base}/media/{token}.png"
        return found

    async def serve(self, request: web.Request) -> web.Response:
        """GET /media/<token>.png: the picture, or 404 for a token unknown or expired."""
        match = _NAME.fullmatch(request.match_info.get("name", ""))
        if match is None or self.store is None or self.clock is None:
            return web.Response(status=404)
        try:
            picture = await self.store.get(key_of(match[1]), self.clock.now())
        except Exception as error:
            log.warning("a picture could not be read: %s", type(error).__name__)
            return web.Response(status=503)
        if picture is None:
            return web.Response(status=404)
        headers = {"Cache-Control": CACHE, "X-Content-Type-Options": "nosniff"}
        return web.Response(body=picture, content_type="image/png", headers=headers)


class AccessLog(AccessLogger):
    """aiohttp's access log without a picture's token: whoever reads the log must not be able
    to fetch the team's map."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        if request.path.startswith("/media/"):
            request = request.clone(rel_url="/media/-")
        super().log(request, response, time)
