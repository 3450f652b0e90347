"""`coulisse serve` at rest, with only Slack configured, against a bare APScheduler process.

Both are started fresh several times, alternating, in this same run: the time from spawning the
process until /healthz answers 200, and its resident memory (VmRSS) a second later.

- **coulisse**: `python -m bot serve` with a Slack bot token and signing secret (the fake Slack
  Web API of the tests on loopback), no Teams, no LLM, SQLite in a temporary folder (migrated
  once before the first start, as a server that has run before finds it);
- **bare APScheduler**: `bench/nudges.py --naive` — an AsyncIOScheduler on an empty
  SQLAlchemyJobStore (SQLite) and an aiohttp /healthz, the floor a scheduler with a web server
  sets;
- **libraries only** (`--floor`): the same, plus what `serve` cannot do without and none of
  Coulisse's own code: slack-bolt's AsyncApp with its aiohttp adapter, SQLAlchemy's asyncio ORM
  on aiosqlite (one query), typer, Jinja2 and PyYAML (the catalog), prometheus-client. What
  coulisse holds above this is its own; what this holds above the bare process is the floor
  its dependencies set.

It also runs the other CLI commands, each in a fresh interpreter on the same database, and
lists how many modules each held, which heavy libraries, and its peak resident memory, so
"every command loads only what it uses" is visible next to the figures.
Run: `.venv/bin/python bench/startup.py [--starts 5] [--web-view]` (`--web-view`: coulisse
serves the web view too, COULISSE_WEB_KEY set, no Teams single sign-on).
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.nudges import (  # noqa: E402
    Start,
    add_naive_jobs,
    env_for,
    fake_slack,
    naive_args,
    serve_args,
    start_once,
)

HEAVY = ("botbuilder", "openai", "pydantic", "typst", "docx", "jsonschema", "alembic", "mako",
         "jwt", "slack_bolt", "aiohttp", "sqlalchemy", "jinja2", "yaml",
         "prometheus_client")  # fmt: skip
# Each command run for real, as `coulisse …` runs it, on the benchmark's migrated database (or,
# for serve, its code path up to the start: the process itself is measured above).
COMMANDS = {
    "serve (imports)": None,
    "--help": ["--help"],
    "map analyze": ["map", "analyze", "{folder}/map.csv"],
    "slack-manifest": ["slack-manifest"],
    "nudges list": ["nudges", "list"],
    "status": ["status"],
    "purge": ["purge"],
    "db upgrade (at head)": ["db", "upgrade"],
    "console (no input)": ["console"],
}
# The process's modules and peak VmRSS as it exits, whatever the command did.
PROBE = """
import atexit, json, sys
def report():
    peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))
    tops = sorted({m.split(".")[0] for m in sys.modules})
    sys.__stderr__.write("\\nPROBE" + json.dumps([len(sys.modules), tops, int(peak.split()[1])]))
atexit.register(report)
if sys.argv[1:]:
    sys.argv[0] = "coulisse"
    from bot.cli import main
    main()
else:
    import bot.cli, bot.serve
"""


@dataclass
class Footprint:
    modules: int
    heavy: list[str]
    peak_mib: float


def footprint(command: list[str] | None, env: dict[str, str], folder: Path) -> Footprint:
    """A command run in a fresh interpreter: its modules, heavy libraries and peak VmRSS."""
    args = [part.format(folder=folder) for part in command or []]
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], env=env, cwd=folder, capture_output=True,
        text=True, stdin=subprocess.DEVNULL, timeout=300,
    )  # fmt: skip
    report = done.stderr.rpartition("PROBE")[2]
    count, tops, peak_kib = json.loads(report)
    return Footprint(count, [name for name in HEAVY if name in tops], peak_kib / 1024)


def floor_args(port: int, url: str) -> list[str]:
    return [sys.executable, __file__, "--floor", str(port), url]


async def floor_process(port: int, url: str) -> None:
    """The libraries serve needs, each used once, and a /healthz; no Coulisse code."""
    import jinja2  # noqa: F401 - the catalog's templates
    import prometheus_client  # noqa: F401 - /metrics
    import typer  # noqa: F401 - the command line
    import yaml  # noqa: F401 - the catalog
    from aiohttp import web
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from slack_bolt.adapter.aiohttp import to_bolt_request  # noqa: F401 - as bot/web.py
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    engine = create_async_engine(url.replace("sqlite:", "sqlite+aiosqlite:", 1))
    async with async_sessionmaker(engine)() as session:
        await session.execute(text("SELECT 1"))
    client = AsyncWebClient(token="xoxb-floor", base_url="http://127.0.0.1:9/api/")
    AsyncApp(client=client, signing_secret="floor", process_before_response=True)
    scheduler = AsyncIOScheduler()
    scheduler.start()

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    site = web.Application()
    site.router.add_get("/healthz", healthz)
    runner = web.AppRunner(site, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


async def main(starts: int, web_view: bool) -> None:
    # An installed Coulisse (pip, the container image) has its bytecode compiled, as the
    # libraries in the virtual environment do; a checkout run with PYTHONDONTWRITEBYTECODE
    # would compile ~100 of its modules from source at every start (1.5 s of 2.2 s here).
    compileall.compile_dir(ROOT / "bot", quiet=1)
    for package in ("handlers", "storage", "prompts"):
        compileall.compile_dir(ROOT / package, quiet=1)
    with tempfile.TemporaryDirectory(prefix="coulisse-bench-startup-") as name:
        folder = Path(name)
        store = folder / "jobs.sqlite"
        add_naive_jobs(store, 0, datetime.now(UTC))  # the job store's table, no jobs
        url = f"sqlite:///{folder}/coulisse.db"
        async with fake_slack() as api:
            env = env_for(url, api.url) | {"OPENAI_API_KEY": "", "COULISSE_LLM_MODEL": ""}
            env["COULISSE_WEB_KEY"] = "bench-startup-web-view-key-0123456789" if web_view else ""
            warm = Start([], [])
            await start_once(serve_args, env, folder, warm)  # migrates the new database
            labels = ("coulisse serve", "libraries only", "bare APScheduler")
            results = {label: Start([], []) for label in labels}
            configurations = {
                "coulisse serve": (serve_args, env),
                "libraries only": (lambda p: floor_args(p, url), dict(os.environ)),
                "bare APScheduler": (lambda p: naive_args(p, store), dict(os.environ)),
            }
            for _ in range(starts):  # alternating, so machine noise hits both alike
                for label, (args, environment) in configurations.items():
                    await start_once(args, environment, folder, results[label])
            (folder / "map.csv").write_text("from,to,polarity\na,b,+\nb,a,-\n", encoding="utf-8")
            commands = {label: footprint(args, env, folder) for label, args in COMMANDS.items()}
    view = " (coulisse with the web view)" if web_view else ""
    print(f"Start-up to /healthz 200 and VmRSS 1 s later, median of {starts} starts each{view}:")
    for label, start in results.items():
        print(f"  {label:18} {start.median_s:6.2f} s {start.median_mib:8.1f} MiB")
    ours, floor, bare = (results[label] for label in labels)
    for name, (top, bottom) in {
        "coulisse/bare": (ours, bare),
        "libraries only/bare": (floor, bare),
        "coulisse/libraries only": (ours, floor),
    }.items():
        print(
            f"  ratio {name}: start-up {top.median_s / bottom.median_s:.2f}, "
            f"memory {top.median_mib / bottom.median_mib:.2f}"
        )
    print("Each command in a fresh interpreter: modules, peak VmRSS, heavy libraries:")
    for label, made in commands.items():
        heavy = ", ".join(made.heavy) or "none"
        print(f"  {label:21} {made.modules:5} modules {made.peak_mib:6.1f} MiB; {heavy}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--floor"]:
        asyncio.run(floor_process(int(sys.argv[2]), sys.argv[3]))
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--web-view", action="store_true", help="coulisse serves /web/ too")
    options = parser.parse_args()
    asyncio.run(main(options.starts, options.web_view))
