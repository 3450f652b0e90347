"""The weeks after the demo's session, on a fast clock: the schedule ticks, nudges go out at
moments that suit each person, people answer some of them; every nudge sent or skipped is
written to nudges.jsonl."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import ManualClock
from bot.console.adapter import Console
from bot.wiring import App
from handlers.model import OutboxMessage, OutboxStatus, Person
from handlers.nudges import NUDGE_KINDS
from handlers.schedule import tick
from prompts.catalog import t

# What the weeks list: nudges, and what a series sends by itself (reminders, notices, asks).
REPORTED = (
    *NUDGE_KINDS,
    "closing_soon_team",
    "digest",
    "session_reminder",
    "holiday_notice",
    "keep_series",
    "plan_moved",
    "closed_left_open",
)
DAY_START = time(10, 0)  # simulated people act at ten in the morning


async def simulate(
    app: App,
    clock: ManualClock,
    console: Console,
    events: list[list[Any]],
    people: dict[str, str],
    weeks: int,
    out: Callable[[str], None],
    lang: str,
    key_prefix: str,
) -> None:
    """Jump from one due moment to the next (a nudge, a scripted answer, a tick) until the end."""
    start = clock.now()
    zone = ZoneInfo("Europe/Amsterdam")
    end = start + timedelta(weeks=weeks)
    answers = sorted(
        (
            datetime.combine(
                start.astimezone(zone).date() + timedelta(days=int(day)), DAY_START, tzinfo=zone
            ),
            name,
            line,
        )
        for day, name, line in events
    )
    keys = {(name, line): f"{key_prefix}:{i}" for i, (_, name, line) in enumerate(events)}
    shown_day = None
    while clock.now() < end:
        candidates = [end, _next_monday_nine(clock.now(), zone)]
        async with app.uow() as uow:
            pending = await uow.outbox.pending()
        candidates += [p.due_at for p in pending if p.due_at > clock.now()]
        if any(p.due_at <= clock.now() for p in pending):
            candidates.append(clock.now() + timedelta(minutes=1))
        candidates += [when for when, _, _ in answers if when > clock.now()]
        clock.set(min(candidates))
        day = clock.now().astimezone(zone).date()
        for when, name, line in [a for a in answers if a[0] <= clock.now()]:
            answers.remove((when, name, line))
            _day_marker(out, lang, clock.now(), zone)
            shown_day = day
            console.act_as(name, people[name])
            out(f"\n{name} › {line}")
            await console.handle_line(line, event_key=keys[(name, line)])
        await tick(app.uow, clock, app.coulisse.bounds, app.coulisse.policy)
        if shown_day != day and await _anything_due(app, clock.now()):
            _day_marker(out, lang, clock.now(), zone)
            shown_day = day
        await console.dispatcher.drain()


async def _anything_due(app: App, now: datetime) -> bool:
    async with app.uow() as uow:
        return bool(await uow.outbox.pending(due_before=now))


def _next_monday_nine(now: datetime, zone: ZoneInfo) -> datetime:
    local = now.astimezone(zone)
    days = (7 - local.weekday()) % 7 or 7
    return datetime.combine(local.date() + timedelta(days=days), time(9, 0), tzinfo=zone)


def _day_marker(out: Callable[[str], None], lang: str, now: datetime, zone: ZoneInfo) -> None:
    local = now.astimezone(zone)
    out(
        "\n"
        + t(
            lang,
            "demo.day",
            weekday=t(lang, f"demo.weekdays.{local.weekday()}"),
            date=local.strftime("%d-%m-%Y"),
        )
    )


async def write_nudges(app: App, path: Path, lang: str) -> list[dict[str, Any]]:
    """One line per nudge sent or skipped, with the local time it reached the person."""
    lines: list[dict[str, Any]] = []
    async with app.uow() as uow:
        rows: list[OutboxMessage] = [r for r in await uow.outbox.all_done() if r.kind in REPORTED]
        for row in rows:
            person = await uow.get(Person, row.person_id) if row.person_id else None
            zone = ZoneInfo(person.timezone if person else "Europe/Amsterdam")
            local = (row.sent_at or row.due_at).astimezone(zone)
            lines.append(
                {
                    "kind": row.kind,
                    "person": person.display_name if person else None,
                    "dedupe_key": row.dedupe_key,
                    "due_at": row.due_at.isoformat(),
                    "sent_at": row.sent_at.isoformat() if row.sent_at else None,
                    # When it reached the person (or, skipped, when it would have), their clock.
                    "local_time": f"{local.isoformat()} {zone.key}",
                    "status": row.status.value,
                    "reason": row.reason,
                    "reason_text": t(lang, f"nudges.skipped.{row.reason}") if row.reason else "",
                }
            )
    with path.open("w", encoding="utf-8") as fh:
        for line in lines:
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
    return lines


def print_nudges(lines: list[dict[str, Any]], out: Callable[[str], None], lang: str) -> None:
    sent = sum(1 for line in lines if line["status"] == OutboxStatus.SENT.value)
    out("\n" + t(lang, "demo.nudges_heading", sent=sent, skipped=len(lines) - sent))
    for line in lines:
        when = line["local_time"][:16].replace("T", " ")
        who = line["person"] or t(lang, "demo.the_team")
        status = t(lang, f"demo.statuses.{line['status']}")
        reason = f" — {line['reason_text']}" if line["reason_text"] else ""
        out(f"  {when}  {who:<8} {line['kind']:<18} {status}{reason}")
