"""Routes an outbox message to the sender of the platform its recipient is on."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot import metrics
from handlers.messages import Destination, Message, decode_destination
from handlers.model import ConversationRef, OutboxMessage, Person, Platform, Team, Workspace
from handlers.ports import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """Who or where, as the platform knows them."""

    platform: Platform
    workspace: str  # the platform's workspace/tenant id
    kind: str  # "channel" or "dm"
    owner_id: int  # our team or person id
    address: str  # channel id, or the person's platform id
    locale: str
    name: str = ""  # the person's display name or the team's name (the console shows it)
    # A person's saved conversation on the platform (Slack: the DM channel), None before the first.
    reference: Mapping[str, Any] | None = None


# A platform sender returns where it reached a person for the first time (Slack: the DM
# channel it opened), for the delivery to save; None when it has nothing new.
PlatformSend = Callable[[OutboxMessage, Target, Message], Awaitable[ConversationRef | None]]
Key = tuple[str, str, int]  # a conversation's platform, scope and owner


class UnknownRecipient(Exception):
    pass


class Delivery:
    def __init__(self, uow: UnitOfWorkFactory, senders: dict[Platform, PlatformSend]) -> None:
        self.uow = uow
        self.senders = senders
        self._ahead: dict[tuple[str, int], Target] = {}  # by the destination's kind and id
        self._opened: dict[Key, ConversationRef] | None = None  # in a batch: saved at its end

    @contextlib.asynccontextmanager
    async def look_ahead(self, items: Sequence[OutboxMessage]) -> AsyncIterator[None]:
        """Around a claimed batch: its recipients read before it in one transaction, a query
        each for people, teams and saved DM channels, rather than a transaction for each
        message (they are at most a batch's seconds old when their message goes; a person
        erased meanwhile was erased with their pending rows too); and the DM channels it
        opened saved after it in one statement, rather than a transaction each (a save lost
        to a crash only costs another conversations.open)."""
        self._ahead = await self._read_ahead(items)
        self._opened = {}
        try:
            yield
        finally:
            opened = list(self._opened.values())
            self._ahead, self._opened = {}, None
            await self._save(opened)

    async def _read_ahead(self, items: Sequence[OutboxMessage]) -> dict[tuple[str, int], Target]:
        wanted = {decode_destination(item.destination) for item in items}
        try:
            async with self.uow() as uow:
                found = await _targets(uow, wanted)
        except Exception as exc:  # a blip: each message looks its recipient up itself
            log.warning("reading a batch's recipients failed: %s", type(exc).__name__)
            return {}
        return {(target.kind, target.owner_id): target for target in found}

    async def target(self, to: Destination) -> Target:
        found = self._ahead.get((to.kind, to.id))
        if found is None:
            found = await self._read_one(to)
        if found.kind == "dm" and found.reference is None and self._opened:
            opened = self._opened.get((found.platform, "person", found.owner_id))
            if opened is not None:  # opened earlier in this batch, not saved yet
                found = replace(found, reference=opened.reference)
        return found

    async def _read_one(self, to: Destination) -> Target:
        async with self.uow() as uow:
            if to.kind == "dm":
                person = await uow.get(Person, to.id)
                if person is None or person.erased:
                    raise UnknownRecipient(f"person {to.id}")
                workspace = await uow.get(Workspace, person.workspace_id)
                ref = None
                if workspace is not None:  # the DM channel, saved with its first message
                    ref = await uow.conversations.find(workspace.platform, "person", to.id)
                return _person(person, workspace, ref.reference if ref is not None else None)
            team = await uow.get(Team, to.id)
            if team is None:
                raise UnknownRecipient(f"team {to.id}")
            return _team(team, await uow.get(Workspace, team.workspace_id))

    async def _save(self, opened: Sequence[ConversationRef]) -> None:
        if not opened:
            return
        try:
            async with self.uow() as uow:
                await uow.conversations.save_all(opened)
                await uow.commit()
        except Exception as exc:  # the next message to them opens the conversation again
            log.warning("saving %d new conversations failed: %s", len(opened), type(exc).__name__)

    async def __call__(self, item: OutboxMessage, to: Destination, message: Message) -> None:
        target = await self.target(to)
        metrics.ROW_PLATFORM.set(target.platform.value)  # the row's counters name its platform
        sender = self.senders.get(target.platform)
        if sender is None:
            raise UnknownRecipient(f"no sender for {target.platform}")
        opened = await sender(item, target, message)
        if opened is None:
            return
        if self._opened is None:  # not in a batch (no look-ahead): saved right away
            await self._save([opened])
        else:
            self._opened[(opened.platform, opened.scope, opened.owner_id)] = opened


async def _targets(uow: UnitOfWork, wanted: Collection[Destination]) -> list[Target]:
    """Those of `wanted` that can be reached: one left out (unknown, erased, or without its
    workspace) is looked up again by its own message, which then says why."""
    dms = {to.id for to in wanted if to.kind == "dm"}
    channels = {to.id for to in wanted if to.kind != "dm"}
    people = [p for p in await uow.directory.people_with_ids(dms) if not p.erased] if dms else []
    teams = await uow.directory.teams_with_ids(channels) if channels else []
    workspaces: dict[int, Workspace] = {}
    for workspace_id in sorted({p.workspace_id for p in people} | {t.workspace_id for t in teams}):
        workspace = await uow.get(Workspace, workspace_id)
        if workspace is not None:
            workspaces[workspace_id] = workspace
    people = [p for p in people if p.workspace_id in workspaces]
    on: dict[Platform, list[int]] = {}  # the people to reach on each platform
    for person in people:
        on.setdefault(workspaces[person.workspace_id].platform, []).append(person.id or 0)
    saved = {
        (ref.platform, ref.owner_id): ref.reference
        for platform, ids in on.items()
        for ref in await uow.conversations.find_all(platform, "person", ids)
    }
    targets = [_team(t, workspaces[t.workspace_id]) for t in teams if t.workspace_id in workspaces]
    for person in people:
        workspace = workspaces[person.workspace_id]
        reference = saved.get((workspace.platform, person.id or 0))
        targets.append(_person(person, workspace, reference))
    return targets


def _person(person: Person, workspace: Workspace | None, reference: Any) -> Target:
    assert workspace is not None and person.id is not None
    return Target(
        workspace.platform,
        workspace.external_id,
        "dm",
        person.id,
        person.platform_id,
        person.locale,
        person.display_name,
        reference,
    )


def _team(team: Team, workspace: Workspace | None) -> Target:
    assert workspace is not None and team.id is not None
    return Target(
        workspace.platform,
        workspace.external_id,
        "channel",
        team.id,
        team.channel_id,
        workspace.locale,
        team.name,
    )
