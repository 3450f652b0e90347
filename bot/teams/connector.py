"""The Bot Connector REST API (v3) as the bot calls it: send to a conversation, update an
activity, create a conversation, list members.

Our own small aiohttp client rather than botbuilder's msrest one: that one sends through
`requests` in a thread pool and retries 429s and 5xx inside, where the outbox (and its pacing)
should decide. One pool of connections serves every turn and every proactive message.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from yarl import URL

from bot.teams.limits import encode

log = logging.getLogger(__name__)

TokenSource = Callable[[], Awaitable[str]]  # a bearer token; "" sends no Authorization header
TIMEOUT = 15.0
# Worth trying again, and after how many seconds when the connector does not say.
RETRY_STATUSES = {429: 2.0, 412: 2.0, 502: 5.0, 504: 5.0}
MEMBER_PAGES = 20  # 20 pages of 500: a roster of 10,000 is as far as we look
JSON_UTF8 = "application/json; charset=utf-8"


class ConnectorError(Exception):
    """The connector answered with an error status."""

    def __init__(self, status: int, retry_after: float | None, detail: str) -> None:
        super().__init__(f"connector answered {status}: {detail}")
        self.status = status
        self.retry_after = retry_after


async def no_token() -> str:
    return ""


def _retry_after(headers: Any) -> float | None:
    try:
        return max(0.0, float(headers.get("Retry-After", "")))
    except ValueError:
        return None


class Connector:
    def __init__(self, token: TokenSource = no_token, timeout: float = TIMEOUT) -> None:
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    @staticmethod
    def url(service_url: str, *path: str) -> URL:
        """Conversation ids hold ':', '@' and ';': each path part is quoted whole."""
        parts = "/".join(urllib.parse.quote(p, safe="") for p in path)
        return URL(f"{service_url.rstrip('/')}/v3/{parts}", encoded=True)

    async def _call(self, method: str, url: URL, body: Any = None) -> Any:
        headers = {}
        token = await self.token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            # The bytes the cards were measured in (limits.encode), not aiohttp's json=, which
            # writes every non-ASCII character as \uXXXX.
            data = encode(body)
            headers["Content-Type"] = JSON_UTF8
        async with self._http().request(method, url, data=data, headers=headers) as resp:
            if resp.status >= 400:
                detail = (await resp.text())[:200]
                raise ConnectorError(resp.status, _retry_after(resp.headers), detail)
            if resp.content_type == "application/json":
                return await resp.json()
            return {}

    async def send(self, service_url: str, conversation_id: str, activity: dict[str, Any]) -> str:
        """Post to a conversation (in a channel: a new thread); returns the activity id."""
        answer = await self._call(
            "POST", self.url(service_url, "conversations", conversation_id, "activities"), activity
        )
        return str(answer.get("id", ""))

    async def update(
        self,
        service_url: str,
        conversation_id: str,
        activity_id: str,
        activity: dict[str, Any],
    ) -> None:
        url = self.url(service_url, "conversations", conversation_id, "activities", activity_id)
        await self._call("PUT", url, {**activity, "id": activity_id})

    async def create_conversation(self, service_url: str, params: dict[str, Any]) -> dict[str, Any]:
        """A new conversation (a person's 1:1 chat); answers ConversationResourceResponse."""
        answer = await self._call("POST", self.url(service_url, "conversations"), params)
        return dict(answer)

    async def members(self, service_url: str, conversation_id: str) -> list[dict[str, Any]]:
        """Everyone in a team, channel or chat (pagedmembers, following the continuation)."""
        found: list[dict[str, Any]] = []
        token = ""
        for _page in range(MEMBER_PAGES):
            url = self.url(service_url, "conversations", conversation_id, "pagedmembers")
            query = {"pageSize": "500", **({"continuationToken": token} if token else {})}
            page = await self._call("GET", url.with_query(query))
            found += list(page.get("members", []))
            token = str(page.get("continuationToken") or "")
            if not token:
                break
        return found
