"""The unit of work and its repositories over one AsyncSession (one transaction)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.model import (
    Actor,
    AssistUsage,
    CheckIn,
    Commitment,
    CommitmentStatus,
    Contribution,
    ConversationRef,
    Factor,
    Force,
    Identified,
    InboundEvent,
    Link,
    Membership,
    OutboxMessage,
    OutboxStatus,
    Person,
    Round,
    RoundKind,
    RoundStatus,
    Session,
    SessionMode,
    SessionStatus,
    Suggestion,
    Team,
    Theme,
    Vote,
    Workspace,
)
from handlers.ports import Conflict
from storage import tables as t
from storage import tracing
from storage.dialects import insert_for
from storage.gate import end_turn, take_turn
from storage.intake import SqlIntake
from storage.privacy import SqlPrivacy
from storage.web import SqlWebAccess

T = TypeVar("T")


def insert_ignoring_duplicates(session: AsyncSession, table: sa.Table) -> Any:
    """INSERT … ON CONFLICT DO NOTHING in the dialect of the session's database."""
    dialect = session.bind.dialect.name
    insert = insert_for(dialect)
    return insert(table).on_conflict_do_nothing()


class _Repo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def _all(self, kind: type[T], *where: Any, order: Any = None) -> list[T]:
        stmt = sa.select(kind).where(*where)
        if order is not None:
            stmt = stmt.order_by(order)
        return list((await self.s.scalars(stmt)).all())

    async def _one(self, kind: type[T], *where: Any) -> T | None:
        return (await self.s.scalars(sa.select(kind).where(*where).limit(1))).first()


# The look-ups every event makes, built once: a statement SQLAlchemy has seen keeps its cache
# key, where one built per call is made and walked again each time (a good part of an answer's
# Python, measured in bench/ingest.py). Built at first use: the domain is mapped by then.
@cache
def _in_channel() -> Any:
    ws, p, tm, m = t.workspaces.c, t.people.c, t.teams.c, t.memberships.c
    return (
        sa.select(Workspace, Person, Team, Membership)
        .outerjoin(Person, sa.and_(p.workspace_id == ws.id, p.platform_id == sa.bindparam("user")))
        .outerjoin(
            Team, sa.and_(tm.workspace_id == ws.id, tm.channel_id == sa.bindparam("channel"))
        )
        .outerjoin(Membership, sa.and_(m.team_id == tm.id, m.person_id == p.id))
        .where(ws.platform == sa.bindparam("platform"), ws.external_id == sa.bindparam("workspace"))
    )


@cache
def _in_dm() -> Any:
    ws, p, tm, m, s = t.workspaces.c, t.people.c, t.teams.c, t.memberships.c, t.sessions.c
    # A team's current session is its newest one preparing or running (current_for_team).
    current = (
        sa.select(s.status)
        .where(
            s.team_id == tm.id, s.status.in_((SessionStatus.DRAFT.value, SessionStatus.OPEN.value))
        )
        .order_by(s.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    running_first = sa.case((current == SessionStatus.OPEN.value, 0), else_=1)
    return (
        sa.select(Workspace, Person, Team, Membership)
        .outerjoin(Person, sa.and_(p.workspace_id == ws.id, p.platform_id == sa.bindparam("user")))
        .outerjoin(Membership, m.person_id == p.id)
        .outerjoin(Team, tm.id == m.team_id)
        .where(ws.platform == sa.bindparam("platform"), ws.external_id == sa.bindparam("workspace"))
        .order_by(running_first, tm.id)
        .limit(1)
    )


@cache
def _open_round() -> Any:
    return (
        sa.select(Session, Round)
        .join_from(Session, Round, t.rounds.c.session_id == t.sessions.c.id)
        .where(
            t.sessions.c.team_id == sa.bindparam("team"),
            t.sessions.c.status == SessionStatus.OPEN.value,
            t.rounds.c.status == RoundStatus.OPEN.value,
        )
        .order_by(t.sessions.c.id.desc())
        .limit(1)
    )


@cache
def _ballot() -> Any:
    r, th = t.rounds.c, t.themes.c
    group = (
        sa.select(r.id)
        .where(
            r.session_id == sa.bindparam("session"),
            r.kind == RoundKind.GROUP,
            r.position < sa.bindparam("position"),
        )
        .order_by(r.position.desc())
        .limit(1)
        .scalar_subquery()
    )
    total = (
        sa.select(sa.func.count())
        .select_from(t.rounds)
        .where(r.session_id == sa.bindparam("session"))
        .scalar_subquery()
    )
    return sa.select(Theme, total).where(th.round_id == group).order_by(th.position)


@cache
def _dots() -> Any:
    v = t.votes.c
    mine = sa.case((v.person_id == sa.bindparam("person"), v.dots), else_=0)
    return (
        sa.select(v.theme_id, sa.func.sum(v.dots), sa.func.sum(mine))
        .where(v.round_id == sa.bindparam("round"))
        .group_by(v.theme_id)
    )


class SqlDirectory(_Repo):
    async def in_channel(
        self, platform: str, workspace: str, user_id: str, channel_id: str
    ) -> tuple[Workspace | None, Person | None, Team | None, Membership | None]:
        found = {
            "platform": platform,
            "workspace": workspace,
            "user": user_id,
            "channel": channel_id,
        }
        return await self._who(_in_channel(), found)

    async def in_dm(
        self, platform: str, workspace: str, user_id: str
    ) -> tuple[Workspace | None, Person | None, Team | None, Membership | None]:
        found = {"platform": platform, "workspace": workspace, "user": user_id}
        return await self._who(_in_dm(), found)

    async def _who(
        self, stmt: Any, params: dict[str, str]
    ) -> tuple[Workspace | None, Person | None, Team | None, Membership | None]:
        row = (await self.s.execute(stmt, params)).first()
        if row is None:
            return None, None, None, None
        return row[0], row[1], row[2], row[3]

    async def workspace(self, platform: str, external_id: str) -> Workspace | None:
        return await self._one(
            Workspace,
            t.workspaces.c.platform == platform,
            t.workspaces.c.external_id == external_id,
        )

    async def person_by_platform_id(self, workspace_id: int, platform_id: str) -> Person | None:
        return await self._one(
            Person, t.people.c.workspace_id == workspace_id, t.people.c.platform_id == platform_id
        )

    async def people_by_platform_id(self, platform_id: str) -> Sequence[Person]:
        return await self._all(Person, t.people.c.platform_id == platform_id, order=t.people.c.id)

    async def people(self, workspace_id: int) -> Sequence[Person]:
        return await self._all(
            Person,
            t.people.c.workspace_id == workspace_id,
            t.people.c.erased.is_(False),
            order=t.people.c.id,
        )

    async def team_by_channel(self, workspace_id: int, channel_id: str) -> Team | None:
        return await self._one(
            Team, t.teams.c.workspace_id == workspace_id, t.teams.c.channel_id == channel_id
        )

    async def membership(self, team_id: int, person_id: int) -> Membership | None:
        return await self._one(
            Membership,
            t.memberships.c.team_id == team_id,
            t.memberships.c.person_id == person_id,
        )

    async def members(self, team_id: int) -> Sequence[tuple[Membership, Person]]:
        stmt = (
            sa.select(Membership, Person)
            .join_from(Membership, Person, t.memberships.c.person_id == t.people.c.id)
            .where(t.memberships.c.team_id == team_id, t.people.c.erased.is_(False))
            .order_by(t.memberships.c.id)
        )
        return [(m, p) for m, p in (await self.s.execute(stmt)).all()]

    async def all_teams(self) -> Sequence[tuple[Team, Workspace]]:
        stmt = sa.select(Team, Workspace).join_from(
            Team, Workspace, t.teams.c.workspace_id == t.workspaces.c.id
        )
        return [(team, ws) for team, ws in (await self.s.execute(stmt)).all()]

    async def teams_of(self, person_id: int) -> Sequence[Team]:
        stmt = (
            sa.select(Team)
            .join_from(Team, Membership, t.memberships.c.team_id == t.teams.c.id)
            .where(t.memberships.c.person_id == person_id)
            .order_by(t.teams.c.id)
        )
        return list((await self.s.scalars(stmt)).all())

    async def people_with_ids(self, ids: Collection[int]) -> Sequence[Person]:
        return await self._all(Person, t.people.c.id.in_(sorted(ids)), order=t.people.c.id)

    async def teams_with_ids(self, ids: Collection[int]) -> Sequence[Team]:
        return await self._all(Team, t.teams.c.id.in_(sorted(ids)), order=t.teams.c.id)


class SqlSessions(_Repo):
    async def open_round(self, team_id: int) -> tuple[Session, Round] | None:
        row = (await self.s.execute(_open_round(), {"team": team_id})).first()
        return None if row is None else (row[0], row[1])

    async def current_for_team(self, team_id: int) -> Session | None:
        stmt = (
            sa.select(Session)
            .where(
                t.sessions.c.team_id == team_id,
                # Preparing or running (not closed, nor one that did not take place).
                t.sessions.c.status.in_((SessionStatus.DRAFT.value, SessionStatus.OPEN.value)),
            )
            .order_by(t.sessions.c.id.desc())
            .limit(1)
        )
        return (await self.s.scalars(stmt)).first()

    async def for_team(self, team_id: int) -> Sequence[Session]:
        return await self._all(Session, t.sessions.c.team_id == team_id, order=t.sessions.c.id)

    async def due_to_start(self, now: datetime) -> Sequence[Session]:
        s = t.sessions.c
        return await self._all(
            Session, s.status == SessionStatus.DRAFT.value, s.starts_at <= now, order=s.starts_at
        )

    async def hold(self, session_id: int) -> Session | None:
        stmt = sa.select(Session).where(t.sessions.c.id == session_id)
        if self.s.bind.dialect.name == "postgresql":  # SQLite serialises writers already
            stmt = stmt.with_for_update(of=t.sessions)
        found = await self.s.scalars(stmt.execution_options(populate_existing=True))
        return found.first()

    async def claim_due(self, session_id: int, now: datetime, step: str) -> Session | None:
        s, r = t.sessions.c, t.rounds.c
        if step == "start":
            due = sa.and_(s.status == SessionStatus.DRAFT.value, s.starts_at <= now)
        elif step == "close":  # a live one left open: the caller knows when its day is over
            due = sa.and_(s.status == SessionStatus.OPEN.value, s.mode == SessionMode.LIVE.value)
        else:
            open_due = sa.select(r.id).where(
                r.session_id == s.id, r.status == RoundStatus.OPEN.value, r.closes_at <= now
            )
            due = sa.and_(s.status == SessionStatus.OPEN.value, open_due.exists())
        stmt = sa.select(Session).where(s.id == session_id, due)
        if self.s.bind.dialect.name == "postgresql":
            # Another process at the same step holds the row: it is theirs; skip it.
            stmt = stmt.with_for_update(of=t.sessions, skip_locked=True)
        # Read again what another transaction may have changed since this one first saw it.
        found = await self.s.scalars(stmt.execution_options(populate_existing=True))
        return found.first()

    async def open_live(self) -> Sequence[Session]:
        s = t.sessions.c
        return await self._all(
            Session,
            s.status == SessionStatus.OPEN.value,
            s.mode == SessionMode.LIVE.value,
            order=s.id,
        )

    async def rounds_due_to_close(self, now: datetime) -> Sequence[Session]:
        s, r = t.sessions.c, t.rounds.c
        stmt = (
            sa.select(Session)
            .join_from(Session, Round, r.session_id == s.id)
            .where(
                s.status == SessionStatus.OPEN.value,
                r.status == RoundStatus.OPEN.value,
                r.closes_at <= now,
            )
            .order_by(s.id)
        )
        return list((await self.s.scalars(stmt)).all())

    async def rounds(self, session_id: int) -> Sequence[Round]:
        return await self._all(
            Round, t.rounds.c.session_id == session_id, order=t.rounds.c.position
        )

    async def contributions(self, round_ids: Sequence[int]) -> Sequence[Contribution]:
        if not round_ids:
            return []
        return await self._all(
            Contribution, t.contributions.c.round_id.in_(round_ids), order=t.contributions.c.id
        )

    async def themes(self, round_id: int) -> Sequence[Theme]:
        return await self._all(Theme, t.themes.c.round_id == round_id, order=(t.themes.c.position))

    async def votes(self, round_id: int) -> Sequence[Vote]:
        return await self._all(Vote, t.votes.c.round_id == round_id, order=t.votes.c.id)

    async def vote_counts(self, round_id: int) -> dict[int, int]:
        v = t.votes.c
        stmt = (
            sa.select(v.theme_id, sa.func.sum(v.dots))
            .where(v.round_id == round_id)
            .group_by(v.theme_id)
        )
        return {int(theme): int(dots) for theme, dots in (await self.s.execute(stmt)).all()}

    async def ballot(self, session_id: int, vote_position: int) -> tuple[int, list[Theme]]:
        rows = (
            await self.s.execute(_ballot(), {"session": session_id, "position": vote_position})
        ).all()
        if not rows:  # no themes (yet): the count alone, for the ballot's heading
            count = sa.select(sa.func.count()).where(t.rounds.c.session_id == session_id)
            return int((await self.s.execute(count)).scalar_one()), []
        return int(rows[0][1]), [row[0] for row in rows]

    async def dots(self, round_id: int, person_id: int) -> tuple[dict[int, int], dict[int, int]]:
        rows = (await self.s.execute(_dots(), {"round": round_id, "person": person_id})).all()
        everyone = {int(theme): int(all_) for theme, all_, _ in rows}
        mine = {int(theme): int(own) for theme, _, own in rows if own}
        return everyone, mine

    async def set_dots(self, round_id: int, person_id: int, theme_id: int, dots: int) -> None:
        v = t.votes.c
        which = (v.round_id == round_id, v.person_id == person_id, v.theme_id == theme_id)
        if dots == 0:
            await self.s.execute(sa.delete(t.votes).where(*which))
        else:
            await self.s.execute(sa.update(t.votes).where(*which).values(dots=dots))

    async def actors(self, session_id: int) -> Sequence[Actor]:
        return await self._all(Actor, t.actors.c.session_id == session_id, order=t.actors.c.id)

    async def forces(self, session_id: int) -> Sequence[Force]:
        return await self._all(Force, t.forces.c.session_id == session_id, order=t.forces.c.id)

    async def forget_authors(self, session_id: int) -> None:
        rounds = sa.select(t.rounds.c.id).where(t.rounds.c.session_id == session_id)
        await self.s.execute(
            sa.update(t.contributions)
            .where(t.contributions.c.round_id.in_(rounds))
            .values(author_id=None)
            .execution_options(synchronize_session=False)
        )


_FINISHED = (CommitmentStatus.DONE.value, CommitmentStatus.RELEASED.value)


class SqlCommitments(_Repo):
    async def for_session(self, session_id: int) -> Sequence[Commitment]:
        return await self._all(
            Commitment, t.commitments.c.session_id == session_id, order=t.commitments.c.id
        )

    async def open_for_team(self, team_id: int) -> Sequence[Commitment]:
        return await self._all(
            Commitment,
            t.commitments.c.team_id == team_id,
            t.commitments.c.status.not_in(_FINISHED),
            order=t.commitments.c.id,
        )

    async def for_team(self, team_id: int) -> Sequence[Commitment]:
        return await self._all(
            Commitment, t.commitments.c.team_id == team_id, order=t.commitments.c.id
        )

    async def for_person(self, person_id: int) -> Sequence[Commitment]:
        # Co-owners are a small JSON list, filtered in Python to keep the query portable; only
        # the person's own teams are read (co-owners are team members).
        teams = sa.select(t.memberships.c.team_id).where(t.memberships.c.person_id == person_id)
        rows = await self._all(
            Commitment,
            t.commitments.c.status.not_in(_FINISHED),
            sa.or_(t.commitments.c.owner_id == person_id, t.commitments.c.team_id.in_(teams)),
            order=t.commitments.c.due_date,
        )
        return [c for c in rows if c.owner_id == person_id or person_id in c.co_owner_ids]

    async def check_ins(self, commitment_id: int) -> Sequence[CheckIn]:
        return await self._all(
            CheckIn, t.check_ins.c.commitment_id == commitment_id, order=t.check_ins.c.id
        )


class SqlCausalMap(_Repo):
    async def factor_by_key(self, team_id: int, key: str) -> Factor | None:
        return await self._one(Factor, t.factors.c.team_id == team_id, t.factors.c.key == key)

    async def factors(self, team_id: int) -> Sequence[Factor]:
        return await self._all(Factor, t.factors.c.team_id == team_id, order=t.factors.c.id)

    async def links(self, team_id: int) -> Sequence[Link]:
        return await self._all(Link, t.links.c.team_id == team_id, order=t.links.c.id)

    async def link_between(self, team_id: int, source_id: int, target_id: int) -> Link | None:
        return await self._one(
            Link,
            t.links.c.team_id == team_id,
            t.links.c.source_id == source_id,
            t.links.c.target_id == target_id,
        )


class SqlOutbox(_Repo):
    async def enqueue(self, message: OutboxMessage) -> bool:
        values = {
            "dedupe_key": message.dedupe_key,
            "kind": message.kind,
            "destination": message.destination,
            "payload": tracing.stamped(message.payload),  # its delivery logs the same id
            "due_at": message.due_at,
            "person_id": message.person_id,
            "status": message.status,
            "attempts": message.attempts,
            "reason": message.reason,
        }
        stmt = insert_ignoring_duplicates(self.s, t.outbox).values(values).returning(t.outbox.c.id)
        new_id = (await self.s.execute(stmt)).scalar()
        if new_id is not None:
            message.id = new_id
        return new_id is not None

    async def pending(self, due_before: datetime | None = None) -> Sequence[OutboxMessage]:
        where = [t.outbox.c.status == OutboxStatus.PENDING.value]
        if due_before is not None:
            where.append(t.outbox.c.due_at <= due_before)
        return await self._all(OutboxMessage, *where, order=t.outbox.c.due_at)

    async def count_nudges(
        self, person_id: int, start: datetime, end: datetime, kinds: Sequence[str]
    ) -> int:
        o = t.outbox.c
        stmt = sa.select(sa.func.count()).where(
            o.person_id == person_id,
            o.due_at >= start,
            o.due_at < end,
            o.kind.in_(kinds),
            o.status.in_([OutboxStatus.PENDING.value, OutboxStatus.SENT.value]),
        )
        return int((await self.s.execute(stmt)).scalar_one())

    async def for_person(self, person_id: int) -> Sequence[OutboxMessage]:
        """Everything queued for a person: for tests to look at (no handler needs it)."""
        return await self._all(
            OutboxMessage, t.outbox.c.person_id == person_id, order=t.outbox.c.due_at
        )

    async def all_done(self) -> Sequence[OutboxMessage]:
        o = t.outbox.c
        return await self._all(
            OutboxMessage,
            o.status.in_([OutboxStatus.SENT.value, OutboxStatus.SKIPPED.value]),
            order=sa.func.coalesce(o.sent_at, o.due_at),
        )

    async def by_key(self, dedupe_key: str) -> OutboxMessage | None:
        return await self._one(OutboxMessage, t.outbox.c.dedupe_key == dedupe_key)


@cache
def _record(dialect: str) -> Any:
    insert = insert_for(dialect)
    return insert(t.inbox).on_conflict_do_nothing()


class SqlInbox(_Repo):
    async def record(self, event: InboundEvent) -> bool:
        # Whether a row went in, from the count the database reports with the statement: no
        # RETURNING, whose rows cost SQLite another hand-off to aiosqlite's thread.
        row = {"key": event.key, "platform": event.platform, "received_at": event.received_at}
        result: Any = await self.s.execute(_record(self.s.bind.dialect.name), row)
        return bool(result.rowcount == 1)

    async def record_within(self, event: InboundEvent, window: timedelta) -> bool:
        # One statement, so two clicks at once cannot both find the key old: insert it, or
        # move its time on only when the last counted one is at least `window` ago.
        i = t.inbox.c
        insert = insert_for(self.s.bind.dialect.name)
        new: Any = insert(t.inbox).values(
            key=event.key, platform=event.platform, received_at=event.received_at
        )
        stmt = new.on_conflict_do_update(
            index_elements=[i.key],
            set_={"received_at": new.excluded.received_at},
            where=i.received_at <= event.received_at - window,
        ).returning(i.id)
        return (await self.s.execute(stmt)).scalar() is not None


class SqlConversationRefs(_Repo):
    async def find(self, platform: str, scope: str, owner_id: int) -> ConversationRef | None:
        c = t.conversation_refs.c
        return await self._one(
            ConversationRef, c.platform == platform, c.scope == scope, c.owner_id == owner_id
        )

    async def find_all(
        self, platform: str, scope: str, owner_ids: Collection[int]
    ) -> Sequence[ConversationRef]:
        c = t.conversation_refs.c
        return await self._all(
            ConversationRef,
            c.platform == platform,
            c.scope == scope,
            c.owner_id.in_(sorted(owner_ids)),
            order=c.owner_id,
        )

    async def of_teams_of(self, platform: str, person_id: int) -> Sequence[ConversationRef]:
        c, m = t.conversation_refs.c, t.memberships.c
        stmt = (
            sa.select(ConversationRef)
            .join_from(ConversationRef, t.memberships, m.team_id == c.owner_id)
            .where(c.platform == platform, c.scope == "team", m.person_id == person_id)
            .order_by(c.owner_id)
        )
        return list((await self.s.scalars(stmt)).all())

    async def save(self, ref: ConversationRef) -> None:
        # Two workers reaching one person for the first time both save: the insert must not
        # clash, and the later one simply refreshes the reference.
        c = t.conversation_refs.c
        inserted = (
            await self.s.execute(
                insert_ignoring_duplicates(self.s, t.conversation_refs)
                .values(
                    platform=ref.platform,
                    scope=ref.scope,
                    owner_id=ref.owner_id,
                    reference=ref.reference,
                )
                .returning(c.id)
            )
        ).scalar()
        if inserted is None:
            await self.s.execute(
                sa.update(t.conversation_refs)
                .where(c.platform == ref.platform, c.scope == ref.scope, c.owner_id == ref.owner_id)
                .values(reference=ref.reference)
                .execution_options(synchronize_session=False)
            )
        else:
            ref.id = inserted

    async def save_all(self, refs: Sequence[ConversationRef]) -> None:
        # One INSERT … ON CONFLICT DO UPDATE for them all: a reference another worker saved
        # meanwhile is simply refreshed. One row each (PostgreSQL refuses to update a row twice
        # in one statement), in key order, so that two workers saving overlapping sets lock
        # their rows in the same order and cannot deadlock.
        latest = {(r.platform, r.scope, r.owner_id): r for r in refs}
        if not latest:
            return
        dialect = self.s.bind.dialect.name
        insert = insert_for(dialect)
        columns = ("platform", "scope", "owner_id", "reference")
        rows = [{c: getattr(latest[key], c) for c in columns} for key in sorted(latest)]
        stmt = insert(t.conversation_refs).values(rows)
        c = t.conversation_refs.c
        await self.s.execute(
            stmt.on_conflict_do_update(
                index_elements=[c.platform, c.scope, c.owner_id],
                set_={"reference": stmt.excluded.reference},
            )
        )


class SqlAssistance(_Repo):
    async def suggestions(self, session_id: int, job: str | None = None) -> Sequence[Suggestion]:
        c = t.suggestions.c
        where = [c.session_id == session_id] + ([c.job == job] if job is not None else [])
        return await self._all(Suggestion, *where, order=c.id)

    async def usage(self, session_id: int) -> AssistUsage | None:
        return await self._one(AssistUsage, t.assist_usage.c.session_id == session_id)

    async def add_usage(
        self,
        session_id: int,
        calls: int,
        prompt_tokens: int,
        completion_tokens: int,
        fallbacks: int,
    ) -> None:
        dialect = self.s.bind.dialect.name
        insert = insert_for(dialect)
        stmt = insert(t.assist_usage).values(
            session_id=session_id,
            calls=calls,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            fallbacks=fallbacks,
        )
        u = t.assist_usage.c
        await self.s.execute(
            stmt.on_conflict_do_update(
                index_elements=[u.session_id],
                set_={
                    "calls": u.calls + stmt.excluded.calls,
                    "prompt_tokens": u.prompt_tokens + stmt.excluded.prompt_tokens,
                    "completion_tokens": u.completion_tokens + stmt.excluded.completion_tokens,
                    "fallbacks": u.fallbacks + stmt.excluded.fallbacks,
                },
            )
        )


@cache
def _insert(table: sa.Table) -> Any:
    return table.insert()


class SqlUnitOfWork:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._factory = sessions

    async def __aenter__(self) -> SqlUnitOfWork:
        self.session = self._factory()
        await take_turn(self.session)
        self.directory = SqlDirectory(self.session)
        self.sessions = SqlSessions(self.session)
        self.commitments = SqlCommitments(self.session)
        self.causal = SqlCausalMap(self.session)
        self.outbox = SqlOutbox(self.session)
        self.inbox = SqlInbox(self.session)
        self.intake = SqlIntake(self.session)
        self.conversations = SqlConversationRefs(self.session)
        self.privacy = SqlPrivacy(self.session)
        self.assistance = SqlAssistance(self.session)
        self.web = SqlWebAccess(self.session)
        return self

    async def __aexit__(self, *exc: object) -> None:
        # Closing rolls back anything not committed (nothing is half-stored) and, unlike an
        # explicit rollback, leaves the objects read here usable, detached, by the caller.
        # Closed here directly (`async with`'s exit would close in a task of its own).
        try:
            await self.session.close()
        finally:
            end_turn(self.session)

    def add(self, entity: object) -> None:
        self.session.add(entity)

    async def store(self, entity: Identified) -> int:
        self.session.add(entity)
        await self.flush()
        assert entity.id is not None, "the database gives every row it stores an id"
        return entity.id

    async def insert(self, entity: Identified) -> int:
        # One INSERT, its values the entity's own attributes (the mapping names them after
        # the columns), past the session's flush: for a new row on the hot path (an answer).
        table: Any = sa.inspect(type(entity)).local_table  # type: ignore[union-attr]
        values = {c.key: getattr(entity, c.key) for c in table.columns if c.key != "id"}
        try:
            result: Any = await self.session.execute(_insert(table), values)
        except sa.exc.IntegrityError as exc:
            raise Conflict(str(exc.orig)) from exc
        entity.id = int(result.inserted_primary_key[0])
        return entity.id

    async def delete(self, entity: object) -> None:
        await self.session.delete(entity)

    async def get(self, kind: type[T], id: int) -> T | None:
        return await self.session.get(kind, id)

    async def lock(self, entity: object) -> None:
        # SQLite already serialises writers (BEGIN IMMEDIATE); PostgreSQL needs a row lock.
        if self.session.bind.dialect.name != "postgresql":
            return
        table: Any = sa.inspect(type(entity)).local_table  # type: ignore[union-attr]
        key = sa.inspect(entity).identity  # type: ignore[union-attr]
        assert key is not None, "only stored objects can be locked"
        await self.session.execute(
            sa.select(table.c.id).where(table.c.id == key[0]).with_for_update()
        )

    async def flush(self) -> None:
        try:
            await self.session.flush()
        except sa.exc.IntegrityError as exc:
            raise Conflict(str(exc.orig)) from exc

    async def commit(self) -> None:
        try:
            await self.session.commit()
        except sa.exc.IntegrityError as exc:
            raise Conflict(str(exc.orig)) from exc

    async def rollback(self) -> None:
        await self.session.rollback()
