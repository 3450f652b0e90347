"""The `coulisse` command."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from bot.clock import ShiftableClock
from bot.logs import configure as configure_logging
from handlers.model import Session
from prompts.catalog import LANGUAGES, language, t

# Each command imports what it uses in its body: `coulisse serve` needs neither the console nor
# the exports, `coulisse export` no Slack, and `--help` none of them.
if TYPE_CHECKING:
    from bot.config import Settings
    from bot.export.files import ExportFile, ExportTarget
    from bot.export.mapfiles import CausalMapFile
    from bot.store import Store
    from bot.wiring import App
    from handlers.model import AssistUsage, OutboxMessage

app = typer.Typer(help="Coulisse: facilitation from the wings.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.")
app.add_typer(db_app, name="db")
map_app = typer.Typer(help="Causal maps: analyse a file, export a team's map.")
app.add_typer(map_app, name="map")
nudges_app = typer.Typer(help="What the outbox holds.")
app.add_typer(nudges_app, name="nudges")


def _settings() -> Settings:
    from bot.config import Settings, SettingsError

    try:
        settings = Settings()
    except SettingsError as exc:  # a setting's name and what is wrong, not a traceback
        print(f"coulisse: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    configure_logging(settings.log_level, settings.log_format)
    return settings


def _lang(value: str) -> str:
    if value and value not in LANGUAGES:
        raise typer.BadParameter(f"choose one of: {', '.join(LANGUAGES)}")
    return value


def _echo(line: str) -> None:
    print(line, flush=True)


async def build(database_url: str, clock: Any, **options: Any) -> App:
    """The database and the handlers (bot.wiring.build), imported when a command needs them."""
    from bot.wiring import build as wire

    return await wire(database_url, clock, **options)


@contextlib.asynccontextmanager
async def database(database_url: str) -> AsyncIterator[Store]:
    """The database alone (bot.store), for the commands that only read or change rows: they
    load neither the router nor the handlers behind it. Closed after."""
    from bot.store import open_store

    store = await open_store(database_url)
    try:
        yield store
    finally:
        await store.close()


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
    llm: Annotated[
        bool, typer.Option("--llm", help="With the LLM assistant configured in the environment")
    ] = False,
) -> None:
    """Run a complete, scripted regie session with five simulated participants."""
    from bot.demo import run_demo
    from bot.llm import describe as describe_llm
    from bot.llm import synthesizer_from

    settings = _settings()
    synthesizer = synthesizer_from(settings) if llm else None
    if llm:
        on = synthesizer is not None
        _echo(t(lang, "assist.demo_on" if on else "assist.demo_off", model=describe_llm(settings)))
    asyncio.run(run_demo(out, lang, _echo, resume=resume, pace=pace, synthesizer=synthesizer))


@app.command()
def console(
    team: Annotated[str, typer.Option(help="The team's channel name")] = "team",
    lang: Annotated[str, typer.Option("--lang", callback=_lang, help="nl or en")] = "",
) -> None:
    """Run sessions interactively in this terminal."""
    settings = _settings()
    asyncio.run(_console(settings, team, lang or language(settings.default_language)))


async def _console(settings: Settings, team: str, lang: str) -> None:
    clock = ShiftableClock()  # the real time, until someone types /clock +2d
    built = await build(
        settings.database_url,
        clock,
        bounds=settings.loop_bounds,
        policy=settings.nudge_policy,  # the console follows the same cap and holidays
        defaults=settings.workspace_defaults,
        retention_days=settings.retention_days,
    )
    from bot.console.adapter import Console

    session = Console(built, clock, _echo, team=team, lang=lang)

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


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 3000,
) -> None:
    """Run the bot: Slack (HTTP or Socket Mode), the outbox, /healthz."""
    from bot.serve import serve as run_server

    asyncio.run(run_server(_settings(), host, port))


@app.command("slack-manifest")
def slack_manifest(
    url: Annotated[str | None, typer.Option(help="Public base URL of `coulisse serve`")] = None,
    socket_mode: Annotated[bool, typer.Option("--socket-mode", help="No public URL")] = False,
) -> None:
    """Print the Slack app manifest, ready to paste into api.slack.com/apps."""
    from bot.slack.manifest import manifest_text

    try:
        sys.stdout.write(manifest_text(url, socket_mode))
    except ValueError as exc:
        _fail(str(exc))


@nudges_app.command("list")
def nudges_list(
    due_before: Annotated[
        str | None,
        typer.Option(
            help="Only what is due before this moment: '2027-03-20 09:00', 'tomorrow 9:00', "
            "ISO 8601 with an offset; without one in COULISSE_TIMEZONE"
        ),
    ] = None,
) -> None:
    """What is queued to be sent: when, what kind, its dedupe key, to whom (ids, no content)."""
    from handlers.context import Refusal
    from handlers.when import parse_moment

    settings = _settings()
    until = None
    if due_before:
        try:
            until = parse_moment(due_before, settings.timezone, datetime.now(UTC)).moment
        except Refusal as refusal:
            _fail(t(settings.default_language, refusal.key, **refusal.params))
    for row in asyncio.run(_pending(settings.database_url, until)):
        to = f"{row.destination['kind']}:{row.destination['id']}"
        _echo(f"{row.due_at.isoformat()}  {row.kind:<18} {to:<10} {row.dedupe_key}")


async def _pending(url: str, until: datetime | None) -> list[OutboxMessage]:
    async with database(url) as db, db.uow() as uow:
        return list(await uow.outbox.pending(due_before=until))


@app.command()
def export(
    target: Annotated[
        str, typer.Argument(help="A session id, or series:ID for a recurring series")
    ],
    fmt: Annotated[
        str, typer.Option("--format", help="md, html, pdf, docx, json, or csv (commitments)")
    ] = "md",
    out: Annotated[
        Path | None, typer.Option("--out", help="File to write (default: stdout)")
    ] = None,
    names: Annotated[
        bool, typer.Option("--names", help="Commitment owners by name (never answer authors)")
    ] = False,
    lang: Annotated[str, typer.Option("--lang", callback=_lang, help="nl or en")] = "",
) -> None:
    """The summary for the municipality, pseudonymised unless --names (a coordinator's call)."""
    from bot.export.files import FORMATS as EXPORT_FORMATS
    from bot.export.files import ExportTarget, NothingToExport
    from bot.export.pdf import PdfUnavailable

    if fmt not in EXPORT_FORMATS:
        _fail(f"unknown format {fmt!r}: choose {', '.join(EXPORT_FORMATS)}")
    try:
        what = ExportTarget.parse(target)
    except ValueError:
        _fail(f"not a session or series: {target!r} (try 12 or series:3)")
    try:
        made = asyncio.run(_export(_settings().database_url, what, fmt, lang, names))
    except NothingToExport:
        _fail(f"there is no {what.kind} {what.id} with anything to export")
    except PdfUnavailable as error:
        _fail(str(error))
    if out is None:
        sys.stdout.buffer.write(made.data)
        sys.stdout.flush()
    else:
        out.write_bytes(made.data)


async def _export(url: str, what: ExportTarget, fmt: str, lang: str, names: bool) -> ExportFile:
    from bot.export.files import export_file

    async with database(url) as db, db.uow() as uow:
        today = datetime.now(UTC).date()
        return await export_file(uow, what, fmt, lang or None, today, names=names)


@app.command()
def forget(
    person: Annotated[str, typer.Argument(help="The person's platform id (e.g. a Slack U… id)")],
) -> None:
    """Forget a person everywhere, in one transaction (AVG/GDPR)."""
    found = asyncio.run(_forget(_settings().database_url, person))
    if not found:
        _fail(f"nobody with platform id {person!r}")
    _echo(f"forgotten: {found} record(s) of {person!r}")


async def _forget(url: str, platform_id: str) -> int:
    from handlers.people import forget_person

    async with database(url) as db, db.uow() as uow:
        people = await uow.directory.people_by_platform_id(platform_id)
        for person in people:
            await forget_person(uow, datetime.now(UTC), person)
        await uow.commit()
        return len(people)


@app.command()
def purge(
    older_than: Annotated[
        int | None, typer.Option("--older-than", help="Days; default COULISSE_RETENTION_DAYS")
    ] = None,
) -> None:
    """Delete sessions past the retention period, with everything under them."""
    settings = _settings()
    days = older_than if older_than is not None else settings.retention_days
    if days < 0:
        _fail("--older-than needs a number of days, 0 or more")
    _echo(f"purged: {asyncio.run(_purge(settings.database_url, days))} session(s)")


async def _purge(url: str, days: int) -> int:
    async with database(url) as db, db.uow() as uow:
        count = await uow.privacy.purge(datetime.now(UTC) - timedelta(days=days))
        await uow.commit()
        return count


@app.command()
def status() -> None:
    """Whether the LLM assistant is on, and what it cost per session (calls, tokens)."""
    from bot.llm import describe as describe_llm

    settings = _settings()
    _echo(f"LLM assistant: {describe_llm(settings)}")
    rows = asyncio.run(_usage(settings.database_url))
    _echo(f"{'session':>7}  {'status':<7} {'calls':>5} {'prompt':>8} {'completion':>10} "
          f"{'fallbacks':>9}  title")  # fmt: skip
    for session, usage in rows:
        calls, prompt, completion, fallbacks = (
            (usage.calls, usage.prompt_tokens, usage.completion_tokens, usage.fallbacks)
            if usage
            else (0, 0, 0, 0)
        )
        _echo(
            f"{session.id:>7}  {session.status.value:<7} {calls:>5} {prompt:>8} {completion:>10} "
            f"{fallbacks:>9}  {session.title}"
        )


async def _usage(url: str) -> list[tuple[Session, AssistUsage | None]]:
    async with database(url) as db, db.uow() as uow:
        rows = []
        for team, _workspace in await uow.directory.all_teams():
            for session in await uow.sessions.for_team(team.id or 0):
                rows.append((session, await uow.assistance.usage(session.id or 0)))
        return sorted(rows, key=lambda row: row[0].id or 0)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema up to date."""
    from storage.migrate import upgrade

    upgrade(_settings().database_url)
    _echo("ok")


@map_app.command("analyze")
def map_analyze(
    file: Annotated[Path, typer.Argument(help="CSV (from,to,polarity[,delay]) or Kumu JSON")],
    svg_out: Annotated[Path | None, typer.Option("--svg", help="Write the diagram as SVG")] = None,
    png_out: Annotated[Path | None, typer.Option("--png", help="Write the diagram as PNG")] = None,
    max_length: Annotated[int, typer.Option(help="Longest loop searched, in links")] = 8,
    max_loops: Annotated[int, typer.Option(help="Loops listed at most (shortest first)")] = 500,
    max_seconds: Annotated[
        float, typer.Option(help="Safety net: stop searching after this long (reported)")
    ] = 10.0,
) -> None:
    """Find the feedback loops and leverage points of a causal map; prints JSON.

    Exit codes: 0 done; 2 the file or an option is wrong (nothing printed); 3 the JSON is
    printed but a picture asked for could not be made (the reason on stderr)."""
    # Only what analysis needs: no platform, database or LLM code is imported on this path.
    from bot.export.mapfiles import MapFileError, analysis_json, file_diagram, read_map
    from handlers.loops import analyse

    if max_length < 1 or max_loops < 1 or max_seconds <= 0:
        _fail("--max-length and --max-loops need 1 or more, --max-seconds more than 0")
    try:
        loaded = read_map(file)
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"{file}: cannot read it ({type(exc).__name__})")
    except MapFileError as exc:
        _fail(f"{file}: {exc}")
    result = analyse(
        loaded.factors,
        loaded.edges,
        max_length=max_length,
        max_loops=max_loops,
        time_budget=max_seconds,
    )
    data = analysis_json(loaded, result)
    _echo(json.dumps(data, ensure_ascii=False, indent=2))
    for conflict in data["conflicts"]:
        _warn(f"{file}: {conflict['from']} -> {conflict['to']} is given with both signs "
              f"({', '.join(conflict['where'])}); its loops are marked unclear")  # fmt: skip
    if data["unsigned_links"]:
        places = ", ".join(data["unsigned_links"][:5])
        _warn(f"{file}: {len(data['unsigned_links'])} link(s) without polarity ({places}); "
              "their loops are marked unclear")  # fmt: skip
    if result.search.bound == "time":
        _warn(f"{file}: the {max_seconds:g} s safety net stopped the search; loops of up to "
              f"{result.search.complete_to} links are all listed")  # fmt: skip
    if not (svg_out or png_out):
        return
    from bot.export.diagram import png_or_reason, svg_with_note  # only for a picture

    diagram = file_diagram(loaded, result, file.stem)
    failed = False
    if svg_out:
        picture_svg, note = svg_with_note(diagram)
        failed |= not _written(svg_out, picture_svg.encode("utf-8"))
        if note:
            _warn(f"{svg_out}: {note}; drawn as a plain SVG instead")
    if png_out:
        picture, reason = png_or_reason(diagram)
        if picture is None:
            _warn(f"{png_out}: not written: {reason}")
            failed = True
        else:
            failed |= not _written(png_out, picture)
    if failed:
        raise typer.Exit(3)


def _written(path: Path, data: bytes) -> bool:
    """A picture that cannot be written (no such folder, a folder's name) is said on stderr:
    the JSON is already out, so it is exit 3 as documented, not a traceback."""
    try:
        path.write_bytes(data)
    except OSError as exc:
        _warn(f"{path}: not written ({type(exc).__name__}: {exc.strerror or exc})")
        return False
    return True


def _warn(line: str) -> None:
    print(f"coulisse: {line}", file=sys.stderr, flush=True)


@map_app.command("export")
def map_export(
    session_id: Annotated[int, typer.Argument(help="A session id; its team's map is written")],
    fmt: Annotated[str, typer.Option("--format", help="kumu, graphml or csv")] = "kumu",
    out: Annotated[
        Path | None, typer.Option("--out", help="File to write (default: stdout)")
    ] = None,
) -> None:
    """Write a team's causal map for other tools (Kumu, yEd/Gephi, spreadsheets)."""
    from bot.export.mapfiles import WRITERS

    if fmt not in WRITERS:
        _fail(f"unknown format {fmt!r}: choose kumu, graphml or csv")
    loaded = asyncio.run(_team_map_of(_settings().database_url, session_id))
    text = WRITERS[fmt](loaded)
    if out:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            _fail(f"{out}: cannot write it ({type(exc).__name__}: {exc.strerror or exc})")
    else:
        sys.stdout.write(text)


async def _team_map_of(url: str, session_id: int) -> CausalMapFile:
    from bot.export.mapfiles import from_team_map
    from handlers.systems import team_map

    async with database(url) as db, db.uow() as uow:
        session = await uow.get(Session, session_id)
        if session is None:
            _fail(f"there is no session {session_id}")
        return from_team_map(await team_map(uow, session.team_id))


def _fail(problem: str) -> NoReturn:
    print(f"coulisse: {problem}", file=sys.stderr)
    raise typer.Exit(2)


@app.command("teams-package")
def teams_package(
    app_id: Annotated[str, typer.Option("--app-id", help="The bot's Microsoft App ID (a GUID)")],
    out: Annotated[Path, typer.Option("--out", help="The zip to write")] = Path(
        "coulisse-teams.zip"
    ),
    public_url: Annotated[
        str, typer.Option("--public-url", help="https://… of the server: adds the web view's tabs")
    ] = "",
) -> None:
    """Build the Teams app package (manifest validated against the v1.19 schema, icons)."""
    from bot.teams.package import PackageError, build_package

    try:
        _echo(str(build_package(app_id, out, public_url)))
    except PackageError as exc:
        _fail(str(exc))


def main() -> None:
    app()
