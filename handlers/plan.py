"""An async session's plan: its rounds open and close one after the other at the session's
time of day on the team's working days (no weekends, none of the team's holidays), and each
member's question can reach them, in their own hours, well before their round closes. When it
could not, the round closes a working day later and the plan says why; the coordinator sees it
before anything is sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from handlers.etiquette import Etiquette, NudgePolicy, holiday_name
from handlers.model import Workspace
from handlers.when import understood_text
from prompts.catalog import t

# A round's length as the form offers it, in working days ("a week" is five of them).
WORKING_DAYS = {"1": 1, "2": 2, "3": 3, "7": 5}
# A question must reach each person this long before their round closes, in their own hours.
TIME_TO_ANSWER = timedelta(hours=4)
MAX_MOVES = 10  # a round that still cannot reach everyone after this is refused


@dataclass(frozen=True)
class Move:
    """Why the plan differs from the plain count of working days (the coordinator is told)."""

    position: int  # the round; 0: the session's start
    reason: str  # a key under sessions.plan_moves
    calendar: Etiquette | None = None  # whose holiday it was, and its day (named per reader)
    day: date | None = None

    def holiday(self, lang: str) -> str:
        """The holiday's name in the reader's language; empty when none caused the move."""
        if self.calendar is None or self.day is None:
            return ""
        return holiday_name(self.calendar.country, self.day, self.calendar.region, lang) or ""


@dataclass(frozen=True)
class Plan:
    starts_at: datetime
    slots: tuple[tuple[datetime, datetime], ...]  # each round's (opens, closes), UTC
    moves: tuple[Move, ...] = ()


class Unplannable(Exception):
    """No plan reaches everyone (someone is away for longer than MAX_MOVES working days)."""


def team_calendar(workspace: Workspace | None, policy: NudgePolicy) -> Etiquette:
    """The team's working days: the workspace's zone, the policy's holidays."""
    zone = workspace.timezone if workspace is not None else Etiquette().timezone
    return Etiquette(zone, country=policy.country)


def on_working_day(team: Etiquette, moment: datetime) -> datetime:
    """The same wall time on the first working day at or after `moment`'s local day."""
    local = moment.astimezone(team.zone)
    day = local.date()
    while not team.is_working_day(day):
        day += timedelta(days=1)
    return team.at(day, local.time())


def after_working_days(team: Etiquette, moment: datetime, days: int) -> datetime:
    """The same wall time `days` working days later (weekends and holidays not counted)."""
    local = moment.astimezone(team.zone)
    day, counted = local.date(), 0
    while counted < days:
        day += timedelta(days=1)
        if team.is_working_day(day):
            counted += 1
    return team.at(day, local.time())


def why_not_working(calendar: Etiquette, moment: datetime, lang: str = "en") -> str:
    """The holiday's name in `lang` when `moment`'s local day is one (empty for a weekend)."""
    day = moment.astimezone(calendar.zone).date()
    return holiday_name(calendar.country, day, calendar.region, lang) or ""


def _move(position: int, reason: str, calendar: Etiquette, moment: datetime) -> Move:
    """A move, with the holiday that caused it if `moment`'s day in `calendar` is one."""
    day = calendar.local_day(moment)
    if calendar.holiday(day) is None:
        return Move(position, reason)
    return Move(position, reason, calendar, day)


def lay_out(
    start: datetime, rounds: int, days: int, team: Etiquette, people: Sequence[Etiquette]
) -> Plan:
    """Each round `days` working days long, from `start`; every question reaching everyone."""
    moves: list[Move] = []
    first = on_working_day(team, start)
    if first != start:
        moves.append(_move(0, "start_moved", team, start))
    slots: list[tuple[datetime, datetime]] = []
    opens = first
    for position in range(1, rounds + 1):
        closes = after_working_days(team, opens, days)
        for _ in range(MAX_MOVES):
            late = [p for p in people if p.next_slot(opens) + TIME_TO_ANSWER > closes]
            if not late:
                break
            moves.append(_move(position, "reach", late[0], opens))
            closes = after_working_days(team, closes, 1)
        else:
            raise Unplannable(position)
        slots.append((opens, closes))
        opens = closes
    return Plan(first, tuple(slots), tuple(moves))


def moment_text(lang: str, moment: datetime, zone: str) -> str:
    """'dinsdag 23 maart 2027 om 10:00 (Europe/Amsterdam)', in the reader's zone."""
    return understood_text(lang, moment, zone)


def move_text(lang: str, move: Move) -> str:
    reason = t(lang, f"sessions.plan_moves.{move.reason}", position=move.position)
    if holiday := move.holiday(lang):
        return t(lang, "sessions.plan_move_holiday", reason=reason, holiday=holiday)
    return reason
