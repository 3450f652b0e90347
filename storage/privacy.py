"""Forgetting a person and purging old sessions, table by table, in the caller's transaction.

Kept here, next to the schema, because it must name every place a person can appear; a test
scans every text column of every table afterwards.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.model import OutboxStatus, Person
from handlers.pseudonyms import NameScrubber
from handlers.systems import factor_key
from prompts.catalog import t as say
from storage import tables as t

# Keys of a serialised message (or nudge spec) whose values are structure, never prose.
_STRUCTURE = frozenset({"type", "id", "job", "style"})


def scrub_json(value: Any, scrub: NameScrubber) -> Any:
    """A JSON value with the names replaced in its prose; its shape (block types, ids) kept,
    so a scrubbed outbox payload still decodes with handlers.messages."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list):
        return [scrub_json(v, scrub) for v in value]
    if isinstance(value, dict):
        return {k: v if k in _STRUCTURE else scrub_json(v, scrub) for k, v in value.items()}
    return value


def _words(person: Person) -> list[str]:
    """What a row must contain (case-insensitively) for the scrubber to find anything in it:
    every name the scrubber matches contains the platform id or the first word of the name."""
    name = person.display_name.split()
    return [w for w in {person.platform_id, name[0] if name else ""} if len(w) >= 2]


class SqlPrivacy:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def forget(self, person_id: int, platform_id: str) -> None:
        """Blank the person everywhere; what the team made stays, without them."""
        x = self.s.execute
        await self._scrub_names(person_id)
        await x(
            sa.update(t.people)
            .where(t.people.c.id == person_id)
            .values(
                platform_id=f"forgotten-{person_id}",
                display_name="",
                organisation="",
                discipline="",
                erased=True,
                nudges_paused=True,
            )
        )
        await x(sa.delete(t.memberships).where(t.memberships.c.person_id == person_id))
        # The web view: the row stays blank, so ON DELETE CASCADE never fires; their sign-in
        # links, web sessions (a cookie of theirs opens nothing now) and reader grants go.
        for table in (t.web_links, t.web_sessions, t.web_readers):
            await x(sa.delete(table).where(table.c.person_id == person_id))
        await x(
            sa.update(t.web_readers)
            .where(t.web_readers.c.granted_by == person_id)
            .values(granted_by=None)
        )
        await x(
            sa.update(t.contributions)
            .where(t.contributions.c.author_id == person_id)
            .values(author_id=None)
        )
        # The dots stay: they are the team's recorded choice, now cast by nobody.
        await x(sa.update(t.votes).where(t.votes.c.person_id == person_id).values(person_id=None))
        await x(
            sa.update(t.commitments)
            .where(t.commitments.c.owner_id == person_id)
            .values(owner_id=None)  # kept, shown as "former participant"
        )
        rows = await x(sa.select(t.commitments.c.id, t.commitments.c.co_owner_ids))
        for commitment_id, co_owners in rows.all():
            if person_id in (co_owners or []):
                await x(
                    sa.update(t.commitments)
                    .where(t.commitments.c.id == commitment_id)
                    .values(co_owner_ids=[p for p in co_owners if p != person_id])
                )
        await x(
            sa.update(t.check_ins)
            .where(t.check_ins.c.person_id == person_id)
            .values(person_id=None)
        )
        await x(
            sa.update(t.links).where(t.links.c.proposed_by == person_id).values(proposed_by=None)
        )
        await x(
            sa.update(t.sessions)
            .where(t.sessions.c.created_by == person_id)
            .values(created_by=None)
        )
        await x(sa.update(t.audit).where(t.audit.c.actor_id == person_id).values(actor_id=None))
        # Messages to them, sent or pending (their words may be in them), and their deliveries.
        await x(sa.delete(t.outbox).where(t.outbox.c.person_id == person_id))
        await x(
            sa.delete(t.outbox).where(
                t.outbox.c.status == OutboxStatus.PENDING.value,
                t.outbox.c.destination["kind"].as_string() == "dm",
                t.outbox.c.destination["id"].as_integer() == person_id,
            )
        )
        await x(sa.delete(t.inbox).where(t.inbox.c.key.contains(platform_id, autoescape=True)))
        await x(
            sa.delete(t.conversation_refs).where(
                t.conversation_refs.c.scope == "person", t.conversation_refs.c.owner_id == person_id
            )
        )

    async def _scrub_names(self, person_id: int) -> None:
        """Replace the person's names, handles and platform id wherever anyone wrote them in
        their workspace: others' answers ("Karim belt elke familie"), titles, the causal map,
        the assistant's drafts and the messages sent or still to send (a reveal that named
        authors). Done before the person row is blanked: afterwards nothing knows the name."""
        row = (
            await self.s.execute(
                sa.select(t.people, t.workspaces.c.locale.label("ws_locale"))
                .join(t.workspaces, t.workspaces.c.id == t.people.c.workspace_id)
                .where(t.people.c.id == person_id)
            )
        ).first()
        if row is None:
            return
        m = row._mapping
        person = Person(m["workspace_id"], m["platform_id"], m["display_name"], id=person_id)
        scrub = NameScrubber([person], say(m["ws_locale"], "summary.name_removed"))
        words = _words(person)
        ws = m["workspace_id"]
        teams = sa.select(t.teams.c.id).where(t.teams.c.workspace_id == ws)
        people = sa.select(t.people.c.id).where(t.people.c.workspace_id == ws)
        sessions = sa.select(t.sessions.c.id).where(t.sessions.c.team_id.in_(teams))
        rounds = sa.select(t.rounds.c.id).where(t.rounds.c.session_id.in_(sessions))
        commitments = sa.select(t.commitments.c.id).where(t.commitments.c.team_id.in_(teams))
        dest = t.outbox.c.destination
        to_them = sa.or_(
            sa.and_(dest["kind"].as_string() == "dm", dest["id"].as_integer().in_(people)),
            sa.and_(dest["kind"].as_string() != "dm", dest["id"].as_integer().in_(teams)),
        )
        where: list[tuple[sa.Table, tuple[str, ...], tuple[str, ...], Any]] = [
            (t.series, ("title",), (), t.series.c.team_id.in_(teams)),
            (t.sessions, ("title", "question"), (), t.sessions.c.team_id.in_(teams)),
            (t.themes, ("title",), (), t.themes.c.round_id.in_(rounds)),
            (t.contributions, ("text",), (), t.contributions.c.round_id.in_(rounds)),
            (t.factors, ("name",), (), t.factors.c.team_id.in_(teams)),
            (t.commitments, ("text",), (), t.commitments.c.team_id.in_(teams)),
            (t.check_ins, ("note",), (), t.check_ins.c.commitment_id.in_(commitments)),
            (
                t.actors,
                ("name", "organisation", "interest"),
                (),
                t.actors.c.session_id.in_(sessions),
            ),
            (t.forces, ("text",), (), t.forces.c.session_id.in_(sessions)),
            (t.suggestions, (), ("payload",), t.suggestions.c.session_id.in_(sessions)),
            # Sent rows are rewritten, not deleted: their dedupe keys keep reveals and nudges
            # from being planned a second time.
            (t.outbox, ("reason",), ("payload",), to_them),
        ]
        for table, texts, jsons, scope in where:
            changed = await self._scrub_table(table, texts, jsons, scope, scrub, words)
            if table is t.factors and changed:
                await self._rekey_factors(changed)

    async def _scrub_table(
        self,
        table: sa.Table,
        texts: tuple[str, ...],
        jsons: tuple[str, ...],
        scope: Any,
        scrub: NameScrubber,
        words: list[str],
    ) -> list[int]:
        """Scrub the rows in `scope` that may hold a name; the ids of those that changed."""
        if not words:
            return []
        stmt = sa.select(table.c.id, *(table.c[n] for n in texts + jsons)).where(scope)
        # SQLite's LIKE folds ASCII only, and its JSON is stored ASCII-escaped: a name outside
        # ASCII is looked for in every row of the scope instead.
        if all(w.isascii() and '"' not in w and "\\" not in w for w in words):
            columns = [table.c[n] for n in texts] + [sa.cast(table.c[n], sa.Text) for n in jsons]
            stmt = stmt.where(
                sa.or_(*(c.icontains(w, autoescape=True) for c in columns for w in words))
            )
        changed = []
        for row in (await self.s.execute(stmt)).all():
            m = row._mapping
            values = {n: scrub(m[n]) for n in texts} | {n: scrub_json(m[n], scrub) for n in jsons}
            values = {n: v for n, v in values.items() if v != m[n]}
            if values:
                await self.s.execute(sa.update(table).where(table.c.id == m["id"]).values(values))
                changed.append(m["id"])
        return changed

    async def _rekey_factors(self, ids: list[int]) -> None:
        """A factor's key is its folded name, so it held the name too."""
        rows = (
            await self.s.execute(
                sa.select(t.factors.c.id, t.factors.c.team_id, t.factors.c.name).where(
                    t.factors.c.id.in_(ids)
                )
            )
        ).all()
        for factor_id, team_id, name in rows:
            key = factor_key(name)
            taken = await self.s.execute(
                sa.select(t.factors.c.id).where(
                    t.factors.c.team_id == team_id,
                    t.factors.c.key == key,
                    t.factors.c.id != factor_id,
                )
            )
            if taken.first() is not None:
                key = f"{key} #{factor_id}"  # two factors that differed only by the name
            await self.s.execute(
                sa.update(t.factors).where(t.factors.c.id == factor_id).values(key=key)
            )

    async def purge(self, before: datetime) -> int:
        """Delete sessions created before `before`, with everything under them, and the
        messages in and out that are older than that: what the bot said about a session (its
        question, prompts, revealed answers) goes with it."""
        x = self.s.execute
        finished = [s.value for s in OutboxStatus if s != OutboxStatus.PENDING]
        when = sa.func.coalesce(t.outbox.c.sent_at, t.outbox.c.due_at)
        await x(sa.delete(t.outbox).where(t.outbox.c.status.in_(finished), when < before))
        await x(sa.delete(t.inbox).where(t.inbox.c.received_at < before))
        old = sa.select(t.sessions.c.id).where(t.sessions.c.created_at < before)
        ids = [row[0] for row in (await x(old)).all()]
        if not ids:
            return 0
        await self._drop_pending_of(ids)
        # The causal map is the team's, but a link drawn in a purged session goes with it, and
        # so does a factor that nothing is left pointing at.
        gone = (
            await x(
                sa.delete(t.links)
                .where(t.links.c.session_id.in_(ids))
                .returning(t.links.c.source_id, t.links.c.target_id)
            )
        ).all()
        await x(sa.delete(t.sessions).where(t.sessions.c.id.in_(ids)))
        ends = {factor for row in gone for factor in row}
        if ends:
            linked = sa.union(
                sa.select(t.links.c.source_id), sa.select(t.links.c.target_id)
            ).subquery()
            committed = sa.select(t.commitments.c.factor_id).where(
                t.commitments.c.factor_id.is_not(None)
            )
            await x(
                sa.delete(t.factors).where(
                    t.factors.c.id.in_(ends),
                    t.factors.c.id.not_in(sa.select(linked.c[0])),
                    t.factors.c.id.not_in(committed),
                )
            )
        return len(ids)

    async def _drop_pending_of(self, session_ids: list[int]) -> None:
        """Messages still to send about purged sessions, found by their dedupe keys
        ("reveal:<round>", "summary:<session>", "checkin:<commitment>:due", …)."""
        x = self.s.execute
        owned = {
            "round": sa.select(t.rounds.c.id).where(t.rounds.c.session_id.in_(session_ids)),
            "commitment": sa.select(t.commitments.c.id).where(
                t.commitments.c.session_id.in_(session_ids)
            ),
            "check_in": sa.select(t.check_ins.c.id)
            .join(t.commitments, t.commitments.c.id == t.check_ins.c.commitment_id)
            .where(t.commitments.c.session_id.in_(session_ids)),
            "suggestion": sa.select(t.suggestions.c.id).where(
                t.suggestions.c.session_id.in_(session_ids)
            ),
        }
        purged = {("session", i) for i in session_ids}
        for kind, query in owned.items():
            purged |= {(kind, int(i)) for i in (await x(query)).scalars().all()}
        pending = await x(
            sa.select(t.outbox.c.id, t.outbox.c.dedupe_key).where(
                t.outbox.c.status == OutboxStatus.PENDING.value
            )
        )
        doomed = [i for i, key in pending.all() if _owner(key) in purged]
        if doomed:
            await x(sa.delete(t.outbox).where(t.outbox.c.id.in_(doomed)))


# What the first id in a dedupe key names (see the handlers that post each kind).
_KEY_OWNERS = {
    "session-open": "session",
    "summary": "session",
    "review": "session",
    "review-checkin": "session",
    "reveal": "round",
    "round-open": "round",
    "round-prompt": "round",
    "closing-soon": "round",
    "closing-soon-team": "round",
    "discuss": "round",
    "checkin": "commitment",
    "hand-over": "commitment",  # handlers.commitments: to give on or close
    "owner": "commitment",
    "helper": "commitment",
    "overdue": "commitment",
    "stuck": "check_in",
    "regrouped": "suggestion",
}


def _owner(dedupe_key: str) -> tuple[str, int] | None:
    parts = dedupe_key.split(":")
    if parts[0] == "assist" and len(parts) >= 3:  # "assist:round:12", "assist:narrative:3"
        kind, number = {"narrative": "session"}.get(parts[1], parts[1]), parts[2]
    elif parts[0] in _KEY_OWNERS and len(parts) >= 2:
        kind, number = _KEY_OWNERS[parts[0]], parts[1]
    else:
        return None
    return (kind, int(number)) if number.isdigit() else None
