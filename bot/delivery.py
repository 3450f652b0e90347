"""Routes an outbox message to the sender of the platform its recipient is on."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot import metrics
from handlers.messages import Destination, Message, decode_destination
from handlers.model import OutboxMessage, Person, Platform, Team, Workspace
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


PlatformSend = Callable[[OutboxMessage, Target, Message], Awaitable[None]]


class UnknownRecipient(Exception):
    pass


class Delivery:
    def __init__(self, uow: UnitOfWorkFactory, senders: dict[Platform, PlatformSend]) -> None:
        self.uow = uow
        self.senders = senders
        self._ahead: dict[Destination, Target] = {}

    async def look_ahead(self, items: Sequence[OutboxMessage]) -> None:
        """The recipients of a claimed batch, read in one transaction rather than one each:
        at most a batch's seconds old when their message goes (a person erased meanwhile was
        erased with their pending rows too)."""
        ahead: dict[Destination, Target] = {}
        try:
            async with self.uow() as uow:
                workspaces: dict[int, Workspace | None] = {}
                for to in {decode_destination(item.destination) for item in items}:
                    with contextlib.suppress(UnknownRecipient):  # its message says so itself
                        ahead[to] = await self._target(uow, to, workspaces)
        except Exception as exc:  # a blip: each message looks its recipient up itself
            log.warning("reading a batch's recipients failed: %s", type(exc).__name__)
        self._ahead = ahead

    async def target(self, to: Destination) -> Target:
        ahead = self._ahead.pop(to, None)
        if ahead is not None:
            return ahead
        async with self.uow() as uow:
            return await self._target(uow, to, {})

    async def _target(
        self, uow: UnitOfWork, to: Destination, workspaces: dict[int, Workspace | None]
    ) -> Target:
        """`workspaces`: those this transaction read (its session forgets an object that
        nobody holds, and would read it again for every person)."""

        async def workspace_of(workspace_id: int) -> Workspace | None:
            if workspace_id not in workspaces:
                workspaces[workspace_id] = await uow.get(Workspace, workspace_id)
            return workspaces[workspace_id]

        reference = None
        if to.kind == "dm":
            person = await uow.get(Person, to.id)
            if person is None or person.erased:
                raise UnknownRecipient(f"person {to.id}")
            workspace = await workspace_of(person.workspace_id)
            address, locale, name = person.platform_id, person.locale, person.display_name
            if workspace is not None:  # the DM channel, saved with its first message
                ref = await uow.conversations.find(workspace.platform, "person", to.id)
                reference = ref.reference if ref is not None else None
        else:
            team = await uow.get(Team, to.id)
            if team is None:
                raise UnknownRecipient(f"team {to.id}")
            workspace = await workspace_of(team.workspace_id)
            address, name = team.channel_id, team.name
            locale = workspace.locale if workspace else "nl"
        assert workspace is not None
        return Target(
            workspace.platform,
            workspace.external_id,
            to.kind,
            to.id,
            address,
            locale,
            name,
            reference,
        )

    async def __call__(self, item: OutboxMessage, to: Destination, message: Message) -> None:
        target = await self.target(to)
        metrics.ROW_PLATFORM.set(target.platform.value)  # the row's counters name its platform
        sender = self.senders.get(target.platform)
        if sender is None:
            raise UnknownRecipient(f"no sender for {target.platform}")
        await sender(item, target, message)
