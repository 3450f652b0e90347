"""What a process loads is what it uses: `coulisse serve` with only Slack configured starts
without botbuilder, openai or the export libraries, and the CLI loads a command's code only
when that command runs. Each check runs in a fresh interpreter, as the command would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from storage.migrate import upgrade
from tests.fake_slack import BOT_TOKEN, SIGNING_SECRET, free_port

ROOT = Path(__file__).resolve().parents[1]
# Teams, the LLM client and the export formats: none of them is needed to serve Slack.
# pydantic: typer 0.29 and later coerce every option with it (8 MiB); the settings do without.
NOT_FOR_SLACK = ("botbuilder", "botframework", "msrest", "msal", "openai", "weasyprint", "typst",
                 "docx", "lxml", "jsonschema", "pydantic")  # fmt: skip

# The real start of `coulisse serve` (through the CLI module, as `python -m bot serve` does),
# up to a served /healthz; then the top-level packages the process holds.
SERVE = """
import asyncio, json, sys, urllib.request
import bot.cli
from bot.config import Settings
from bot.serve import running

async def main(port):
    import typer.main  # the command line parsed as `coulisse serve --port N` parses it
    group = typer.main.get_command(bot.cli.app)
    parent = group.make_context("coulisse", ["serve", "--port", str(port)])
    group.get_command(parent, "serve").make_context("serve", ["--port", str(port)], parent=parent)
    async with running(Settings(), "127.0.0.1", port):
        url = f"http://127.0.0.1:{port}/healthz"
        status = await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=10).status)
        assert status == 200, status
    print(json.dumps(sorted(sys.modules)))

asyncio.run(main(int(sys.argv[1])))
"""


def loaded(code: str, env: dict[str, str], *args: str) -> set[str]:
    """The top-level packages the probe's process held (with every module's name if asked)."""
    out = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, cwd=ROOT, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    names = json.loads(out.stdout.strip().splitlines()[-1])
    return set(names) | {name.split(".")[0] for name in names}


def environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("COULISSE_", "SLACK_"))}
    return (
        keep
        | {
            "PYTHONPATH": str(ROOT),
            "COULISSE_DATABASE_URL": f"sqlite:///{tmp_path}/coulisse.db",
            "MICROSOFT_APP_ID": "",
            "COULISSE_ALLOW_UNAUTHENTICATED": "0",
            "OPENAI_API_KEY": "",
            "COULISSE_LLM_MODEL": "",
        }
        | settings
    )


def test_serve_for_slack_alone_loads_no_teams_llm_or_export_library(tmp_path: Path) -> None:
    env = environment(
        tmp_path,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        COULISSE_SLACK_API_URL=f"http://127.0.0.1:{free_port()}/api/",  # never called at start
    )
    upgrade(env["COULISSE_DATABASE_URL"])  # as a server that ran before finds its database
    held = loaded(SERVE, env, str(free_port()))
    assert {"slack_bolt", "aiohttp", "apscheduler", "sqlalchemy"} <= held  # it did start
    assert held.isdisjoint(NOT_FOR_SLACK), sorted(held & set(NOT_FOR_SLACK))
    assert "alembic" not in held  # nothing to migrate, so no Alembic (and no Mako)
    assert "sqlalchemy.dialects.postgresql" not in held  # on SQLite (18 ms and 2 MiB)


def test_serve_with_the_web_view_but_no_sso_loads_no_token_library(tmp_path: Path) -> None:
    """The web view's pages without Teams single sign-on: no PyJWT, no cryptography."""
    env = environment(
        tmp_path,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        COULISSE_SLACK_API_URL=f"http://127.0.0.1:{free_port()}/api/",
        COULISSE_WEB_KEY="k" * 32,
    )
    upgrade(env["COULISSE_DATABASE_URL"])
    held = loaded(SERVE, env, str(free_port()))
    assert "bot.webapp.pages" in held  # the view is served
    absent = {"jwt", "cryptography", *NOT_FOR_SLACK}
    assert held.isdisjoint(absent), sorted(held & absent)


def test_serve_for_teams_does_load_botbuilder(tmp_path: Path) -> None:
    """The other side of the check above: the probe sees botbuilder when Teams is on."""
    env = environment(tmp_path, COULISSE_ALLOW_UNAUTHENTICATED="1")
    held = loaded(SERVE, env, str(free_port()))
    assert "botbuilder" in held and "openai" not in held


PROBE = "import json, sys\n{}\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"


@pytest.mark.parametrize(
    ("code", "absent"),
    [
        # `coulisse --help`, `slack-manifest`, `teams-package`, `map analyze`: no database,
        # no platform, no LLM, no export library; no catalog text either, so no Jinja2 or YAML.
        (
            "import bot.cli",
            {"sqlalchemy", "alembic", "slack_bolt", "aiohttp", "jinja2", "yaml", *NOT_FOR_SLACK},
        ),
        # `coulisse export`: the database and the exports, but no platform and no LLM client.
        (
            "import bot.cli, bot.wiring, bot.export.files",
            {"slack_bolt", "botbuilder", "openai", "docx", "typst", "jsonschema"},
        ),
    ],
)
def test_each_command_loads_only_what_it_uses(tmp_path: Path, code: str, absent: set[str]) -> None:
    held = loaded(PROBE.format(code), environment(tmp_path))
    assert held.isdisjoint(absent), sorted(held & absent)


def ran(env: dict[str, str], *command: str) -> set[str]:
    """The modules `coulisse COMMAND` imported, run for real (its -X importtime log)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bot", *command], env=env, cwd=ROOT,
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return {line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line}


def test_commands_on_rows_alone_wire_no_handlers(tmp_path: Path) -> None:
    """`nudges list` (like `export`, `forget`, `purge`, `status`, `map export`) opens the
    database alone (bot/store.py): neither the router nor the handlers behind it."""
    env = environment(tmp_path)
    upgrade(env["COULISSE_DATABASE_URL"])
    held = ran(env, "nudges", "list")
    assert "storage.uow" in held  # it did open the database
    assert {"handlers.router", "handlers.sessions", "handlers.votes"}.isdisjoint(held)


def test_console_loads_no_web_server(tmp_path: Path) -> None:
    """The console counts its deliveries (bot.metrics) but serves nothing: no aiohttp."""
    held = ran(environment(tmp_path), "console")
    assert "handlers.router" in held  # it did run sessions
    assert not {m for m in held if m.split(".")[0] in {"aiohttp", "slack_bolt", "botbuilder"}}


def test_slack_app_reads_no_source_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """slack-bolt names an unnamed app after its caller's file with inspect.stack(), which
    reads every frame's source: 50 ms and a megabyte under `coulisse serve`'s CLI frames."""
    import inspect

    from slack_sdk.web.async_client import AsyncWebClient

    from bot.slack.adapter import SlackAdapter

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("inspect.stack() called")

    monkeypatch.setattr(inspect, "stack", refuse)
    client = AsyncWebClient(token=BOT_TOKEN, base_url="http://127.0.0.1:9/api/")
    SlackAdapter(None, client, SIGNING_SECRET)  # type: ignore[arg-type]
