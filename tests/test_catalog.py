"""Every word exists in both languages, with the same placeholders, and every key the code
asks for exists."""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pytest
from jinja2 import meta

from prompts.catalog import LANGUAGES, raw_catalog, t
from prompts.formats import formats, round_library

ROOT = Path(__file__).resolve().parents[1]
_env = jinja2.Environment()


def placeholders(source: str) -> set[str]:
    # `plural` is the catalog's helper, not a value the code passes: one language may need it
    # where the other does not ("2 jaar", "2 years").
    return meta.find_undeclared_variables(_env.parse(source)) - {"plural"}


def test_both_languages_have_the_same_files() -> None:
    names = [sorted(p.name for p in (ROOT / "prompts" / lang).glob("*.yaml")) for lang in LANGUAGES]
    assert names[0] == names[1] and names[0]


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    nl, en = raw_catalog("nl"), raw_catalog("en")
    assert set(nl) == set(en), set(nl) ^ set(en)
    differing = {k for k in nl if placeholders(nl[k]) != placeholders(en[k])}
    assert not differing


def test_parity_check_notices_a_missing_placeholder() -> None:
    assert placeholders("{{ a }} en {{ b }}") != placeholders("{{ a }}")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_round_of_every_format_has_its_words(lang: str) -> None:
    catalog = raw_catalog(lang)
    for name, spec in round_library().items():
        assert f"rounds.{name}.title" in catalog
        assert f"rounds.{name}.question" in catalog
        for category in spec.categories:
            assert f"rounds.{name}.categories.{category}" in catalog
    for key in formats():
        assert f"formats.{key}" in catalog
    assert {"retro", "four-ls", "regie"} <= set(formats())


def _static_keys() -> set[str]:
    """Catalog keys written literally in the code (f-string keys are covered above)."""
    pattern = re.compile(
        r"""(?:\bt\(\s*[\w.]+,\s*|say\(\s*|Refusal\(\s*|\.t\(\s*)"([a-z_]+\.[a-z_.]+)\""""
    )
    keys: set[str] = set()
    for folder in ("handlers", "bot"):
        for path in (ROOT / folder).rglob("*.py"):
            keys |= set(pattern.findall(path.read_text(encoding="utf-8")))
    return keys


def test_every_key_the_code_uses_exists() -> None:
    keys = _static_keys()
    assert len(keys) > 80  # the scan itself works
    missing = keys - set(raw_catalog("nl"))
    assert not missing


def test_retro_order_is_checkin_reflect_group_vote_discuss_commit() -> None:
    kinds = [r.kind for r in formats()["retro"].rounds]
    assert kinds == ["checkin", "reflect", "group", "vote", "discuss", "commit"]
    regie = [(r.name, r.pillar) for r in formats()["regie"].rounds]
    assert regie[1] == ("overview", "overview") and ("causal", "insight") in regie
    assert regie[-1] == ("capability", "capability")


def test_a_missing_placeholder_value_is_an_error_not_silence() -> None:
    with pytest.raises(jinja2.UndefinedError):
        t("nl", "votes.cast", number=1)
