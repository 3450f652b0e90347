"""Who is who, kept out of what leaves the team.

`Pseudonyms` names people by a keyed hash: stable within one export (the same owner is the same
"Deelnemer 7K2Q" on every page of it), but with a fresh random key per export, so two exports
cannot be joined on their pseudonyms. `NameScrubber` blanks team members' names, handles and
platform ids where people typed them into free text ("Ahmed belt de familie").
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

from handlers.model import Person, Session, Team
from handlers.ports import UnitOfWork
from handlers.redact import name_patterns, unnamed
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
    """Replaces people's names (whole, in parts, possessive, without accents), handles,
    mentions, e-mail addresses and platform ids in text with a placeholder."""

    def __init__(self, people: Iterable[Person], placeholder: str) -> None:
        known = [p for p in people if not p.erased]
        self.names = name_patterns(p.display_name for p in known)
        self.ids = sorted({p.platform_id for p in known if p.platform_id}, key=len, reverse=True)
        self.placeholder = placeholder

    def __call__(self, text: str) -> str:
        return unnamed(text, self.names, self.ids, self.placeholder)


async def everyone_nameable(uow: UnitOfWork, session: Session) -> list[Person]:
    """Everyone a session's text could name: the whole workspace, not only the team (a
    contribution may name anyone; on Slack people are often known by handle or id), and
    whoever made the session."""
    team = await uow.get(Team, session.team_id)
    people = list(await uow.directory.people(team.workspace_id)) if team else []
    people += [p for _, p in await uow.directory.members(session.team_id)]
    creator = await uow.get(Person, session.created_by) if session.created_by else None
    if creator is not None:
        people.append(creator)
    return people
