"""The Teams app package: deploy/teams/manifest.json with the app id filled in, validated against
the Teams manifest schema v1.19, zipped with its two icons — ready to upload in Teams."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

# Next to the other deploy files, so operators find them without reading code; an editable
# install keeps the repository root at parents[2].
DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "teams"
MANIFEST = DEPLOY / "manifest.json"
# A verbatim copy of ../shared/specs/teams/MicrosoftTeams.v1.19.schema.json (a test keeps it so),
# so that the command works where ../shared is not.
SCHEMA = DEPLOY / "MicrosoftTeams.v1.19.schema.json"
ICONS = ("color.png", "outline.png")
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
FIXED_TIME = (2026, 1, 1, 0, 0, 0)  # the same input gives the same zip, byte for byte


class PackageError(Exception):
    pass


def manifest(app_id: str) -> dict[str, Any]:
    """The manifest for this bot: the app id is the Teams app's id and the bot's."""
    if not GUID.match(app_id):
        raise PackageError(
            f"the app id must be the bot's Microsoft App ID (a GUID), not {app_id!r}"
        )
    data: dict[str, Any] = json.loads(MANIFEST.read_text(encoding="utf-8"))
    data["id"] = app_id
    for bot in data.get("bots", []):
        bot["botId"] = app_id
    return data


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


def build_package(app_id: str, out: Path) -> Path:
    """Write the zip Teams takes (manifest.json, color.png, outline.png at its root)."""
    data = manifest(app_id)
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
