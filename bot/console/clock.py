"""Moving the clock by hand (`/clock +2d`, `/klok 23 maart 10:00`), so that someone trying
Coulisse can watch a series, its reminders and check-ins happen: the clock stops at each moment
something falls due on the way (a nudge, a session's start, a round's close, the weekly digest,
a day's end), the schedule ticks and the outbox is sent, as `coulisse serve` would have done.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from bot.wiring import App
from handlers.schedule import due_moments, tick
from handlers.when import parse_moment
from prompts.catalog import LANGUAGES, words

_RELATIVE = re.compile(r"^\+\s*(\d{1,4})\s*([^\W\d]+)$")
UNITS = {
    "minutes": timedelta(minutes=1),
    "hours": timedelta(hours=1),
    "days": timedelta(days=1),
    "weeks": timedelta(weeks=1),
}


@runtime_checkable
class SettableClock(Protocol):
    def now(self) -> datetime: ...
    def set(self, when: datetime) -> None: ...


class NotUnderstood(ValueError):
    pass


def target_of(text: str, now: datetime, zone: str) -> datetime:
    """`+2d`, `+3 uur`, `+1 week`, or a moment as people type it (handlers/when.py)."""
    text = " ".join(text.split()).casefold()
    found = _RELATIVE.match(text)
    if found:
        amount, unit = int(found.group(1)), found.group(2)
        for name, step in UNITS.items():
            if any(unit in words(lang, f"console.clock_units.{name}") for lang in LANGUAGES):
                return now + amount * step
        raise NotUnderstood(text)
    return parse_moment(text, zone, now).moment


async def move_clock(
    app: App,
    clock: SettableClock,
    target: datetime,
    drain: Callable[[], Awaitable[object]],
    on_step: Callable[[datetime], Awaitable[None]] | None = None,
) -> int:
    """Move the clock to `target`, stopping at each due moment on the way; how many stops."""
    stops = 0
    while True:
        now = clock.now()
        if now < target:
            clock.set(min([target, *await due_moments(app.uow, now)]))
        await tick(app.uow, clock, app.coulisse.bounds, app.coulisse.policy)
        await drain()
        stops += 1
        if on_step is not None:
            await on_step(clock.now())
        if clock.now() >= target:
            return stops
