"""The session summary as typed sections, one per property of bot/export/summary.schema.json.

Field names and their order are the schema's keys and the JSON export's key order: `as_dict`
turns a summary into exactly the data the schema validates, so the JSON stays as it was.
Arrays are tuples (the sections are frozen); `as_dict` gives them back as lists.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass
from typing import Any


def _plain(value: Any) -> Any:
    """Dataclasses as dicts (keys in field order), tuples as lists: what JSON and the schema
    validator expect (jsonschema counts only a list as an array)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class SessionInfo:
    id: int
    title: str
    question: str
    format: str
    language: str
    status: str
    anonymous: bool
    created_at: str | None
    closed_at: str | None


@dataclass(frozen=True)
class Participants:
    total: int
    by_organisation: dict[str, int]  # small organisations merged into "other organisations"


@dataclass(frozen=True)
class ContributionSummary:
    category: str
    category_label: str
    text: str


@dataclass(frozen=True)
class RoundSummary:
    position: int
    name: str
    title: str
    kind: str
    pillar: str
    status: str
    question: str
    contribution_count: int
    contributions: tuple[ContributionSummary, ...]


@dataclass(frozen=True)
class ThemeSummary:
    title: str
    category: str
    votes: int
    contributions: int
    examples: tuple[str, ...]


@dataclass(frozen=True)
class ActorSummary:
    name: str
    organisation: str
    interest: str
    influence: int
    stance: str


@dataclass(frozen=True)
class ForceSummary:
    text: str
    strength: int


@dataclass(frozen=True)
class ForceField:
    driving: tuple[ForceSummary, ...]
    restraining: tuple[ForceSummary, ...]
    net_balance: int


@dataclass(frozen=True)
class CausalLinkSummary:
    source: str
    target: str
    polarity: str  # "+" or "-"
    delay: bool


@dataclass(frozen=True)
class LoopSummary:
    id: str  # R1, B2, …
    kind: str  # reinforcing or balancing
    factors: tuple[str, ...]
    length: int
    delays: int
    commitments: tuple[int, ...]  # the numbers of the commitments that act on it


@dataclass(frozen=True)
class LeverageSummary:
    factor: str
    loops: int
    betweenness: float


@dataclass(frozen=True)
class IcebergSummary:
    label: str
    contributions: int
    commitments: int


@dataclass(frozen=True)
class ActsOn:
    factor: str | None
    loops: tuple[str, ...]


@dataclass(frozen=True)
class CheckInSummary:
    status: str
    at: str | None


@dataclass(frozen=True)
class CommitmentSummary:
    number: int
    text: str
    owner: str  # a pseudonym unless exported with names
    organisation: str
    co_owners: int
    due_date: str
    mode: str
    mode_label: str
    status: str
    status_label: str
    acts_on: ActsOn
    iceberg_level: str | None
    check_ins: tuple[CheckInSummary, ...]


@dataclass(frozen=True)
class Narrative:
    text: str
    drafted_by: str  # assistant or template


@dataclass(frozen=True)
class Assistance:
    calls: int
    prompt_tokens: int
    completion_tokens: int


_OPTIONAL = ("narrative", "assistance")  # the schema's only keys a summary may leave out


@dataclass(frozen=True)
class Summary:
    session: SessionInfo
    participants: Participants
    rounds: tuple[RoundSummary, ...]
    themes: tuple[ThemeSummary, ...]  # most votes first
    actors: tuple[ActorSummary, ...]
    forces: ForceField
    causal_links: tuple[CausalLinkSummary, ...]
    loops: tuple[LoopSummary, ...]
    loops_truncated: bool
    leverage: tuple[LeverageSummary, ...]
    leverage_questions: tuple[str, ...]
    iceberg: dict[str, IcebergSummary]  # by level, in the iceberg's order
    commitments: tuple[CommitmentSummary, ...]
    # None only while the summary is being built: the template paragraph is made from it.
    narrative: Narrative | None = None
    assistance: Assistance | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON export's data (summary.schema.json); the optional keys when present."""
        data: dict[str, Any] = _plain(self)
        return {k: v for k, v in data.items() if v is not None or k not in _OPTIONAL}


@dataclass(frozen=True)
class SeriesInfo:
    id: int | None
    title: str
    format: str
    language: str
    sessions: int
    as_of: str


@dataclass(frozen=True)
class FollowThrough:
    """What became of one session's commitments (see handlers/series_report.py)."""

    session: int
    title: str
    date: str
    done: int
    on_track: int
    stuck: int
    released: int
    overdue: int
    open: int

    def count(self, key: str) -> int:
        """One of FOLLOW_THROUGH's counts, by its key."""
        value: int = getattr(self, key)
        return value


@dataclass(frozen=True)
class SeriesSummary:
    series: SeriesInfo
    follow_through: tuple[FollowThrough, ...]
    sessions: tuple[Summary, ...]

    def as_dict(self) -> dict[str, Any]:
        """The JSON export's data (series.schema.json)."""
        return {
            "series": _plain(self.series),
            "follow_through": _plain(self.follow_through),
            "sessions": [s.as_dict() for s in self.sessions],
        }
