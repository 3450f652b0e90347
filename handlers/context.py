"""What every flow gets: the transaction, the clock, who acts, where, and how to answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from handlers.etiquette import NudgePolicy
from handlers.loops import Bounds
from handlers.messages import (
    Destination,
    Form,
    Message,
    Reply,
    Text,
    To,
    outbox_row,
)
from handlers.model import Membership, Person, Role, Team, Workspace
from handlers.ports import NO_ROSTER, Clock, Roster, UnitOfWork
from prompts.catalog import LANGUAGES, t, words

# Limits on what people type; beyond them we say so and store nothing. One answer is at most
# what the tightest platform takes in a form: Slack's plain_text_input holds 3,000 characters.
MAX_TEXT = 3000
MAX_TITLE = 200


class Refusal(Exception):
    """A polite no. The transaction is rolled back and the person gets the catalog text."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass
class Context:
    uow: UnitOfWork
    clock: Clock
    workspace: Workspace
    person: Person
    team: Team | None
    membership: Membership | None
    joined_now: bool = False  # the membership was made by this very event
    bounds: Bounds = field(default_factory=Bounds)
    policy: NudgePolicy = field(default_factory=NudgePolicy)
    scheduled: bool = False  # acting for the schedule, not for a person at the keyboard
    assistant: bool = False  # a language model is configured for this installation
    retention_days: int = 730  # a closed session is deleted this long after (the privacy text)
    roster: Roster = NO_ROSTER  # who is in the channel, as the platform says
    replies: list[Reply] = field(default_factory=list)

    @property
    def lang(self) -> str:
        return self.person.locale

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        """Today where the person is."""
        return self.now.astimezone(ZoneInfo(self.person.timezone)).date()

    @property
    def person_id(self) -> int:
        assert self.person.id is not None
        return self.person.id

    def t(self, key: str, **params: Any) -> str:
        return t(self.lang, key, **params)

    def reply(self, message: Message) -> None:
        """To the person who acted, privately."""
        self.replies.append(Reply(To.ACTOR, message))

    def replace(self, message: Message) -> None:
        """In place of the message the person acted on (everyone sees the new state)."""
        self.replies.append(Reply(To.ACTED_ON, message))

    def open(self, form: Form) -> None:
        """Show the person this form to fill in."""
        self.replies.append(Reply(To.FORM, Message((form,))))

    def announce(self, message: Message) -> None:
        """To the team's channel, now (the platform posts it where the event came from)."""
        self.replies.append(Reply(To.CHANNEL, message))

    def say(self, key: str, **params: Any) -> None:
        self.reply(Message((Text(self.t(key, **params)),)))

    def require_team(self) -> Team:
        if self.team is None or self.membership is None:
            raise Refusal("errors.no_team")
        return self.team

    @property
    def team_id(self) -> int:
        team = self.require_team()
        assert team.id is not None
        return team.id

    @property
    def coordinating(self) -> bool:
        """A coordinator of the team they act in: the one place a role is read, for the
        declarations' check and for what a coordinator may do to someone else's things."""
        return self.membership is not None and self.membership.role == Role.COORDINATOR

    def require_coordinator(self) -> None:
        self.require_team()
        if not self.coordinating:
            raise Refusal("errors.coordinators_only")

    async def post(
        self,
        to: Destination,
        message: Message,
        *,
        kind: str,
        dedupe_key: str,
        due_at: datetime | None = None,
    ) -> bool:
        """Queue a message in the outbox; a second one with the same key is ignored."""
        row = outbox_row(to, message, kind=kind, dedupe_key=dedupe_key, due_at=due_at or self.now)
        return await self.uow.outbox.enqueue(row)


def yes_or_no(word: str) -> bool | None:
    """`ja`, `nee`, `aan`, `off`, …: the words of `prompts/*/answers.yaml` in any language;
    None for anything else."""
    word = word.strip().casefold()
    if any(word in words(lang, "answers.yes") for lang in LANGUAGES):
        return True
    if any(word in words(lang, "answers.no") for lang in LANGUAGES):
        return False
    return None


def optional_text(raw: str, limit: int) -> str:
    """User text that may be empty, trimmed; a Refusal when over the limit (never cut)."""
    text = (raw or "").strip()
    return clean_text(text, limit) if text else ""


# Ids are 32-bit integers in the database: a longer number, typed or in a forged button, is no
# record (PostgreSQL refused it and SQLite overflowed, an error instead of an answer).
MAX_ID = 2**31 - 1


def record_id(text: str) -> int | None:
    """The id someone typed or a button carried ("12", "#12"), or None when it is none. ASCII
    digits only: "²".isdigit() is true, and int() refuses it."""
    digits = text.strip().removeprefix("#")
    if not (digits.isascii() and digits.isdigit()):
        return None
    number = int(digits)
    return number if 0 < number <= MAX_ID else None


def clean_text(raw: str, limit: int = MAX_TEXT) -> str:
    """User text, trimmed; a Refusal when empty or over the limit."""
    text = (raw or "").strip()
    if not text:
        raise Refusal("errors.empty_text")
    if len(text) > limit:
        raise Refusal("errors.too_long", limit=limit, length=len(text))
    return text
