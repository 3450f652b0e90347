"""The Slack app manifest: deploy/slack/manifest.yml with the slash command's usage hint and the
request URL filled in, or its Socket Mode variant, ready to paste into api.slack.com/apps."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from handlers.conversation import Conversation
from handlers.model import Role
from handlers.router import CONVERSATION

# The manifest lives next to the other deploy files rather than in the package, so operators find
# it without reading code; an editable install keeps the repository root at parents[2].
MANIFEST = Path(__file__).resolve().parents[2] / "deploy" / "slack" / "manifest.yml"

# slack-bolt serves events, slash commands and interactivity on this one path.
EVENTS_PATH = "/slack/events"

# features.slash_commands.items.usage_hint: at most 1000 characters, in Slack's own manifest schema
# (slackapi/manifest-schema) and in the schemastore copy the tests validate against.
MAX_USAGE_HINT = 1000


def usage_hint(conversation: Conversation = CONVERSATION, limit: int = MAX_USAGE_HINT) -> str:
    """`help | join | …`: the listed commands in help's order, as many whole words as fit.

    Made from the declarations rather than written in manifest.yml, so that a new command appears
    without touching the deploy files; what does not fit is still in help."""
    names = [
        c.name for role in (Role.PARTICIPANT, Role.COORDINATOR) for c in conversation.listed(role)
    ]
    hint = ""
    for name in names:
        longer = f"{hint} | {name}" if hint else name
        if len(longer) > limit:
            break
        hint = longer
    return hint


def _endpoint(url: str) -> str:
    """The events endpoint for a base URL; a URL that already names the endpoint is kept."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"the request URL must be an http(s) URL with a host, not {url!r}")
    base = url.rstrip("/")
    return base if base.endswith(EVENTS_PATH) else base + EVENTS_PATH


def build_manifest(url: str | None = None, socket_mode: bool = False) -> dict[str, Any]:
    """The manifest as a dict: with `url`, every request URL points at its events endpoint;
    with `socket_mode`, Slack reaches the app over a websocket, so the URLs are removed."""
    manifest: dict[str, Any] = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    settings = manifest["settings"]
    commands = manifest["features"]["slash_commands"]
    hint = usage_hint()
    # Right after the description, where Slack's own manifests put it.
    commands[:] = [_after(command, "description", "usage_hint", hint) for command in commands]
    if url is not None:
        endpoint = _endpoint(url)
        for command in commands:
            command["url"] = endpoint
        settings["event_subscriptions"]["request_url"] = endpoint
        settings["interactivity"]["request_url"] = endpoint
    if socket_mode:
        # A Socket Mode app gets events, commands and clicks over its websocket, so any request
        # URL left behind would only be a stale placeholder.
        settings["socket_mode_enabled"] = True
        for command in commands:
            command.pop("url", None)
        settings["event_subscriptions"].pop("request_url", None)
        settings["interactivity"].pop("request_url", None)
    return manifest


def _after(entries: dict[str, Any], key: str, new: str, value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, old in entries.items():
        out[name] = old
        if name == key:
            out[new] = value
    out.setdefault(new, value)
    return out


def manifest_text(url: str | None = None, socket_mode: bool = False) -> str:
    """The manifest as YAML text, in the file's key order."""
    return yaml.safe_dump(
        build_manifest(url=url, socket_mode=socket_mode), sort_keys=False, allow_unicode=True
    )
