"""Moving the clock by hand (`/clock +2d`, `/klok 23 maart 10:00`), so that someone trying
Coulisse can watch a series, its reminders and check-ins happen: the clock stops at each moment
something falls due on the way (a nudge, a session's start, a round's close, the weekly digest,
a day's end), the schedule ticks and the outbox is sent, as `coulisse serve` would have done.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from bot.wiring import App
from handlers.model import RoundStatus, SessionStatus
from handlers.schedule import DIGEST_TIME, tick
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


async def _due_moments(app: App, now: datetime) -> list[datetime]:
    """Everything after `now` at which the schedule or the outbox has something to do."""
    moments: list[datetime] = []
    async with app.uow() as uow:
        moments += [p.due_at for p in await uow.outbox.pending() if p.due_at > now]
        for team, workspace in await uow.directory.all_teams():
            zone = ZoneInfo(workspace.timezone)
            local = now.astimezone(zone)
            midnight = datetime.combine(local.date() + timedelta(days=1), time(0), zone)
            # The digest goes at 09:00 on the week's first working day (a Tuesday after Easter
            # Monday): stop at every 09:00, the schedule knows which day it is.
            nine = datetime.combine(local.date(), DIGEST_TIME, zone)
            moments += [midnight, nine if nine > now else nine + timedelta(days=1)]
            for session in await uow.sessions.for_team(team.id or 0):
                if session.status == SessionStatus.DRAFT and session.starts_at is not None:
                    moments.append(session.starts_at)
                if session.status == SessionStatus.OPEN:
                    for rnd in await uow.sessions.rounds(session.id or 0):
                        if rnd.status == RoundStatus.OPEN and rnd.closes_at is not None:
                            moments.append(rnd.closes_at)
    return [m for m in moments if m > now]


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
            clock.set(min([target, *await _due_moments(app, now)]))
        await tick(app.uow, clock, app.coulisse.bounds, app.coulisse.policy)
        await drain()
        stops += 1
        if on_step is not None:
            await on_step(clock.now())
        if clock.now() >= target:
            return stops
