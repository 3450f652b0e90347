"""The Teams app package: a zip whose manifest validates against the Teams schema v1.19 (the
copy in deploy/teams is the one in tests/specs), with icons of the sizes Teams asks for, and
command lists that are what the conversation declares."""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from jsonschema import Draft7Validator
from typer.testing import CliRunner

from bot.cli import app
from bot.teams import icons
from bot.teams.package import (
    DEPLOY,
    MANIFEST,
    MAX_COMMANDS,
    MAX_DESCRIPTION,
    MAX_TITLE,
    SCHEMA,
    PackageError,
    build_package,
    command_lists,
    entry,
    manifest,
    problems,
)
from handlers.model import Role
from handlers.router import CONVERSATION
from prompts.catalog import has, t

SPECS = Path(__file__).resolve().parent / "specs" / "teams"
APP_ID = "3f6d2a51-7c1e-4d0b-9a55-2f1e8c0b7a10"


def png_info(data: bytes) -> tuple[int, int, int, bytes]:
    """Width, height, colour type and the decoded pixel rows of a PNG we wrote."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, _depth, colour = struct.unpack(">IIBB", data[16:26])
    idat = data.index(b"IDAT")
    length = struct.unpack(">I", data[idat - 4 : idat])[0]
    return width, height, colour, zlib.decompress(data[idat + 4 : idat + 4 + length])


def test_the_package_holds_a_valid_manifest_and_the_icons(tmp_path: Path) -> None:
    out = build_package(APP_ID, tmp_path / "coulisse-teams.zip")
    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        data = json.loads(archive.read("manifest.json"))
        colour, outline = archive.read("color.png"), archive.read("outline.png")
    schema = json.loads((SPECS / "MicrosoftTeams.v1.19.schema.json").read_text(encoding="utf-8"))
    assert list(Draft7Validator(schema).iter_errors(data)) == []
    assert data["id"] == APP_ID and data["bots"][0]["botId"] == APP_ID
    assert data["manifestVersion"] == "1.19"
    assert set(data["bots"][0]["scopes"]) == {"personal", "team", "groupChat"}
    titles = {c["title"] for lst in data["bots"][0]["commandLists"] for c in lst["commands"]}
    assert {"help", "new", "status", "my", "pause", "resume"} <= titles
    assert all(
        ":" in c["description"] for lst in data["bots"][0]["commandLists"] for c in lst["commands"]
    )  # "nieuw: … · …": the Dutch word and both languages
    assert png_info(colour)[:3] == (192, 192, 6)
    width, height, kind, rows = png_info(outline)
    assert (width, height, kind) == (32, 32, 6)
    pixels = [
        rows[1 + y * 129 + x * 4 : 1 + y * 129 + x * 4 + 4] for y in range(32) for x in range(32)
    ]
    assert all(p[:3] == b"\xff\xff\xff" for p in pixels)  # white, on
    assert {p[3] for p in pixels} >= {0, 255}  # transparent where it is not drawn
    again = build_package(APP_ID, tmp_path / "again.zip")
    assert again.read_bytes() == out.read_bytes()  # the same input, the same zip


def test_the_validation_finds_what_teams_would_refuse() -> None:
    data = manifest(APP_ID)
    assert problems(data) == []
    data["manifestVersion"] = "1.18"
    del data["developer"]["privacyUrl"]
    found = problems(data)
    assert any(line.startswith("manifestVersion") for line in found)
    assert any(line.startswith("developer") for line in found)


@pytest.mark.parametrize("app_id", ["", "coulisse", "3f6d2a51-7c1e-4d0b-9a55"])
def test_an_app_id_that_is_not_a_guid_is_refused(app_id: str, tmp_path: Path) -> None:
    with pytest.raises(PackageError):
        build_package(app_id, tmp_path / "x.zip")
    assert not (tmp_path / "x.zip").exists()


def test_the_command_writes_the_zip_or_says_what_is_wrong(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "coulisse-teams.zip"
    done = runner.invoke(app, ["teams-package", "--app-id", APP_ID, "--out", str(out)])
    assert done.exit_code == 0 and out.exists()
    refused = runner.invoke(app, ["teams-package", "--app-id", "nope", "--out", str(out)])
    assert refused.exit_code == 2


def titles(command_list: dict) -> list[str]:
    return [c["title"] for c in command_list["commands"]]


def test_the_command_lists_are_what_the_conversation_declares() -> None:
    channel, personal = manifest(APP_ID)["bots"][0]["commandLists"]
    assert channel["scopes"] == ["team", "groupChat"] and personal["scopes"] == ["personal"]
    listed = [c for c in CONVERSATION.commands.values() if c.listed]
    # The 1:1 chat: the words that alone are a command there, in the conversation's order (an
    # entry sends the bare word: `taal` without `en` would be an answer, so it is not offered).
    alone = [c.name for c in listed if c.in_dm is not None and c.in_dm("")]
    assert titles(personal) == alone[:MAX_COMMANDS]
    assert "lang" not in titles(personal) and "my" in titles(personal)
    start = CONVERSATION.commands["start"]
    assert start.role == Role.COORDINATOR and start.in_dm is None
    assert "pause" in titles(personal) and "start" not in titles(personal)
    # The channel: help and the session's commands, participants' first; no answers or settings.
    assert {"help", "status", "new", "start", "next", "end"} <= set(titles(channel))
    assert not {"add", "pause", "tz", "forget-me"} & set(titles(channel))
    roles = [CONVERSATION.commands[name].role for name in titles(channel)]
    assert roles == sorted(roles, key=lambda role: role == Role.COORDINATOR)
    # Each line: the Dutch word, then both languages' few words from prompts/.
    pause = next(c for c in personal["commands"] if c["title"] == "pause")
    nl, en = t("nl", "commands.short.pause"), t("en", "commands.short.pause")
    assert pause["description"] == f"pauze: {nl} · {en}"
    new = next(c for c in channel["commands"] if c["title"] == "new")
    assert new["description"].startswith("nieuw: ") and "(coördinator) ·" in new["description"]
    assert new["description"].endswith("(coordinator)")
    # The committed manifest leaves them out: there is nothing to keep in sync by hand.
    committed = json.loads(MANIFEST.read_text(encoding="utf-8"))
    assert "commandLists" not in committed["bots"][0]


def test_every_listed_command_has_a_line_that_fits() -> None:
    """Any listed command may come into a list: each has its words in both languages."""
    for command in CONVERSATION.commands.values():
        if command.listed:
            assert has(f"commands.short.{command.name}"), command.name
            line = entry(command)
            assert len(line["title"]) <= MAX_TITLE and len(line["description"]) <= MAX_DESCRIPTION


def test_the_limits_are_the_schemas() -> None:
    schema = json.loads((SPECS / "MicrosoftTeams.v1.19.schema.json").read_text(encoding="utf-8"))
    lists = schema["properties"]["bots"]["items"]["properties"]["commandLists"]
    commands = lists["items"]["properties"]["commands"]
    fields = commands["items"]["properties"]
    assert commands["maxItems"] == MAX_COMMANDS
    assert fields["title"]["maxLength"] == MAX_TITLE
    assert fields["description"]["maxLength"] == MAX_DESCRIPTION


def test_a_description_too_long_for_teams_is_caught() -> None:
    def wordy(lang: str, key: str) -> str:
        return "x" * 70 if key == "commands.short.pause" else t(lang, key)

    with pytest.raises(PackageError, match=r"commands\.short\.pause"):
        command_lists(text=wordy)
    # The schema says so too, should one ever get past the builder.
    data = manifest(APP_ID)
    data["bots"][0]["commandLists"][1]["commands"][0]["description"] = "x" * 129
    assert any(line.startswith("bots/0/commandLists/1") for line in problems(data))


def test_the_schema_copy_is_the_one_in_tests_specs() -> None:
    reference = SPECS / "MicrosoftTeams.v1.19.schema.json"
    assert SCHEMA.read_bytes() == reference.read_bytes()


def test_the_committed_icons_are_what_the_generator_draws() -> None:
    assert (DEPLOY / "color.png").read_bytes() == icons.color_icon()
    assert (DEPLOY / "outline.png").read_bytes() == icons.outline_icon()
