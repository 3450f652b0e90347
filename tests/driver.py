"""Drives the bot the way an adapter does: neutral events in, replies and outbox out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from bot.outbox import OutboxDispatcher
from bot.wiring import App
from handlers.messages import (
    ActionTaken,
    Actor,
    Bullets,
    Choices,
    Command,
    Destination,
    Fields,
    Form,
    FormSubmitted,
    Heading,
    Message,
    Place,
    Quote,
    Text,
)
from handlers.model import OutboxMessage
from handlers.when import day_text
from prompts.catalog import t


def plain(message: Message) -> str:
    """All the words of a message, one block a line, unwrapped."""
    lines: list[str] = []
    for block in message.blocks:
        if isinstance(block, Heading | Text | Quote):
            lines.append(block.text)
        elif isinstance(block, Bullets):
            lines += block.items
        elif isinstance(block, Fields):
            lines += [f"{label}: {value}" for label, value in block.pairs]
        elif isinstance(block, Choices):
            lines += [f"[{a.label}]" for a in block.actions]
        elif isinstance(block, Form):
            lines.append(block.title)
    return "\n".join(lines)


@dataclass
class Sent:
    kind: str
    to: Destination
    text: str
    message: Message


@dataclass
class Driver:
    app: App
    channel: str = "team-noord"
    lang: str = "nl"
    organisations: dict[str, str] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)

    def actor(self, name: str) -> Actor:
        return Actor(
            "console", "ws", name.lower(), name, self.organisations.get(name, ""), self.lang
        )

    @property
    def place(self) -> Place:
        return Place("channel", self.channel, self.channel)

    @staticmethod
    def text(messages: list[Message]) -> str:
        return "\n".join(plain(m) for m in messages)

    async def cmd(self, who: str, name: str, args: str = "", key: str = "") -> str:
        outcome = await self.app.coulisse.handle(
            Command(name, self.actor(who), self.place, args=args, event_key=key)
        )
        return self.text(outcome.messages)

    async def form(self, who: str, form_id: str, key: str = "", **values: str) -> str:
        outcome = await self.app.coulisse.handle(
            FormSubmitted(form_id, values, self.actor(who), self.place, event_key=key)
        )
        return self.text(outcome.messages)

    async def action(self, who: str, action_id: str, value: str, key: str = "") -> str:
        outcome = await self.app.coulisse.handle(
            ActionTaken(action_id, value, self.actor(who), self.place, event_key=key)
        )
        return self.text(outcome.messages)

    async def deliver(self) -> list[Sent]:
        """Send what is due through a recording sender; returns what went out now."""
        new: list[Sent] = []

        async def record(item: OutboxMessage, to: Destination, message: Message) -> None:
            new.append(Sent(item.kind, to, plain(message), message))

        clock = self.app.coulisse.clock
        await OutboxDispatcher(
            self.app.outbox, record, clock, prepare=self.app.prepare_nudge
        ).drain()
        self.sent += new
        return new

    async def count(self, table: str) -> int:
        async with self.app.engine.connect() as conn:
            return int((await conn.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar_one())

    async def snapshot(self) -> dict[str, int]:
        tables = ["sessions", "rounds", "contributions", "themes", "votes", "commitments",
                  "check_ins", "factors", "links", "outbox", "memberships"]  # fmt: skip
        return {t: await self.count(t) for t in tables}


async def team_of(driver: Driver, coordinator: str, *others: str) -> None:
    """Everyone joins the channel; the first becomes coordinator."""
    for name in (coordinator, *others):
        await driver.cmd(name, "join")


def recorded(lang: str, number: int, text: str, due: str, mode: str = "co_produce") -> str:
    """The catalog's "commitment noted" reply, as the bot says it (the date in words)."""
    return t(
        lang,
        "commitments.recorded",
        number=number,
        text=text,
        due=day_text(lang, date.fromisoformat(due)),
        mode=t(lang, f"commitments.modes.{mode}"),
    )


async def started_session(driver: Driver, fmt: str = "retro", **values: str) -> None:
    await team_of(driver, "Sanne", "Ahmed", "Fleur", "Joost")
    reply = await driver.form(
        "Sanne", "new_session", format=fmt, title="Wijk Noord", question="Wat nu?", **values
    )
    assert "staat klaar" in reply, reply
    assert "is begonnen" in await driver.cmd("Sanne", "start")
