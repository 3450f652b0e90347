"""The ports handlers (and the bot's outbox dispatcher) depend on. `storage/` implements them
with SQLAlchemy; tests may fake them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from handlers.drafts import Completion, Task
from handlers.model import (
    Actor,
    AssistUsage,
    CheckIn,
    Commitment,
    Contribution,
    ConversationRef,
    Factor,
    Force,
    Identified,
    InboundEvent,
    Link,
    Membership,
    OutboxMessage,
    Person,
    Round,
    Session,
    Suggestion,
    Team,
    Theme,
    Vote,
    Workspace,
)

T = TypeVar("T")


class Conflict(Exception):
    """Another transaction stored the same thing first (two first messages in a new channel):
    the whole event is tried again and then finds what the other stored."""


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


# Who is in a channel, as the platform knows them: (platform id, name). Empty when the platform
# will not say; handlers decide what follows (a session's people, a new team's members).
Roster = Callable[[str], Awaitable[Sequence[tuple[str, str]]]]


async def _nobody(_channel_id: str) -> Sequence[tuple[str, str]]:
    return ()


NO_ROSTER: Roster = _nobody


class Directory(Protocol):
    """Workspaces, people and teams."""

    async def in_channel(
        self, platform: str, workspace: str, user_id: str, channel_id: str
    ) -> tuple[Workspace | None, Person | None, Team | None, Membership | None]:
        """Everything known about someone acting in a channel, in one look-up."""
        ...

    async def in_dm(
        self, platform: str, workspace: str, user_id: str
    ) -> tuple[Workspace | None, Person | None, Team | None, Membership | None]:
        """The same for someone writing to the bot directly: their team with a running
        session, else their first team (by id)."""
        ...

    async def workspace(self, platform: str, external_id: str) -> Workspace | None: ...
    async def person_by_platform_id(self, workspace_id: int, platform_id: str) -> Person | None: ...
    async def people_by_platform_id(self, platform_id: str) -> Sequence[Person]:
        """In every workspace (an operator's `forget` names only the id)."""
        ...

    async def people(self, workspace_id: int) -> Sequence[Person]:
        """Everyone of a workspace who is not erased."""
        ...

    async def team_by_channel(self, workspace_id: int, channel_id: str) -> Team | None: ...
    async def membership(self, team_id: int, person_id: int) -> Membership | None: ...
    async def members(self, team_id: int) -> Sequence[tuple[Membership, Person]]: ...
    async def teams_of(self, person_id: int) -> Sequence[Team]: ...
    async def all_teams(self) -> Sequence[tuple[Team, Workspace]]: ...
    async def people_with_ids(self, ids: Collection[int]) -> Sequence[Person]:
        """Those of `ids` that exist, erased or not, in one look-up (an outbox batch's)."""
        ...

    async def teams_with_ids(self, ids: Collection[int]) -> Sequence[Team]: ...


class Sessions(Protocol):
    async def open_round(self, team_id: int) -> tuple[Session, Round] | None:
        """The team's running session and its open round, in one look-up."""
        ...

    async def current_for_team(self, team_id: int) -> Session | None: ...
    async def due_to_start(self, now: datetime) -> Sequence[Session]:
        """Sessions in preparation whose start time has come."""
        ...

    async def claim_due(self, session_id: int, now: datetime, step: str) -> Session | None:
        """The session, held by this transaction, when `step` ("start": its start time came;
        "advance": its open round's close came; "close": a live one is still running) is
        still due now; None when it is not any more, or another process is doing it: each
        due transition happens once."""
        ...

    async def hold(self, session_id: int) -> Session | None:
        """The session read again under a row lock held until the transaction ends, so a
        change and the schedule's start of it take turns (a change then sees it started)."""
        ...

    async def open_live(self) -> Sequence[Session]:
        """Running live sessions (the schedule closes one left open at the end of its day)."""
        ...

    async def rounds_due_to_close(self, now: datetime) -> Sequence[Session]:
        """Running sessions whose open round's planned close has come."""
        ...

    async def for_team(self, team_id: int) -> Sequence[Session]: ...
    async def rounds(self, session_id: int) -> Sequence[Round]: ...
    async def contributions(self, round_ids: Sequence[int]) -> Sequence[Contribution]: ...
    async def themes(self, round_id: int) -> Sequence[Theme]: ...
    async def votes(self, round_id: int) -> Sequence[Vote]: ...
    async def vote_counts(self, round_id: int) -> dict[int, int]:
        """Dots per theme in a vote round (summed in the database)."""
        ...

    async def ballot(self, session_id: int, vote_position: int) -> tuple[int, list[Theme]]:
        """How many rounds the session has and, in order, the themes of its last group round
        before the vote at `vote_position` (the ballot's; none when there are none). One read
        where a vote came in a burst."""
        ...

    async def dots(self, round_id: int, person_id: int) -> tuple[dict[int, int], dict[int, int]]:
        """Dots per theme in a vote round, everyone's and this person's, in one read."""
        ...

    async def set_dots(self, round_id: int, person_id: int, theme_id: int, dots: int) -> None:
        """This person's dots on a theme they voted for already (0: their vote goes)."""
        ...

    async def actors(self, session_id: int) -> Sequence[Actor]: ...
    async def forces(self, session_id: int) -> Sequence[Force]: ...
    async def forget_authors(self, session_id: int) -> None:
        """Drop the link from the session's answers to their authors (kept only so that people
        can change their own answer while the session runs)."""
        ...


class Commitments(Protocol):
    async def for_session(self, session_id: int) -> Sequence[Commitment]: ...
    async def open_for_team(self, team_id: int) -> Sequence[Commitment]: ...
    async def for_team(self, team_id: int) -> Sequence[Commitment]: ...
    async def for_person(self, person_id: int) -> Sequence[Commitment]: ...
    async def check_ins(self, commitment_id: int) -> Sequence[CheckIn]: ...


class CausalMap(Protocol):
    async def factor_by_key(self, team_id: int, key: str) -> Factor | None: ...
    async def factors(self, team_id: int) -> Sequence[Factor]: ...
    async def links(self, team_id: int) -> Sequence[Link]: ...
    async def link_between(self, team_id: int, source_id: int, target_id: int) -> Link | None: ...


class ConversationRefs(Protocol):
    """Where a platform reaches a person or a team (Slack DM channel, Teams reference)."""

    async def find(self, platform: str, scope: str, owner_id: int) -> ConversationRef | None: ...
    async def of_teams_of(self, platform: str, person_id: int) -> Sequence[ConversationRef]:
        """Where the person's teams are reached, by team (a first 1:1 chat starts there)."""
        ...

    async def find_all(
        self, platform: str, scope: str, owner_ids: Collection[int]
    ) -> Sequence[ConversationRef]:
        """Those of `owner_ids` that have one, in one look-up (an outbox batch's)."""
        ...

    async def save(self, ref: ConversationRef) -> None:
        """Store or replace the reference for (platform, scope, owner)."""
        ...

    async def save_all(self, refs: Sequence[ConversationRef]) -> None:
        """The same for several at once, in one statement (the DM channels a batch opened)."""
        ...


class Privacy(Protocol):
    async def forget(self, person_id: int, platform_id: str) -> None:
        """Blank the person everywhere in this transaction (AVG/GDPR: the right to be forgotten)."""
        ...

    async def purge(self, before: datetime) -> int:
        """Delete sessions created before `before` with everything under them; how many."""
        ...


class Outbox(Protocol):
    async def enqueue(self, message: OutboxMessage) -> bool:
        """Store the message unless one with the same dedupe key exists. True when stored."""
        ...

    async def pending(self, due_before: datetime | None = None) -> Sequence[OutboxMessage]: ...
    async def count_nudges(
        self, person_id: int, start: datetime, end: datetime, kinds: Sequence[str]
    ) -> int:
        """Nudges for a person due in [start, end), sent or still to send."""
        ...

    async def by_key(self, dedupe_key: str) -> OutboxMessage | None: ...
    async def all_done(self) -> Sequence[OutboxMessage]:
        """Everything sent or skipped, oldest first."""
        ...


class Inbox(Protocol):
    async def record(self, event: InboundEvent) -> bool:
        """Record an incoming event. False when it was seen before (a retried delivery)."""
        ...

    async def record_within(self, event: InboundEvent, window: timedelta) -> bool:
        """Record a click by who, what and where (its key): False when the same key was
        counted less than `window` before (a double click), wherever the clock's second falls."""
        ...


@dataclass(frozen=True)
class Delivery:
    """A delivery kept before its acknowledgement (handlers/intake.py), until handled."""

    id: int
    event: dict[str, Any]
    attempts: int
    # Handled, but its replies were not seen out: the outbox rows they become (intake.py).
    replies: list[dict[str, Any]] | None = None


class Intake(Protocol):
    async def keep(
        self, key: str, platform: str, event: dict[str, Any], now: datetime, worker: str,
        lease_until: datetime,
    ) -> int | None:  # fmt: skip
        """Store a delivery, leased to the worker that will handle it now: its id, or None
        when a delivery with this key is already waiting (the platform sent it again)."""
        ...

    async def done(self, delivery_id: int) -> None:
        """Handled: gone, in the transaction that had its effect."""
        ...

    async def replying(
        self, delivery_id: int, replies: list[dict[str, Any]], lease_until: datetime
    ) -> None:
        """Handled, in the transaction that had its effect; its replies are being sent now.
        Kept with them (leased) until `answered`, for the intake tick if the worker dies."""
        ...

    async def answered(self, delivery_ids: Collection[int]) -> None:
        """Their replies went out: gone."""
        ...

    async def claim(
        self,
        now: datetime,
        worker: str,
        lease_until: datetime,
        limit: int,
        *,
        own_idle_since: datetime | None = None,
        busy: Collection[int] = (),
    ) -> Sequence[Delivery]:
        """Deliveries nobody is handling (lease run out), and `worker`'s own that it is not
        handling now (not in `busy`) and last leased by `own_idle_since`; leased to `worker`,
        attempts counted."""
        ...

    async def waiting(self) -> int: ...


class Assistance(Protocol):
    """What the LLM assistant drafted for a session, and what it cost."""

    async def suggestions(self, session_id: int, job: str | None = None) -> Sequence[Suggestion]:
        """In the order they were drafted; only one job's when `job` is given."""
        ...

    async def usage(self, session_id: int) -> AssistUsage | None: ...
    async def add_usage(
        self,
        session_id: int,
        calls: int,
        prompt_tokens: int,
        completion_tokens: int,
        fallbacks: int,
    ) -> None:
        """Add to the session's counts in one statement (two workers may count at once)."""
        ...


class WebAccess(Protocol):
    """The web view's sign-in state (handlers/dashboard.py): links used once, sessions kept
    on the server, and who reads a team's trends for the municipality."""

    async def use_link(
        self, nonce: str, person_id: int, expires_at: datetime, now: datetime
    ) -> bool:
        """Record a sign-in link as used: False when it was used before."""
        ...

    async def open_session(
        self, secret_hash: str, person_id: int, csrf: str, now: datetime, expires_at: datetime
    ) -> None: ...
    async def session(self, secret_hash: str, now: datetime) -> tuple[int, str] | None:
        """(person id, CSRF token) of an unexpired session."""
        ...

    async def close_session(self, secret_hash: str) -> None: ...
    async def reader_teams(self, person_id: int) -> Sequence[int]: ...
    async def readers(self, team_id: int) -> Sequence[int]: ...
    async def grant_reader(self, team_id: int, person_id: int, by: int, now: datetime) -> bool:
        """False when the person already reads the team."""
        ...

    async def revoke_reader(self, team_id: int, person_id: int) -> bool: ...


class Media(Protocol):
    """Pictures kept for a while under a key (Teams fetches a card's causal map from the bot),
    each call its own transaction, like the outbox worker's."""

    async def put(self, key: str, data: bytes, now: datetime, expires: datetime) -> None:
        """Keep `data` under `key` until `expires`; what expired by `now` goes."""
        ...

    async def get(self, key: str, now: datetime) -> bytes | None:
        """The data under `key`, unless it expired by `now`."""
        ...


class Synthesizer(Protocol):
    """An LLM that drafts for the team (bot/llm.py). It gets no tools and no names, and each
    call carries one session's data only. It never raises: a failure is a Completion without
    data, and the handlers fall back to their plain methods."""

    async def complete(self, task: Task) -> Completion: ...
    async def close(self) -> None: ...


class UnitOfWork(Protocol):
    """One transaction. Changes to objects got through it are stored on `commit()`."""

    @property
    def directory(self) -> Directory: ...
    @property
    def sessions(self) -> Sessions: ...
    @property
    def commitments(self) -> Commitments: ...
    @property
    def causal(self) -> CausalMap: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def inbox(self) -> Inbox: ...
    @property
    def intake(self) -> Intake: ...
    @property
    def conversations(self) -> ConversationRefs: ...
    @property
    def privacy(self) -> Privacy: ...
    @property
    def assistance(self) -> Assistance: ...
    @property
    def web(self) -> WebAccess: ...

    async def __aenter__(self) -> UnitOfWork: ...
    async def __aexit__(self, *exc: object) -> None: ...
    def add(self, entity: object) -> None:
        """Keep a new object; it is written with the next `flush()`, `store()` or `commit()`."""
        ...

    async def store(self, entity: Identified) -> int:
        """Add a new object and write it now: its id (the object carries it from here on),
        and the queries that follow see it."""
        ...

    async def insert(self, entity: Identified) -> int:
        """Write a new object now with one INSERT, its id as `store` gives it; the object is
        not kept by this transaction, so later changes to it are not stored."""
        ...

    async def delete(self, entity: object) -> None: ...
    async def get(self, kind: type[T], id: int) -> T | None: ...
    async def flush(self) -> None:
        """Write the pending changes now, for what follows in this transaction: nothing is
        written on its own before a query, so a query that must see them needs this, as does
        a statement that must come after them (an update before a delete, a bulk update)."""
        ...

    async def lock(self, entity: object) -> None:
        """Hold this stored object's row until the transaction ends, so that two requests
        that read-then-write around it (a person's dot budget) take turns."""
        ...

    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


@dataclass(frozen=True)
class LeaseHolder:
    """Who holds an outbox lease. `name` stays the same when the process starts again on the
    same host and instance; `run` is new at every start. So a restarted worker knows which
    rows it held before it died, and takes them back at once rather than waiting out their
    lease."""

    name: str
    run: str


class OutboxWorker(Protocol):
    """Claims due messages for sending (each in its own transaction); the dispatcher marks
    them sent, skipped or failed, moves them to later or hands them back."""

    async def claim_due(
        self,
        now: datetime,
        lease_seconds: int,
        limit: int,
        *,
        only_kinds: Collection[str] = (),
        except_kinds: Collection[str] = (),
        holder: LeaseHolder | None = None,
    ) -> Sequence[OutboxMessage]:
        """Due rows, leased (to `holder`); only of `only_kinds` (when given), none of
        `except_kinds`."""
        ...

    async def renew(self, message_ids: list[int], holder: LeaseHolder, until: datetime) -> int:
        """Extend the leases `holder` still has on these rows (the heartbeat of a worker that
        is still working on them); how many it still had."""
        ...

    async def take_back(self, holder: LeaseHolder) -> int:
        """Free the rows an earlier run of `holder.name` held when it died: claimable at once.
        Their attempt stays counted (a row that kills its worker runs out of attempts)."""
        ...

    async def mark_sent(self, message_id: int, at: datetime) -> None: ...
    async def mark_skipped(self, message_id: int, reason: str) -> None: ...
    async def release(self, message_ids: list[int]) -> None:
        """Hand claimed rows back unsent: due as before, claimable at once, no attempt used."""
        ...

    async def reschedule(self, message_id: int, when: datetime) -> None:
        """Not now but at `when` (a nudge that fell due in someone's quiet hours): not a failure."""
        ...

    async def mark_failed(
        self, message_id: int, reason: str, retry_at: datetime | None, *, skip: int | None = None
    ) -> None:
        """Record a failed attempt: try again at `retry_at`, or give up when it is None.
        `skip`: parts of the message that did reach the recipient; the retry sends the rest."""
        ...
