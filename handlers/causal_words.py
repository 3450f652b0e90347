"""The words of a causal link that are the same everywhere: polarity as people and tools write
it, and when two factor names are one. Pure and light, so reading a map file needs nothing
more (handlers.systems, the chat side, re-exports these)."""

from __future__ import annotations

from handlers.model import Polarity

POLARITY_WORDS = {
    "+": Polarity.SAME,
    "s": Polarity.SAME,
    "meer": Polarity.SAME,
    "more": Polarity.SAME,
    "-": Polarity.OPPOSITE,
    "−": Polarity.OPPOSITE,
    "o": Polarity.OPPOSITE,
    "minder": Polarity.OPPOSITE,
    "less": Polarity.OPPOSITE,
    "fewer": Polarity.OPPOSITE,
}


def parse_polarity(word: str) -> Polarity | None:
    """`+`, `-`, `s`, `o`, `meer`, `minder`, `more`, `less` (any case); None otherwise."""
    return POLARITY_WORDS.get(word.strip().casefold())


def factor_key(name: str) -> str:
    """Names that differ only in case, spacing or surrounding punctuation are one factor."""
    return " ".join(name.casefold().split()).strip(" .,;:!?'\"")
