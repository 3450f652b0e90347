"""Message catalogs: `prompts/<lang>/*.yaml`, flattened to dotted keys, rendered with Jinja2.

Catalog text is plain (no markup): renderers escape it for their platform.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

HERE = Path(__file__).parent
LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"

# PyYAML and Jinja2 load with the first text read: what needs only LANGUAGES or language()
# (`coulisse --help`, `teams-package`, the settings) does without them (2.6 MiB, 20 ms).


def plural(count: int, one: str, other: str) -> str:
    """The word that goes with a count: `{{ shared }} van de {{ members }}
    {{ plural(shared, 'heeft', 'hebben') }}`. Dutch and English both have one form for
    exactly one and another for every other count, 0 included ("0 rondes", "0 rounds")."""
    return one if count == 1 else other


@cache
def _environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    env.globals["plural"] = plural
    return env


def _flatten(prefix: str, node: Any, out: dict[str, str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), value, out)
    elif isinstance(node, list):
        out[prefix] = "\n".join(str(item) for item in node)
    else:
        out[prefix] = str(node)


@cache
def _file(lang: str, stem: str) -> dict[str, str]:
    """One file's keys, `file.section.key` -> template source (none when there is no file).

    Read when a key of it is first asked for: a start needs only the command words
    (commands.yaml), where reading all 54 files took 29 ms of it."""
    import yaml

    # libyaml's safe loader when PyYAML has it (its wheels do): ten times faster than the pure
    # Python one.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    out: dict[str, str] = {}
    if stem in _stems(lang):  # a key's first word names its file, never another path
        with (HERE / lang / f"{stem}.yaml").open(encoding="utf-8") as fh:
            _flatten(stem, yaml.load(fh, Loader=loader) or {}, out)
    return out


@cache
def _stems(lang: str) -> tuple[str, ...]:
    return tuple(sorted(path.stem for path in (HERE / lang).glob("*.yaml")))


def _source(lang: str, key: str) -> str:
    """A key's template source; KeyError when the catalog has no such key."""
    return _file(lang, key.partition(".")[0])[key]


@cache
def raw_catalog(lang: str) -> dict[str, str]:
    """All keys of one language, `file.section.key` -> template source."""
    out: dict[str, str] = {}
    for stem in _stems(lang):
        out.update(_file(lang, stem))
    return out


@cache
def _template(lang: str, key: str) -> jinja2.Template:
    return _environment().from_string(_source(lang, key))


def language(lang: str | None) -> str:
    """The supported language closest to `lang` ("en-GB" -> "en"), else the default."""
    base = (lang or "").split("-")[0].split("_")[0].lower()
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


def has(key: str) -> bool:
    return key in _file(DEFAULT_LANGUAGE, key.partition(".")[0])


def t(lang: str | None, key: str, **params: Any) -> str:
    """The text for `key` in `lang`, with its placeholders filled in."""
    return _template(language(lang), key).render(**params).strip()


def words(lang: str | None, key: str) -> list[str]:
    """A list entry of the catalog (e.g. command aliases), one item per line."""
    return [w for w in _source(language(lang), key).split("\n") if w]
