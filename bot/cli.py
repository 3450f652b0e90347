"""The `coulisse` command."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from bot.clock import SystemClock
from bot.config import Settings
from bot.console.adapter import Console
from bot.console.demo import run_demo
from bot.wiring import build
from prompts.catalog import LANGUAGES, language
from storage.migrate import upgrade

app = typer.Typer(help="Coulisse: facilitation from the wings.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.")
app.add_typer(db_app, name="db")


def _settings() -> Settings:
    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper(), stream=sys.stderr)
    return settings


def _lang(value: str) -> str:
    if value and value not in LANGUAGES:
        raise typer.BadParameter(f"choose one of: {', '.join(LANGUAGES)}")
    return value


def _echo(line: str) -> None:
    print(line, flush=True)


@app.command()
def demo(
    lang: Annotated[str, typer.Option("--lang", callback=_lang, help="nl or en")] = "nl",
    out: Annotated[Path, typer.Option("--out", help="Folder for the summary")] = Path(
        "coulisse-demo"
    ),
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue a demo that was interrupted")
    ] = False,
    pace: Annotated[
        float, typer.Option("--pace", help="Seconds to pause after each step (presenting)")
    ] = 0.0,
) -> None:
    """Run a complete, scripted regie session with five simulated participants."""
    _settings()
    asyncio.run(run_demo(out, lang, _echo, resume=resume, pace=pace))


@app.command()
def console(
    team: Annotated[str, typer.Option(help="The team's channel name")] = "team",
    lang: Annotated[str, typer.Option("--lang", callback=_lang, help="nl or en")] = "",
) -> None:
    """Run sessions interactively in this terminal."""
    settings = _settings()
    asyncio.run(_console(settings, team, lang or language(settings.default_language)))


async def _console(settings: Settings, team: str, lang: str) -> None:
    clock = SystemClock()
    built = await build(settings.database_url, clock)
    session = Console(built, clock, _echo, team=team, lang=lang)
    from prompts.catalog import t

    _echo(t(lang, "console.banner", team=team))
    await session.dispatcher.drain()  # anything left unsent by an earlier run
    try:
        while True:
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line:
                break
            if not await session.handle_line(line):
                break
    finally:
        await built.close()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema up to date."""
    upgrade(_settings().database_url)
    _echo("ok")


def main() -> None:
    app()
