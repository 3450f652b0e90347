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

It also lists which heavy libraries each CLI command's module graph imports (each in a fresh
interpreter), so "every command loads only what it uses" is visible next to the figures.
Run: `.venv/bin/python bench/startup.py [--starts 5]`.
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

HEAVY = ("botbuilder", "openai", "pydantic", "typst", "docx", "jsonschema", "alembic", "typer")
# What each command's code path imports, as `python -c` runs it: the module `coulisse X` needs.
PATHS = {
    "serve (Slack only)": "import bot.cli, bot.serve",
    "export": "import bot.cli, bot.export.files",
    "cli alone (--help)": "import bot.cli",
}


def imported(statement: str, env: dict[str, str]) -> tuple[int, list[str]]:
    """How many modules a fresh interpreter holds after `statement`, and which heavy ones."""
    probe = (
        f"{statement}\nimport json, sys\n"
        f"print(json.dumps([len(sys.modules), sorted({{m.split('.')[0] for m in sys.modules}})]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=ROOT, capture_output=True, check=True
    ).stdout
    count, tops = json.loads(out)
    return count, [name for name in HEAVY if name in tops]


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


async def main(starts: int) -> None:
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
            paths = {label: imported(code, env) for label, code in PATHS.items()}
    print(f"Start-up to /healthz 200 and VmRSS 1 s later, median of {starts} starts each:")
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
    print("Modules imported by each command's code path (fresh interpreter):")
    for label, (count, heavy) in paths.items():
        print(f"  {label:20} {count:5} modules; heavy: {', '.join(heavy) or 'none'}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--floor"]:
        asyncio.run(floor_process(int(sys.argv[2]), sys.argv[3]))
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--starts", type=int, default=5)
    asyncio.run(main(parser.parse_args().starts))
