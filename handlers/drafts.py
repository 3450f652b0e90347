"""What goes to the LLM assistant and what may come back: one task per call, and the JSON
schemas its answers must fit. Plain data, shared by the port, the handlers and `bot/llm.py`.

The schemas carry limits (lengths, counts) that the OpenAI structured-output mode does not
enforce; `bot/llm.py` sends them without those keywords and validates the answer with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SYNTHESIS_LENGTH = 900
QUESTION_LENGTH = 300
FACTOR_LENGTH = 80
TITLE_LENGTH = 60
NARRATIVE_LENGTH = 1500
MAX_LINKS = 5
MAX_THEMES = 12


def _text(limit: int, minimum: int = 0) -> dict[str, Any]:
    return {"type": "string", "minLength": minimum, "maxLength": limit}


ROUND_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["synthesis", "links", "question"],
    "properties": {
        "synthesis": _text(SYNTHESIS_LENGTH, 1),
        "links": {
            "type": "array",
            "maxItems": MAX_LINKS,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["cause", "effect", "polarity", "contribution"],
                "properties": {
                    "cause": _text(FACTOR_LENGTH, 2),
                    "effect": _text(FACTOR_LENGTH, 2),
                    "polarity": {"type": "string", "enum": ["+", "-"]},
                    "contribution": {"type": "integer", "minimum": 1},
                },
            },
        },
        "question": _text(QUESTION_LENGTH, 1),
    },
}

GROUPING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["themes"],
    "properties": {
        "themes": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_THEMES,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["title", "contributions"],
                "properties": {
                    "title": _text(TITLE_LENGTH, 1),
                    "contributions": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"type": "integer", "minimum": 1},
                    },
                },
            },
        }
    },
}

NARRATIVE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["paragraph"],
    "properties": {"paragraph": _text(NARRATIVE_LENGTH, 1)},
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "round": ROUND_SCHEMA,
    "grouping": GROUPING_SCHEMA,
    "narrative": NARRATIVE_SCHEMA,
}


@dataclass(frozen=True)
class Item:
    """One contribution as the assistant sees it: numbered, pseudonymised, no author."""

    number: int
    text: str
    category: str = ""


@dataclass(frozen=True)
class Task:
    """One call. `kind` names the prompt template and the schema of the answer."""

    kind: str  # round, grouping, narrative
    language: str
    question: str  # the session's question (the vraagstuk), pseudonymised
    title: str = ""  # the round's title
    items: tuple[Item, ...] = ()
    facts: dict[str, Any] = field(default_factory=dict)  # what the narrative may draw on

    @property
    def schema(self) -> dict[str, Any]:
        return SCHEMAS[self.kind]


@dataclass(frozen=True)
class Completion:
    """What one call gave: JSON that fits the task's schema, or None (and why), and its cost."""

    data: dict[str, Any] | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    called: bool = True  # False: nothing was sent (no model configured)
    failure: str = ""  # timeout, http_500, rate_limited, connection, invalid_json, schema


NOT_CALLED = Completion(None, called=False, failure="off")
