"""Forgetting a person and purging old sessions, table by table, in the caller's transaction.

Kept here, next to the schema, because it must name every place a person can appear; a test
scans every text column of every table afterwards.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.model import OutboxStatus
from storage import tables as t


class SqlPrivacy:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def forget(self, person_id: int, platform_id: str) -> None:
        """Blank the person everywhere; what the team made stays, without them."""
        x = self.s.execute
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
        await x(
            sa.update(t.contributions)
            .where(t.contributions.c.author_id == person_id)
            .values(author_id=None)
        )
        await x(sa.delete(t.votes).where(t.votes.c.person_id == person_id))
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

    async def purge(self, before: datetime) -> int:
        """Delete sessions created before `before`, with everything under them."""
        old = sa.select(t.sessions.c.id).where(t.sessions.c.created_at < before)
        ids = [row[0] for row in (await self.s.execute(old)).all()]
        if not ids:
            return 0
        # Messages that belong to those sessions' rounds and commitments go with them.
        await self.s.execute(sa.delete(t.sessions).where(t.sessions.c.id.in_(ids)))
        return len(ids)
