"""Session formats as data.

`prompts/formats/rounds.yaml` is the library of rounds; every other file there is a format: a
named list of those rounds. A coordinator can also pick rounds from the library for a custom
session. Question and category words live in the catalogs (`rounds.<name>.*`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

HERE = Path(__file__).parent / "formats"
LIBRARY = "rounds.yaml"

# libyaml's safe loader when PyYAML has it (its wheels do): ten times faster than the pure
# Python one, and every process reads all the catalogs when it starts.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class RoundSpec:
    name: str
    kind: str
    categories: tuple[str, ...] = ()
    pillar: str = ""


@dataclass(frozen=True)
class SessionFormat:
    key: str
    rounds: tuple[RoundSpec, ...]


def _load(path: Path) -> dict:
    with path.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=YAML_LOADER) or {}


@cache
def round_library() -> dict[str, RoundSpec]:
    return {
        name: RoundSpec(
            name=name,
            kind=spec["kind"],
            categories=tuple(spec.get("categories", ())),
            pillar=spec.get("pillar", ""),
        )
        for name, spec in _load(HERE / LIBRARY)["rounds"].items()
    }


@cache
def formats() -> dict[str, SessionFormat]:
    library = round_library()
    found: dict[str, SessionFormat] = {}
    for path in sorted(HERE.glob("*.yaml")):
        if path.name == LIBRARY:
            continue
        data = _load(path)
        found[data["key"]] = SessionFormat(data["key"], tuple(library[r] for r in data["rounds"]))
    return found


def custom_format(round_names: list[str]) -> SessionFormat | None:
    """A format made of rounds from the library, or None when a name is unknown."""
    library = round_library()
    if not round_names or any(name not in library for name in round_names):
        return None
    return SessionFormat("custom", tuple(library[name] for name in round_names))
