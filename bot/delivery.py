"""Routes an outbox message to the sender of the platform its recipient is on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot import metrics
from handlers.messages import Destination, Message
from handlers.model import OutboxMessage, Person, Platform, Team, Workspace
from handlers.ports import UnitOfWorkFactory


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


PlatformSend = Callable[[OutboxMessage, Target, Message], Awaitable[None]]


class UnknownRecipient(Exception):
    pass


class Delivery:
    def __init__(self, uow: UnitOfWorkFactory, senders: dict[Platform, PlatformSend]) -> None:
        self.uow = uow
        self.senders = senders

    async def target(self, to: Destination) -> Target:
        async with self.uow() as uow:
            if to.kind == "dm":
                person = await uow.get(Person, to.id)
                if person is None or person.erased:
                    raise UnknownRecipient(f"person {to.id}")
                workspace = await uow.get(Workspace, person.workspace_id)
                address, locale, name = person.platform_id, person.locale, person.display_name
            else:
                team = await uow.get(Team, to.id)
                if team is None:
                    raise UnknownRecipient(f"team {to.id}")
                workspace = await uow.get(Workspace, team.workspace_id)
                address, name = team.channel_id, team.name
                locale = workspace.locale if workspace else "nl"
        assert workspace is not None
        return Target(
            workspace.platform, workspace.external_id, to.kind, to.id, address, locale, name
        )

    async def __call__(self, item: OutboxMessage, to: Destination, message: Message) -> None:
        target = await self.target(to)
        metrics.ROW_PLATFORM.set(target.platform.value)  # the row's counters name its platform
        sender = self.senders.get(target.platform)
        if sender is None:
            raise UnknownRecipient(f"no sender for {target.platform}")
        await sender(item, target, message)
