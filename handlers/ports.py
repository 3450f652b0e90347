"""The ports handlers depend on. `storage/` implements them with SQLAlchemy; tests may fake them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from handlers.model import (
    CheckIn,
    Commitment,
    Contribution,
    Factor,
    InboundEvent,
    Link,
    Membership,
    OutboxMessage,
    Person,
    Round,
    Session,
    Team,
    Theme,
    Vote,
    Workspace,
)

T = TypeVar("T")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class Directory(Protocol):
    """Workspaces, people and teams."""

    async def workspace(self, platform: str, external_id: str) -> Workspace | None: ...
    async def person_by_platform_id(self, workspace_id: int, platform_id: str) -> Person | None: ...
    async def team_by_channel(self, workspace_id: int, channel_id: str) -> Team | None: ...
    async def membership(self, team_id: int, person_id: int) -> Membership | None: ...
    async def members(self, team_id: int) -> Sequence[tuple[Membership, Person]]: ...
    async def teams_of(self, person_id: int) -> Sequence[Team]: ...


class Sessions(Protocol):
    async def current_for_team(self, team_id: int) -> Session | None: ...
    async def for_team(self, team_id: int) -> Sequence[Session]: ...
    async def rounds(self, session_id: int) -> Sequence[Round]: ...
    async def contributions(self, round_ids: Sequence[int]) -> Sequence[Contribution]: ...
    async def themes(self, round_id: int) -> Sequence[Theme]: ...
    async def votes(self, round_id: int) -> Sequence[Vote]: ...


class Commitments(Protocol):
    async def for_session(self, session_id: int) -> Sequence[Commitment]: ...
    async def open_for_team(self, team_id: int) -> Sequence[Commitment]: ...
    async def for_person(self, person_id: int) -> Sequence[Commitment]: ...
    async def check_ins(self, commitment_id: int) -> Sequence[CheckIn]: ...


class CausalMap(Protocol):
    async def factor_by_key(self, team_id: int, key: str) -> Factor | None: ...
    async def factors(self, team_id: int) -> Sequence[Factor]: ...
    async def links(self, team_id: int) -> Sequence[Link]: ...
    async def link_between(self, team_id: int, source_id: int, target_id: int) -> Link | None: ...


class Outbox(Protocol):
    async def enqueue(self, message: OutboxMessage) -> bool:
        """Store the message unless one with the same dedupe key exists. True when stored."""
        ...

    async def pending(self, due_before: datetime | None = None) -> Sequence[OutboxMessage]: ...


class Inbox(Protocol):
    async def record(self, event: InboundEvent) -> bool:
        """Record an incoming event. False when it was seen before (a retried delivery)."""
        ...


class UnitOfWork(Protocol):
    """One transaction. Changes to objects got through it are stored on `commit()`."""

    directory: Directory
    sessions: Sessions
    commitments: Commitments
    causal: CausalMap
    outbox: Outbox
    inbox: Inbox

    async def __aenter__(self) -> UnitOfWork: ...
    async def __aexit__(self, *exc: object) -> None: ...
    def add(self, entity: object) -> None: ...
    async def delete(self, entity: object) -> None: ...
    async def get(self, kind: type[T], id: int) -> T | None: ...
    async def flush(self) -> None:
        """Send pending changes so that new objects get their ids."""
        ...

    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


class OutboxWorker(Protocol):
    """Claims due messages for sending; the adapter marks them sent or failed."""

    async def claim_due(
        self, now: datetime, lease_seconds: int, limit: int
    ) -> Sequence[OutboxMessage]: ...
    async def mark_sent(self, message_id: int, at: datetime) -> None: ...
    async def mark_failed(self, message_id: int, reason: str, retry_at: datetime | None) -> None: ...
