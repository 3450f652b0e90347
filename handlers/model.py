"""The domain of Coulisse as plain dataclasses.

These classes know nothing of databases or chat platforms. The storage layer maps them onto
tables (classical mapping), so a handler changes an object and the unit of work persists it.
Ids are None until the object has been stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any, Protocol


class Platform(StrEnum):
    CONSOLE = "console"
    SLACK = "slack"
    TEAMS = "teams"


class Role(StrEnum):
    COORDINATOR = "coordinator"
    PARTICIPANT = "participant"


class SessionStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    NOT_HELD = "not_held"  # closed without anyone taking part: no summary, no figures


class SessionMode(StrEnum):
    LIVE = "live"  # in a meeting: rounds move on `next`, never by the clock
    ASYNC = "async"  # rounds open and close on a plan over the team's working days


class RoundStatus(StrEnum):
    PENDING = "pending"
    OPEN = "open"
    CLOSED = "closed"


class RoundKind(StrEnum):
    """What a round does; the format decides the question and categories."""

    REVIEW = "review"  # open commitments of the series, before anything else
    CHECKIN = "checkin"  # a word or a sentence each, revealed together
    REFLECT = "reflect"  # private answers in categories, revealed together
    GROUP = "group"  # contributions of earlier rounds become themes
    VOTE = "vote"  # dot voting on the themes
    DISCUSS = "discuss"  # the chosen themes talked through one by one, before committing
    OVERVIEW = "overview"  # actor map and force field
    CAUSAL = "causal"  # causal links between factors
    COMMIT = "commit"  # who takes on what, by when, in which mode


class CommitmentMode(StrEnum):
    CO_CREATE = "co_create"  # samen maken
    CO_PRODUCE = "co_produce"  # samen doen
    OUTSOURCE = "outsource"  # samen werken / uitbesteden


class CommitmentStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    STUCK = "stuck"
    RELEASED = "released"

    @property
    def is_finished(self) -> bool:
        return self in (CommitmentStatus.DONE, CommitmentStatus.RELEASED)


class Polarity(StrEnum):
    SAME = "+"  # more X, more Y
    OPPOSITE = "-"  # more X, less Y


class IcebergLevel(StrEnum):
    EVENTS = "events"
    PATTERNS = "patterns"
    STRUCTURES = "structures"
    MENTAL_MODELS = "mental_models"


class Stance(StrEnum):
    SUPPORTIVE = "supportive"
    NEUTRAL = "neutral"
    OPPOSED = "opposed"


class ForceDirection(StrEnum):
    DRIVING = "driving"
    RESTRAINING = "restraining"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"


class Identified(Protocol):
    """Any object of the domain that is stored: its id is None until then."""

    id: int | None


def id_of(entity: Identified) -> int:
    """The id of an object read from the database (or stored through the unit of work)."""
    if entity.id is None:
        raise ValueError(f"this {type(entity).__name__} is not stored yet")
    return entity.id


@dataclass(eq=False)
class Workspace:
    platform: Platform
    external_id: str
    locale: str = "nl"
    timezone: str = "Europe/Amsterdam"
    id: int | None = None


@dataclass(eq=False)
class Person:
    workspace_id: int
    platform_id: str
    display_name: str
    organisation: str = ""
    discipline: str = ""
    locale: str = "nl"
    timezone: str = "Europe/Amsterdam"
    quiet_start: time = time(18, 0)
    quiet_end: time = time(8, 30)
    nudges_paused: bool = False
    erased: bool = False
    holiday_country: str = ""  # whose public holidays; empty: from the time zone
    holiday_region: str = ""
    id: int | None = None


@dataclass(eq=False)
class Team:
    workspace_id: int
    channel_id: str
    name: str
    assistant: bool = True  # coordinators may turn the LLM assistant off for their team
    id: int | None = None


@dataclass(eq=False)
class Membership:
    team_id: int
    person_id: int
    role: Role = Role.PARTICIPANT
    id: int | None = None


@dataclass(eq=False)
class Series:
    team_id: int
    title: str
    format: str
    rrule: str = ""
    timezone: str = "Europe/Amsterdam"
    on_holiday: str = "move"  # an occurrence on a holiday: "move" (next working day) or "skip"
    active: bool = True  # False once a coordinator stopped it
    round_days: int | None = None  # an async series' round length in working days
    id: int | None = None


@dataclass(eq=False)
class Session:
    team_id: int
    title: str
    question: str
    format: str
    created_by: int
    locale: str = "nl"
    anonymous: bool = True
    vote_budget: int = 3
    status: SessionStatus = SessionStatus.DRAFT
    starts_at: datetime | None = None
    series_id: int | None = None
    created_at: datetime | None = None
    closed_at: datetime | None = None
    mode: str = SessionMode.LIVE
    occurrence: datetime | None = None  # the series' date this session is for
    map_snapshot: dict[str, Any] | None = None  # the team's map when it closed
    id: int | None = None


@dataclass(eq=False)
class Round:
    session_id: int
    position: int
    kind: RoundKind
    name: str  # the round in prompts/formats/rounds.yaml; its words are in the catalogs
    categories: list[str] = field(default_factory=list)
    pillar: str = ""
    status: RoundStatus = RoundStatus.PENDING
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    id: int | None = None


@dataclass(eq=False)
class Contribution:
    round_id: int
    # Kept only so the author can see and change their own answer; never shown when the
    # session is anonymous, never exported with the text.
    author_id: int | None
    text: str
    category: str = ""
    theme_id: int | None = None
    created_at: datetime | None = None
    id: int | None = None


@dataclass(eq=False)
class Theme:
    round_id: int  # the group round that formed it
    title: str
    category: str = ""
    position: int = 0
    id: int | None = None


@dataclass(eq=False)
class Vote:
    round_id: int
    person_id: int | None  # None: cast by someone since forgotten; the dots still count
    theme_id: int
    dots: int = 1
    id: int | None = None


@dataclass(eq=False)
class Commitment:
    session_id: int
    team_id: int
    owner_id: int | None  # None once the owner asked to be forgotten
    text: str
    due_date: date
    mode: CommitmentMode = CommitmentMode.CO_PRODUCE
    status: CommitmentStatus = CommitmentStatus.OPEN
    co_owner_ids: list[int] = field(default_factory=list)
    factor_id: int | None = None
    loop_key: str = ""
    iceberg_level: str = ""
    created_at: datetime | None = None
    id: int | None = None


@dataclass(eq=False)
class CheckIn:
    commitment_id: int
    person_id: int | None
    status: CommitmentStatus
    note: str = ""
    at: datetime | None = None
    id: int | None = None


@dataclass(eq=False)
class Factor:
    team_id: int  # the causal map belongs to the team and grows across its sessions
    name: str
    key: str  # normalised name, unique per team
    id: int | None = None
    steerable: bool = False  # the team can influence it ("stuurbaar")


@dataclass(eq=False)
class Link:
    team_id: int
    source_id: int
    target_id: int
    polarity: Polarity
    delay: bool = False
    session_id: int | None = None
    proposed_by: int | None = None  # private: never shown or exported
    id: int | None = None


@dataclass(eq=False)
class Actor:
    session_id: int
    name: str
    organisation: str = ""
    interest: str = ""
    influence: int = 3
    stance: str = ""
    id: int | None = None


@dataclass(eq=False)
class Force:
    session_id: int
    text: str
    direction: ForceDirection
    strength: int = 3
    id: int | None = None


@dataclass(eq=False)
class OutboxMessage:
    """A message waiting to go out. The payload is a serialised neutral message."""

    dedupe_key: str
    kind: str
    destination: dict[str, Any]
    payload: dict[str, Any]
    due_at: datetime
    person_id: int | None = None
    status: OutboxStatus = OutboxStatus.PENDING
    attempts: int = 0
    lease_until: datetime | None = None
    sent_at: datetime | None = None
    reason: str = ""
    id: int | None = None


@dataclass(eq=False)
class InboundEvent:
    """An incoming platform event, recorded before it has any effect."""

    key: str
    platform: Platform
    received_at: datetime
    id: int | None = None


@dataclass(eq=False)
class ConversationRef:
    platform: Platform
    scope: str  # "person" or "team"
    owner_id: int
    reference: dict[str, Any]
    id: int | None = None


class SuggestionStatus(StrEnum):
    PENDING = "pending"  # waits for the team to confirm or reject it
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    SHOWN = "shown"  # only read (a synthesis, a question): nothing to confirm


@dataclass(eq=False)
class Suggestion:
    """Something drafted for the team (by the LLM assistant, or by a plain fallback). It never
    counts before the team confirms it."""

    session_id: int
    job: str  # the one call it came from, e.g. "round:12"; a job is done once
    kind: str  # synthesis, question, link, grouping, narrative
    position: int
    payload: dict[str, Any]
    drafted_by: str  # "assistant" or "template"
    status: SuggestionStatus = SuggestionStatus.PENDING
    created_at: datetime | None = None
    id: int | None = None


@dataclass(eq=False)
class AssistUsage:
    """What the LLM assistant cost for one session, in calls and tokens."""

    session_id: int
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    fallbacks: int = 0  # calls whose answer was discarded (timeout, error, invalid output)
    id: int | None = None


@dataclass(eq=False)
class AuditEntry:
    at: datetime
    action: str
    actor_id: int | None
    subject: str
    id: int | None = None
