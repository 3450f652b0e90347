"""Who is who, kept out of what leaves the team.

`Pseudonyms` names people by a keyed hash: stable within one export (the same owner is the same
"Deelnemer 7K2Q" on every page of it), but with a fresh random key per export, so two exports
cannot be joined on their pseudonyms. `NameScrubber` blanks team members' names, handles and
platform ids where people typed them into free text ("Ahmed belt de familie").
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable

from handlers.model import Person
from prompts.catalog import t

# Crockford's base 32: no I, L, O or U, so a pseudonym is never read as a word or a digit.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_LENGTH = 4


class Pseudonyms:
    def __init__(self, lang: str, key: bytes | None = None) -> None:
        self.lang = lang
        self.key = key if key is not None else secrets.token_bytes(32)
        self._given: dict[int, str] = {}
        self._taken: set[str] = set()

    def __call__(self, person_id: int) -> str:
        if person_id not in self._given:
            code = self._code(person_id)
            self._given[person_id] = t(self.lang, "summary.pseudonym", letters=code)
        return self._given[person_id]

    def _code(self, person_id: int) -> str:
        digest = hmac.new(self.key, str(person_id).encode(), hashlib.sha256).digest()
        number = int.from_bytes(digest, "big")
        code = ""
        # Lengthen on the rare clash instead of giving two owners the same name.
        for position in range(len(digest) * 8 // 5):
            code += _ALPHABET[(number >> (5 * position)) & 31]
            if len(code) >= _LENGTH and code not in self._taken:
                break
        self._taken.add(code)
        return code


class NameScrubber:
    """Replaces the names, handles and platform ids of `people` in text with a placeholder."""

    def __init__(self, people: Iterable[Person], placeholder: str) -> None:
        words: set[str] = set()
        for person in people:
            words.add(person.platform_id)
            name = " ".join(person.display_name.split())
            words.add(name)
            given = name.split(" ")[0] if name else ""
            if len(given) >= 3:
                words.add(given)  # "Ahmed" as well as "Ahmed El Amrani"
        words = {w for w in words if len(w) >= 2}
        self.placeholder = placeholder
        # Longest first, so a full name is replaced whole before its first name.
        alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
        self._pattern = (
            re.compile(rf"(?<![\w@])<?@?(?:{alternatives})(?!\w)>?", re.IGNORECASE)
            if alternatives
            else None
        )

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(self.placeholder, text)
