"""The LLM prompt templates in `prompts/llm/*.j2` (Jinja2, plain text: nothing is escaped,
because what participants wrote goes in as JSON between random boundary lines)."""

from __future__ import annotations

from functools import cache

import jinja2

from prompts.catalog import HERE

LANGUAGE_NAMES = {"nl": "Dutch", "en": "English"}


@cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "llm"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
    )


def render(name: str, **params: object) -> str:
    return _env().get_template(f"{name}.j2").render(**params).strip()
