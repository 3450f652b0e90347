"""`coulisse demo`: a complete, scripted regie session on the embedded default.

Every step carries a stable event key, so `--resume` after a crash continues where the
database says the demo was: steps that were acknowledged are not done twice.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from bot.clock import ManualClock
from bot.console.adapter import Console
from bot.demo.weeks import print_nudges, simulate, write_nudges
from bot.export.files import write_summary
from bot.wiring import App, build
from handlers.model import SuggestionStatus
from handlers.ports import Synthesizer
from handlers.reports import build_summary
from handlers.summary import Summary
from prompts.catalog import t

SCRIPTS = Path(__file__).parent / "scripts"
START = datetime(2027, 1, 12, 9, 30, tzinfo=ZoneInfo("Europe/Amsterdam"))
STEP = timedelta(minutes=2)
WEEKS_AFTER = 6
_RELATIVE_DATE = re.compile(r"\{\+(\d+)d\}")


def load_script(lang: str) -> dict[str, Any]:
    with (SCRIPTS / f"demo-{lang}.yaml").open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _dates(line: str) -> str:
    return _RELATIVE_DATE.sub(
        lambda m: (START.date() + timedelta(days=int(m[1]))).isoformat(), line
    )


def prepare_database(out_dir: Path, resume: bool) -> str:
    """The demo's own SQLite file in its output folder; fresh unless resuming."""
    out_dir.mkdir(parents=True, exist_ok=True)
    db_file = out_dir / "coulisse-demo.db"
    if not resume:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_file}{suffix}").unlink(missing_ok=True)
    return f"sqlite+aiosqlite:///{db_file}"


async def run_demo(
    out_dir: Path,
    lang: str,
    out: Callable[[str], None],
    *,
    resume: bool = False,
    database_url: str | None = None,
    pace: float = 0.0,
    synthesizer: Synthesizer | None = None,
) -> Summary:
    url = database_url or prepare_database(out_dir, resume)
    clock = ManualClock(START)
    app = await build(url, clock, synthesizer=synthesizer)
    try:
        return await _play(app, clock, out_dir, lang, out, pace)
    finally:
        await app.close()


async def _play(
    app: App,
    clock: ManualClock,
    out_dir: Path,
    lang: str,
    out: Callable[[str], None],
    pace: float,
) -> Summary:
    script = load_script(lang)
    console = Console(
        app, clock, out, team=script["team"], lang=lang, files=out_dir, exports=out_dir
    )
    out(t(lang, "demo.intro", team=script["team"], people=len(script["people"])))
    await console.dispatcher.drain()  # what a crash left unsent goes out first
    step = 0
    for name, organisation in script["people"].items():
        step += 1
        clock.set(START + step * STEP)
        out(f"\n{name} › /as {name} {organisation}")
        await console.handle_line(f'/as {name} "{organisation}"', event_key=f"demo:{lang}:{step}")
    for name, line in script["steps"]:
        step += 1
        clock.set(START + step * STEP)
        organisation = script["people"][name]
        if console.actor is None or console.actor.display_name != name:
            console.act_as(name, organisation)
        line = _dates(line)
        out(f"\n{name} › {line}")
        await console.handle_line(line, event_key=f"demo:{lang}:{step}")
        if pace:
            await asyncio.sleep(pace)
    out("\n" + t(lang, "demo.weeks_later", weeks=WEEKS_AFTER))
    events = script.get("after", [])
    await simulate(
        app, clock, console, events, script["people"], WEEKS_AFTER, out, lang, f"demo:{lang}:after"
    )
    await _choose_drafted_paragraph(app, console, script, out, lang)
    nudges = await write_nudges(app, out_dir / "nudges.jsonl", lang)
    print_nudges(nudges, out, lang)
    async with app.uow() as uow:
        sessions = await uow.sessions.for_team(await _team_id(uow, script["team"]))
        summary = await build_summary(uow, sessions[0], lang)
    written, missing = write_summary(summary, out_dir, lang)
    files = ", ".join(p.name for p in written)
    out("\n" + t(lang, "demo.written", folder=str(out_dir), files=files))
    if missing:
        out(missing)
    return summary


async def _choose_drafted_paragraph(
    app: App, console: Console, script: dict[str, Any], out: Callable[[str], None], lang: str
) -> None:
    """With the assistant on, the coordinator chooses its draft of the summary's paragraph (in
    a real team, anyone may choose it or keep the plain one)."""
    async with app.uow() as uow:
        sessions = await uow.sessions.for_team(await _team_id(uow, script["team"]))
        drafts = [
            s
            for s in await uow.assistance.suggestions(sessions[0].id or 0)
            if s.kind == "narrative" and s.status == SuggestionStatus.PENDING
        ]
    if not drafts:
        return
    name = next(iter(script["people"]))
    console.act_as(name, script["people"][name])
    line = f"/suggestion {drafts[0].id}:yes"
    out(f"\n{name} › {line}")
    await console.handle_line(line, event_key=f"demo:{lang}:narrative")


async def _team_id(uow: Any, channel: str) -> int:
    workspace = await uow.directory.workspace("console", "local")
    team = await uow.directory.team_by_channel(workspace.id, channel)
    return int(team.id)
