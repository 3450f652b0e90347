"""The Slack app manifest validates against the schemastore schema in every variant, the request
URL lands where Slack looks for it, and the slash command's usage hint is what the conversation
declares."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft4Validator

from bot.slack.manifest import MANIFEST, MAX_USAGE_HINT, build_manifest, manifest_text, usage_hint
from handlers.model import Role
from handlers.router import CONVERSATION

SCHEMA = Path(__file__).resolve().parent / "specs" / "slack" / "schemastore-slack-app-manifest.json"
URL = "https://coulisse.example.nl"
ENDPOINT = "https://coulisse.example.nl/slack/events"


@pytest.fixture(scope="module")
def validator() -> Draft4Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema)


def items(value: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair anywhere in a nested dict/list."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key, inner
            yield from items(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from items(inner)


@pytest.mark.parametrize(
    "kwargs",
    [{"url": URL}, {}, {"socket_mode": True}],
    ids=["url", "placeholder", "socket-mode"],
)
def test_manifest_validates_against_the_schema(
    validator: Draft4Validator, kwargs: dict[str, Any]
) -> None:
    errors = [
        f"{list(e.path)}: {e.message}" for e in validator.iter_errors(build_manifest(**kwargs))
    ]
    assert errors == []


def test_the_validator_catches_a_broken_manifest(validator: Draft4Validator) -> None:
    manifest = build_manifest(url=URL)
    manifest["display_information"]["name"] = 123
    errors = list(validator.iter_errors(manifest))
    assert [list(e.path) for e in errors] == [["display_information", "name"]]


def test_the_url_is_filled_in_everywhere() -> None:
    manifest = build_manifest(url=URL)
    settings = manifest["settings"]
    assert [c["url"] for c in manifest["features"]["slash_commands"]] == [ENDPOINT]
    assert settings["event_subscriptions"]["request_url"] == ENDPOINT
    assert settings["interactivity"]["request_url"] == ENDPOINT
    assert settings["socket_mode_enabled"] is False
    assert "example.invalid" not in json.dumps(manifest)


def test_without_a_url_the_placeholder_stays() -> None:
    manifest = build_manifest()
    assert manifest["settings"]["event_subscriptions"]["request_url"] == (
        "https://example.invalid/slack/events"
    )


def test_socket_mode_carries_no_request_urls() -> None:
    manifest = build_manifest(socket_mode=True)
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert [key for key, _ in items(manifest) if key in ("request_url", "url")] == []
    # Dropping the URLs must not drop the things they served.
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/coulisse"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["event_subscriptions"]["bot_events"]


def test_socket_mode_wins_over_a_url() -> None:
    manifest = build_manifest(url=URL, socket_mode=True)
    assert [key for key, _ in items(manifest) if key in ("request_url", "url")] == []


def test_scopes_and_events() -> None:
    manifest = build_manifest()
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"chat:write", "commands", "im:write", "im:history", "users:read", "files:write"} <= (
        scopes
    )
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {"app_home_opened", "message.im"} <= events


def test_the_bot_and_the_command() -> None:
    features = build_manifest()["features"]
    assert features["bot_user"] == {"display_name": "coulisse", "always_online": True}
    [command] = features["slash_commands"]
    assert command["command"] == "/coulisse"
    assert command["usage_hint"] == usage_hint()
    assert list(command) == ["command", "url", "description", "usage_hint", "should_escape"]


def test_the_usage_hint_is_the_listed_commands_in_helps_order() -> None:
    listed = CONVERSATION.listed(Role.PARTICIPANT) + CONVERSATION.listed(Role.COORDINATOR)
    hint = usage_hint()
    assert hint.split(" | ") == [c.name for c in listed]  # all of them fit today
    assert hint.startswith("help | ") and {"new", "status", "my", "pause"} <= set(hint.split(" | "))
    assert "home" not in hint.split(" | ")  # not listed: the platform asks for it
    # The committed file leaves it out: there is nothing to keep in sync by hand.
    committed = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert [key for key, _ in items(committed) if key == "usage_hint"] == []


def test_the_usage_hint_stays_within_slacks_limit(validator: Draft4Validator) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    slash = schema["properties"]["features"]["properties"]["slash_commands"]
    assert slash["items"]["properties"]["usage_hint"]["maxLength"] == MAX_USAGE_HINT
    words = usage_hint().split(" | ")
    short = usage_hint(limit=20)
    assert len(short) <= 20 and short.split(" | ") == words[: len(short.split(" | "))]
    assert len(short.split(" | ")) > 1  # whole words, as many as fit
    manifest = build_manifest()
    manifest["features"]["slash_commands"][0]["usage_hint"] = "x" * (MAX_USAGE_HINT + 1)
    errors = list(validator.iter_errors(manifest))
    assert [list(e.path) for e in errors] == [["features", "slash_commands", 0, "usage_hint"]]


@pytest.mark.parametrize(
    "url",
    [
        "https://coulisse.example.nl",
        "https://coulisse.example.nl/",
        "https://coulisse.example.nl/slack/events",
        "https://coulisse.example.nl/slack/events/",
    ],
)
def test_every_spelling_of_the_url_gives_the_endpoint(url: str) -> None:
    manifest = build_manifest(url=url)
    assert manifest["settings"]["interactivity"]["request_url"] == ENDPOINT
    assert manifest["features"]["slash_commands"][0]["url"] == ENDPOINT


def test_a_base_path_is_kept() -> None:
    manifest = build_manifest(url="http://localhost:3000/coulisse/")
    assert manifest["settings"]["event_subscriptions"]["request_url"] == (
        "http://localhost:3000/coulisse/slack/events"
    )


@pytest.mark.parametrize("url", ["ftp://x", "coulisse.example.nl", "https://", ""])
def test_a_url_that_is_not_http_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="http"):
        build_manifest(url=url)


def test_the_text_is_the_manifest_in_file_order() -> None:
    text = manifest_text(url=URL)
    assert yaml.safe_load(text) == build_manifest(url=URL)
    assert text.startswith("_metadata:")
    assert list(yaml.safe_load(text)) == [
        "_metadata",
        "display_information",
        "features",
        "oauth_config",
        "settings",
    ]
