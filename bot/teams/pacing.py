"""Teams' limits per bot and conversation: 7 messages a second and 60 in 30 seconds. A sender
asks before each message and waits, or hears how long it would have to wait."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

PER_SECOND = 7
PER_WINDOW = 60
WINDOW = 30.0


class TooSoon(Exception):
    def __init__(self, wait: float) -> None:
        super().__init__(f"the conversation's limit allows the next message in {wait:.1f} s")
        self.wait = wait


class Pacer:
    def __init__(
        self,
        per_second: int = PER_SECOND,
        per_window: int = PER_WINDOW,
        window: float = WINDOW,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_second = per_second
        self.per_window = per_window
        self.window = window
        self.monotonic = monotonic
        self._sent: dict[str, deque[float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def wait_for(self, conversation: str) -> float:
        """Seconds until one more message may go to this conversation."""
        now = self.monotonic()
        sent = self._sent.get(conversation)
        if not sent:
            return 0.0
        while sent and sent[0] <= now - self.window:
            sent.popleft()
        wait = 0.0
        if len(sent) >= self.per_second:
            wait = max(wait, sent[-self.per_second] + 1.0 - now)
        if len(sent) >= self.per_window:
            wait = max(wait, sent[-self.per_window] + self.window - now)
        return wait

    async def acquire(self, conversation: str, max_wait: float) -> None:
        """Take a slot, waiting up to `max_wait` seconds; TooSoon when it would take longer."""
        async with self._locks.setdefault(conversation, asyncio.Lock()):
            wait = self.wait_for(conversation)
            if wait > max_wait:
                raise TooSoon(wait)
            if wait > 0:
                await asyncio.sleep(wait)
            self._sent.setdefault(conversation, deque()).append(self.monotonic())
