"""What the assistant drafts, read from its answer or made by the plain fallback.

Fallbacks reuse what the bot already does without a model: grouping by category and shared
words (handlers.themes), the text syntax of causal links (handlers.systems.parse_link), the
systemic questions of the method. An answer that does not make sense for this round's data is
discarded as a whole: half a draft is not shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from handlers.drafts import (
    FACTOR_LENGTH,
    NARRATIVE_LENGTH,
    QUESTION_LENGTH,
    SYNTHESIS_LENGTH,
    TITLE_LENGTH,
)
from handlers.model import Contribution, Polarity, Round
from handlers.redact import looks_like_instruction, plain, smuggles_link
from handlers.systems import factor_key, parse_link
from handlers.themes import group_by_words, keywords, short_title
from prompts.catalog import raw_catalog, t

SHOWN_GROUPS = 3
EXAMPLE_LENGTH = 200
ASSISTANT = "assistant"
TEMPLATE = "template"


@dataclass(frozen=True)
class ProposedLink:
    source: str
    target: str
    polarity: Polarity
    delay: bool = False

    def as_payload(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "polarity": self.polarity.value,
            "delay": self.delay,
        }


@dataclass(frozen=True)
class RoundDraft:
    synthesis: str
    links: tuple[ProposedLink, ...]
    question: str
    drafted_by: str


@dataclass(frozen=True)
class Grouping:
    title: str
    members: tuple[int, ...]  # contribution ids


# --- the plain fallbacks -------------------------------------------------------------------


def representative(group: Sequence[Contribution], stopwords: set[str]) -> Contribution:
    """The contribution that shares the most words with the others of its group."""
    words = [keywords(c.text, stopwords) for c in group]

    def shared(i: int) -> int:
        return sum(len(words[i] & other) for j, other in enumerate(words) if j != i)

    return group[max(range(len(group)), key=lambda i: (shared(i), -i))]


def extractive(
    lang: str,
    contributions: Sequence[Contribution],
    stopwords: set[str],
    votes: Mapping[int, int] | None = None,
) -> str:
    """The themes shared most (or voted most), each with one representative contribution."""
    groups: list[list[Contribution]] = []
    for category in dict.fromkeys(c.category for c in contributions):
        groups += group_by_words([c for c in contributions if c.category == category], stopwords)
    dots = votes or {}

    def weight(group: list[Contribution]) -> tuple[int, int]:
        return (sum(dots.get(c.theme_id or 0, 0) for c in group[:1]), len(group))

    ranked = sorted(groups, key=weight, reverse=True)[:SHOWN_GROUPS]
    lines = [t(lang, "assist.shared_most")]
    for group in ranked:
        example = representative(group, stopwords)
        lines.append(
            t(
                lang,
                "assist.extractive_line",
                count=len(group),
                votes=weight(group)[0],
                example=plain(example.text, EXAMPLE_LENGTH, single_line=True),
            )
        )
    return "\n".join(lines)


def links_in_text(contributions: Sequence[Contribution]) -> list[ProposedLink]:
    """Links written in the text syntax inside answers (`A -> +B`), one per line."""
    found: dict[tuple[str, str], ProposedLink] = {}
    for c in contributions:
        for line in c.text.splitlines():
            parsed = parse_link(line)
            if parsed is None or factor_key(parsed.source) == factor_key(parsed.target):
                continue
            link = ProposedLink(
                plain(parsed.source, FACTOR_LENGTH, single_line=True),
                plain(parsed.target, FACTOR_LENGTH, single_line=True),
                parsed.polarity,
                parsed.delay,
            )
            if link.source and link.target:
                found.setdefault((factor_key(link.source), factor_key(link.target)), link)
    return list(found.values())


def bank_question(lang: str, rnd: Round, contributions: Sequence[Contribution]) -> str:
    """A systemic question from the bank: the one about what the team said least so far."""
    bank = sorted(
        k.rsplit(".", 1)[1] for k in raw_catalog(lang) if k.startswith("assist.question_bank.")
    )
    said = {key: sum(1 for c in contributions if c.category == key) for key in bank}
    # Rounds without these categories rotate through the bank, so each round asks another.
    order = bank[rnd.position % len(bank) :] + bank[: rnd.position % len(bank)]
    chosen = min(order, key=lambda key: said[key])
    return t(lang, f"assist.question_bank.{chosen}")


def fallback_round(
    lang: str, rnd: Round, contributions: Sequence[Contribution], stopwords: set[str]
) -> RoundDraft:
    return RoundDraft(
        extractive(lang, contributions, stopwords),
        tuple(links_in_text(contributions)),
        bank_question(lang, rnd, contributions),
        TEMPLATE,
    )


# --- reading the assistant's answers -------------------------------------------------------


def round_from_answer(data: Mapping[str, Any], numbers: int) -> RoundDraft | None:
    """A round draft from a schema-valid answer, or None when it says nothing usable (or
    repeats an instruction: then it obeyed a contribution, and none of it is trusted)."""
    if _obeyed(data):
        return None
    synthesis = plain(str(data.get("synthesis", "")), SYNTHESIS_LENGTH)
    question = plain(str(data.get("question", "")), QUESTION_LENGTH, single_line=True)
    if not synthesis or not question:
        return None
    links: dict[tuple[str, str], ProposedLink] = {}
    for raw in data.get("links", []):
        if not 1 <= int(raw["contribution"]) <= numbers:
            return None  # it points at something that was not asked about
        source = plain(str(raw["cause"]), FACTOR_LENGTH, single_line=True).replace("->", "")
        target = plain(str(raw["effect"]), FACTOR_LENGTH, single_line=True).replace("->", "")
        key = (factor_key(source), factor_key(target))
        if len(key[0]) < 2 or len(key[1]) < 2 or key[0] == key[1]:
            continue
        links.setdefault(key, ProposedLink(source, target, Polarity(raw["polarity"])))
    return RoundDraft(synthesis, tuple(links.values()), question, ASSISTANT)


def grouping_from_answer(
    data: Mapping[str, Any], by_number: Mapping[int, Contribution], stopwords: set[str]
) -> list[Grouping] | None:
    """Themes from a schema-valid answer. Every contribution once: numbers that do not exist
    or appear twice discard the answer; ones it left out are grouped by shared words."""
    if _obeyed(data):
        return None
    seen: set[int] = set()
    groups: list[Grouping] = []
    for theme in data.get("themes", []):
        title = plain(str(theme["title"]), TITLE_LENGTH, single_line=True)
        numbers = [int(n) for n in theme["contributions"]]
        if not title or any(n not in by_number or n in seen for n in numbers):
            return None
        seen.update(numbers)
        groups.append(Grouping(title, tuple(by_number[n].id or 0 for n in numbers)))
    left = [c for n, c in by_number.items() if n not in seen]
    for group in group_by_words(left, stopwords):
        groups.append(Grouping(short_title(group[0].text), tuple(c.id or 0 for c in group)))
    return groups or None


def narrative_from_answer(data: Mapping[str, Any]) -> str | None:
    if _obeyed(data):
        return None
    return plain(str(data.get("paragraph", "")), NARRATIVE_LENGTH) or None


def _obeyed(data: Any) -> bool:
    """Whether any text in the answer repeats an instruction or carries a link that no
    cleaning removes."""
    if isinstance(data, str):
        return looks_like_instruction(data) or smuggles_link(data)
    if isinstance(data, Mapping):
        return any(_obeyed(v) for v in data.values())
    if isinstance(data, list):
        return any(_obeyed(v) for v in data)
    return False
