"""The Teams app package: deploy/teams/manifest.json with the app id filled in and the bot's
command lists added, validated against the Teams manifest schema v1.19, zipped with its two icons —
ready to upload in Teams.

The command lists are not in deploy/teams/manifest.json: they are made here from the conversation's
declarations (`handlers/router.py` CONVERSATION) and `prompts/`, each time a package is built. A
committed copy would have to be regenerated whenever a command is added; without one, adding a
command still touches only its own module and `prompts/`.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from handlers import sessions
from handlers.conversation import HELP, CommandSpec, Conversation
from handlers.model import Role
from handlers.router import CONVERSATION
from prompts.catalog import has, t, words

# Next to the other deploy files, so operators find them without reading code; an editable
# install keeps the repository root at parents[2].
DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "teams"
MANIFEST = DEPLOY / "manifest.json"
# Microsoft's Teams app manifest schema v1.19, shipped with the package so that the command
# validates offline (a test keeps it equal to the copy in tests/specs/teams).
SCHEMA = DEPLOY / "MicrosoftTeams.v1.19.schema.json"
ICONS = ("color.png", "outline.png")
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
FIXED_TIME = (2026, 1, 1, 0, 0, 0)  # the same input gives the same zip, byte for byte
# bots.items.commandLists.items.commands in the v1.19 schema: at most 10 commands a list, a title
# of at most 32 characters, a description of at most 128 (a test reads them from the schema).
MAX_COMMANDS, MAX_TITLE, MAX_DESCRIPTION = 10, 32, 128

Text = Callable[[str, str], str]  # (language, catalog key) -> the words


class PackageError(Exception):
    pass


def manifest(app_id: str, public_url: str = "") -> dict[str, Any]:
    """The manifest for this bot: the app id is the Teams app's id and the bot's. With the
    server's public https address, the web view (bot/webapp/) as a personal tab and a
    channel tab, and the app registration Teams asks for single sign-on."""
    if not GUID.match(app_id):
        raise PackageError(
            f"the app id must be the bot's Microsoft App ID (a GUID), not {app_id!r}"
        )
    data: dict[str, Any] = json.loads(MANIFEST.read_text(encoding="utf-8"))
    data["id"] = app_id
    for bot in data.get("bots", []):
        bot["botId"] = app_id
        bot["commandLists"] = command_lists()
    if public_url:
        data.update(tabs(app_id, public_url))
    return data


def tabs(app_id: str, public_url: str) -> dict[str, Any]:
    """The web view in Teams: My teams as a personal tab, a team's page as a channel tab;
    `webApplicationInfo` names the Entra ID app whose token the tab gets (Teams SSO)."""
    url = urlsplit(public_url)
    if url.scheme != "https" or not url.hostname:
        raise PackageError(f"Teams tabs need the server's https address, not {public_url!r}")
    base = public_url.rstrip("/")
    return {
        "staticTabs": [
            {
                "entityId": "coulisse-web",
                "name": "Coulisse",
                "contentUrl": f"{base}/web/tab",  # signs in with Teams, then My teams
                "websiteUrl": f"{base}/web/",
                "scopes": ["personal"],
            }
        ],
        "configurableTabs": [
            {
                # Teams shows this page when the tab is added; its Save names /web/tab.
                "configurationUrl": f"{base}/web/tab/config",
                "canUpdateConfiguration": False,
                "scopes": ["team", "groupChat"],
                "context": ["channelTab", "privateChatTab"],
            }
        ],
        "validDomains": [url.netloc],
        "webApplicationInfo": {"id": app_id, "resource": f"api://{url.netloc}/{app_id}"},
    }


def command_lists(
    conversation: Conversation = CONVERSATION, text: Text = t
) -> list[dict[str, Any]]:
    """What Teams offers when someone types in the compose box, per scope.

    In the 1:1 chat: the commands whose word alone, typed there, is the command (`pauze`,
    `status`): a list entry sends just the word, and `taal` without `en` would be an answer.
    In a channel or group chat, where the team runs its session: help and the session's own
    commands, participants' before coordinators'. One's own reminders, settings and answers
    stay in the 1:1 chat. Beyond Teams' 10 a list, the rest is only in help.
    """
    listed = [c for c in conversation.commands.values() if c.listed]
    session = {HELP} | {c.name for c in sessions.router.commands}
    in_channel = [c for c in listed if c.name in session]
    in_channel.sort(key=lambda c: c.role == Role.COORDINATOR)  # stable: declaration order kept
    in_dm = [c for c in listed if c.in_dm is not None and c.in_dm("")]
    return [
        {"scopes": ["team", "groupChat"], "commands": _entries(in_channel, text)},
        {"scopes": ["personal"], "commands": _entries(in_dm, text)},
    ]


def _entries(commands: Iterable[CommandSpec], text: Text) -> list[dict[str, str]]:
    return [entry(command, text) for command in list(commands)[:MAX_COMMANDS]]


def entry(command: CommandSpec, text: Text = t) -> dict[str, str]:
    """`pause` — "pauze: even geen herinneringen · no reminders for now"."""
    nl, en = _short(command, "nl", text), _short(command, "en", text)
    description = f"{_dutch_word(command.name)}: {nl} · {en}"
    if len(command.name) > MAX_TITLE or len(description) > MAX_DESCRIPTION:
        raise PackageError(
            f"Teams takes a title of {MAX_TITLE} and a description of {MAX_DESCRIPTION}"
            f" characters at most; shorten commands.short.{command.name}: {description!r}"
        )
    return {"title": command.name, "description": description}


def _dutch_word(name: str) -> str:
    key = f"commands.aliases.{name}"
    return next(iter(words("nl", key)), name) if has(key) else name


def _short(command: CommandSpec, lang: str, text: Text) -> str:
    """`commands.short.<name>`; a coordinator's command says so (everyone sees the list)."""
    short = text(lang, f"commands.short.{command.name}")
    if command.role == Role.COORDINATOR:
        short += f" ({text(lang, 'roles.coordinator')})"
    return short


def problems(data: dict[str, Any], schema_path: Path = SCHEMA) -> list[str]:
    """What the Teams manifest schema finds wrong, one line each (none: valid)."""
    try:
        from jsonschema import Draft7Validator
    except ImportError:  # a development dependency; `pip install jsonschema` brings it
        raise PackageError(
            "validating the manifest needs jsonschema (pip install jsonschema)"
        ) from None
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    found = sorted(Draft7Validator(schema).iter_errors(data), key=lambda e: list(e.path))
    return [f"{'/'.join(str(p) for p in e.path) or '(root)'}: {e.message}" for e in found]


def build_package(app_id: str, out: Path, public_url: str = "") -> Path:
    """Write the zip Teams takes (manifest.json, color.png, outline.png at its root)."""
    data = manifest(app_id, public_url)
    found = problems(data)
    if found:
        raise PackageError("the manifest does not validate:\n" + "\n".join(found))
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        entries = [("manifest.json", json.dumps(data, ensure_ascii=False, indent=2).encode())]
        entries += [(name, (DEPLOY / name).read_bytes()) for name in ICONS]
        for name, content in entries:
            archive.writestr(zipfile.ZipInfo(name, FIXED_TIME), content, zipfile.ZIP_DEFLATED)
    return out
