"""The one entry point for adapters: a neutral event in, an `Outcome` out.

Each event is handled in one transaction. A retried delivery (same event key) has no second
effect; a refusal rolls everything back and answers politely in the person's language. Which
words, buttons and forms lead to which flow is declared by each capability's router
(`handlers/conversation.py`); this module includes them and dispatches.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

from handlers import (
    assist,
    commitments,
    contributions,
    dashboard,
    discussion,
    exports,
    home,
    intake,
    nudges,
    overview,
    people,
    sessions,
    systems,
    themes,
    votes,
)
from handlers.context import Context, Refusal
from handlers.conversation import HELP, Conversation, Router
from handlers.etiquette import NudgePolicy
from handlers.loops import Bounds
from handlers.messages import (
    ActionTaken,
    Bullets,
    Command,
    Destination,
    Event,
    FormSubmitted,
    Heading,
    Installed,
    Message,
    Outcome,
    Reply,
    Text,
    To,
    Typed,
    message,
    outbox_row,
)
from handlers.model import InboundEvent, Platform, Role
from handlers.ports import (
    NO_ROSTER,
    Clock,
    Conflict,
    Delivery,
    Roster,
    UnitOfWork,
    UnitOfWorkFactory,
)
from prompts.catalog import t

CONFLICT_RETRIES = 2
DOUBLE_CLICK = timedelta(seconds=2)  # the same click again within this counts once
# Handling a delivery takes milliseconds; one whose worker died waits this long for another.
# (A worker that starts again takes its own back at once.)
INTAKE_LEASE = timedelta(seconds=30)
# A worker's own delivery whose handling failed (the database went away) is tried again this
# long after, rather than when its lease runs out.
INTAKE_RETRY = timedelta(seconds=2)
INTAKE_ATTEMPTS = 5  # a delivery that failed this often is logged and let go, not retried forever
# The roster of one workspace (platform -> this), for deliveries handled after their request:
# with "Add to Slack" each workspace's members are asked for with its own token.
WorkspaceRoster = Callable[[str], Awaitable[Roster]]

log = logging.getLogger(__name__)

core = Router()


@core.command(HELP, in_dm=True)
async def _help(ctx: Context, _args: str) -> None:
    ctx.reply(help_message(ctx))


@core.action("form")
async def _open_form(ctx: Context, value: str) -> None:
    """A button that opens a form: `{"form": id, "context": …}` (platforms show a dialog)."""
    try:
        ref = json.loads(value)
        form_id, context = str(ref["form"]), str(ref.get("context", ""))
    except (ValueError, KeyError, TypeError):
        raise Refusal("errors.unknown_action") from None
    spec = CONVERSATION.forms.get(form_id)
    if spec is None:
        raise Refusal("errors.unknown_action")
    if spec.role == Role.COORDINATOR:
        ctx.require_coordinator()
    ctx.open(await spec.build(ctx, context))


# The order of the routers is the order of the help text.
CONVERSATION = Conversation(
    (
        core,
        people.router,
        sessions.router,
        contributions.router,
        themes.router,
        votes.router,
        discussion.router,
        commitments.router,
        systems.router,
        overview.router,
        nudges.router,
        exports.router,
        assist.router,
        home.router,
        dashboard.router,
    )
)


def help_message(ctx: Context) -> Message:
    lang = ctx.lang
    listed = CONVERSATION.listed(Role.PARTICIPANT)
    lines = tuple(t(lang, f"help.commands.{c.name}") for c in listed)
    blocks: list = [Heading(t(lang, "help.heading")), Text(t(lang, "help.intro")), Bullets(lines)]
    if ctx.coordinating:
        coordinating = CONVERSATION.listed(Role.COORDINATOR)
        blocks.append(Heading(t(lang, "help.coordinator_heading")))
        blocks.append(Bullets(tuple(t(lang, f"help.commands.{c.name}") for c in coordinating)))
    return message(*blocks)


class Coulisse:
    """Platform-free handling of everything people do."""

    conversation = CONVERSATION

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        bounds: Bounds | None = None,
        policy: NudgePolicy | None = None,
        *,
        assistant: bool = False,
        defaults: people.WorkspaceDefaults | None = None,
        worker: str = "local",
        concurrency: int = 8,
        retention_days: int = 730,
    ) -> None:
        self.uow_factory = uow_factory
        self.worker = worker  # this process's stable name, for the deliveries it keeps
        # Events handled at once. The rest wait their turn (they are kept): a burst of clicks
        # must not take every database connection, nor the event loop, from the next ack.
        self._handling = asyncio.Semaphore(concurrency)
        self._keeper = intake.Keeper(uow_factory)
        self._replying: set[int] = set()  # handled, their replies being given by the adapter
        self.defaults = defaults or people.WorkspaceDefaults()
        self.clock = clock
        self.bounds = bounds or Bounds()
        self.policy = policy or NudgePolicy()
        self.assistant = assistant  # an LLM is configured (teams may still turn it off)
        self.retention_days = retention_days  # what the privacy text says, and the purge keeps

    async def receive(self, event: Event) -> int | None:
        """Keep a delivery before the platform hears that it arrived, in a transaction of its
        own: its id, for `handle`; None when the same delivery is already waiting. Raises when
        the database cannot keep it: then the platform must not get its 200."""
        now = self.clock.now()
        key = intake.key_of(event) or f"local:{uuid.uuid4()}"
        kept = (key[:255], event.actor.platform, intake.encode(event), now, self.worker,
                now + INTAKE_LEASE)  # fmt: skip
        return await self._keeper.keep(kept)

    async def handle(
        self,
        event: Event,
        *,
        roster: Roster = NO_ROSTER,
        delivery: int | None = None,
        queue_replies: bool = False,
    ) -> Outcome:
        """`roster` says who is in a channel, for decisions that need it (a new session's
        people when none were chosen, the members of a team the bot was just added to).
        `delivery`: the kept delivery (`receive`). The transaction with the effect keeps the
        replies with it; the adapter gives them, then says so (`replied`). `queue_replies`:
        no request to answer any more, the replies go to the outbox in that transaction."""
        try:
            return await self._handle_in_turn(event, roster, delivery, queue_replies)
        finally:
            if delivery not in self._replying:
                self._keeper.busy.discard(delivery or 0)

    async def replied(self, delivery: int | None) -> None:
        """The adapter gave the replies of this delivery's outcome (or handed what the
        platform would not take to `later`): its row goes, with the next batch the keeper
        writes. Not called when giving them failed: the intake tick then queues them once the
        lease runs out. A kill between the reply and the row's removal sends them once more,
        through the outbox: an adapter that awaits this before the platform's 200 keeps that
        to the events being handled at the kill."""
        if delivery in self._replying:
            self._replying.discard(delivery)
            await self._keeper.answered(delivery)

    async def _handle_in_turn(
        self, event: Event, roster: Roster, delivery: int | None, queue: bool
    ) -> Outcome:
        async with self._handling:
            for _attempt in range(CONFLICT_RETRIES):
                try:
                    return await self._handle_once(event, roster, delivery, queue)
                except Conflict:
                    log.info("a concurrent event stored the same first; trying again")
            return await self._handle_once(event, roster, delivery, queue)

    async def _handle_once(
        self, event: Event, roster: Roster, delivery: int | None, queue: bool
    ) -> Outcome:
        async with self.uow_factory() as uow:
            if event.event_key and not await self._first(uow, event):
                log.info("duplicate delivery ignored")
                if delivery is not None:
                    await uow.intake.done(delivery)
                    await uow.commit()
                return Outcome(duplicate=True, event_key=event.event_key)
            ctx = await people.resolve(
                uow, self.clock, event.actor, event.place, self.bounds, self.defaults
            )
            ctx.policy = self.policy
            ctx.assistant = self.assistant
            ctx.retention_days = self.retention_days
            ctx.roster = roster
            lang, person_id = ctx.lang, ctx.person.id
            team_id = ctx.team.id if ctx.team is not None else None
            try:
                await self._dispatch(ctx, event)
            except Refusal as refusal:
                await uow.rollback()
                text = Text(t(lang, refusal.key, **refusal.params))
                reply = Reply(To.ACTOR, Message((text,)))
                refused = Outcome((reply,), lang, person_id, team_id, True, False, event.event_key)
                if delivery is not None:  # a polite no is an answer too: handled
                    replying = await self._settle(uow, delivery, refused, queue)
                    await uow.commit()
                    if replying:
                        self._replying.add(delivery)
                return refused
            # The person may have chosen another language, or joined a team, just now.
            lang = ctx.lang
            team_id = ctx.team.id if ctx.team is not None else team_id
            replies = tuple(ctx.replies)
            outcome = Outcome(replies, lang, person_id, team_id, False, False, event.event_key)
            replying = delivery is not None and await self._settle(uow, delivery, outcome, queue)
            await uow.commit()
            if replying and delivery is not None:
                self._replying.add(delivery)
            return outcome

    async def _settle(self, uow: UnitOfWork, delivery: int, outcome: Outcome, queue: bool) -> bool:
        """In the transaction with the effect: the delivery goes if nothing is left to say or
        its replies are queued here (`queue`); else it stays, with them, until `replied`
        (True). Not a second transaction: the same row, updated instead of deleted."""
        rows = self._fallbacks(outcome)
        if queue:
            for row in intake.outbox_rows(rows, self.clock.now()):
                await uow.outbox.enqueue(row)
        if queue or not rows:
            await uow.intake.done(delivery)
            return False
        await uow.intake.replying(delivery, rows, self.clock.now() + INTAKE_LEASE)
        return True

    def _fallbacks(self, outcome: Outcome) -> list[dict[str, Any]]:
        """The outcome's replies as the outbox would send them if the request they answer is
        gone: to the person's DM, or the channel; not the message acted on (not ours to reach
        any more). A Slack ephemeral can only become a DM: it needs the person looking at
        the channel, and a response URL expires (30 minutes, five uses)."""
        rows = []
        for index, reply in enumerate(outcome.replies):
            to = self._destination(outcome, reply)
            if reply.to != To.ACTED_ON and to is not None:
                rows.append(intake.encode_reply(to, reply.message, self._reply_key(outcome, index)))
        return rows

    @staticmethod
    def _destination(outcome: Outcome, reply: Reply) -> Destination | None:
        if reply.to == To.CHANNEL:
            return Destination.channel(outcome.team_id) if outcome.team_id else None
        return Destination.dm(outcome.person_id) if outcome.person_id else None

    @staticmethod
    def _reply_key(outcome: Outcome, index: int) -> str:
        return f"reply:{outcome.event_key or 'local:' + str(uuid.uuid4())}:{index}"

    async def _first(self, uow: UnitOfWork, event: Event) -> bool:
        """Whether this event has its effect: a delivery once, a click once per moment."""
        platform = Platform(event.actor.platform)
        if isinstance(event, ActionTaken | FormSubmitted) and event.clicked_at is not None:
            clicked = InboundEvent(event.event_key, platform, event.clicked_at)
            return await uow.inbox.record_within(clicked, DOUBLE_CLICK)
        return await uow.inbox.record(InboundEvent(event.event_key, platform, self.clock.now()))

    async def _dispatch(self, ctx: Context, event: Event) -> None:
        if isinstance(event, Typed):
            meant = self.conversation.interpret(event.text, event.place)
            await self._command(ctx, meant.name, meant.args)
        elif isinstance(event, Command):
            await self._command(ctx, event.name or HELP, event.args)
        elif isinstance(event, ActionTaken):
            action = self.conversation.actions.get(event.action_id)
            if action is None:
                raise Refusal("errors.unknown_action")
            if action.role == Role.COORDINATOR:
                ctx.require_coordinator()
            await action.flow(ctx, event.value)
        elif isinstance(event, FormSubmitted):
            form = self.conversation.forms.get(event.form_id)
            if form is None:
                raise Refusal("errors.unknown_action")
            if form.role == Role.COORDINATOR:
                ctx.require_coordinator()
            values = form.option_values({k: (v or "") for k, v in event.values.items()})
            await form.submit(ctx, values, event.context)
        elif isinstance(event, Installed):
            if event.place.kind == "dm":
                ctx.reply(help_message(ctx))  # a personal chat with the bot begins
            else:
                await people.installed(ctx)

    async def _command(self, ctx: Context, word: str, args: str) -> None:
        spec = self.conversation.command(word)
        if spec is None:
            ctx.say("help.unknown", command=word[:40])
            ctx.reply(help_message(ctx))
            return
        if spec.role == Role.COORDINATOR:
            ctx.require_coordinator()
        await spec.flow(ctx, args)

    async def handle_kept(
        self, *, rosters: Mapping[str, WorkspaceRoster] | None = None, limit: int = 50
    ) -> int:
        """Handle deliveries that were kept (and acknowledged) but not handled, or handled but
        not answered: their worker died, or the database went away in between. This worker's
        own it is not at now (from before it started again, or whose handling failed a moment
        ago), and any worker's whose lease ran out. Their answers go to the person's DM (or
        the channel) through the outbox: the request they answered is long gone. `rosters`:
        per platform, the roster of the delivery's workspace. How many were taken."""
        await self._keeper.flush()  # rows answered but not removed in a blip: before a claim
        now, busy = self.clock.now(), self._keeper.busy
        async with self.uow_factory() as uow:
            taken = await uow.intake.claim(
                now,
                self.worker,
                now + INTAKE_LEASE,
                limit,
                own_idle_since=now + INTAKE_LEASE - INTAKE_RETRY,
                busy=tuple(busy),
            )
            await uow.commit()
        busy.update(kept.id for kept in taken)
        for kept in taken:
            try:
                await self._handle_kept(kept, rosters or {})
            except Exception:  # tried again in a moment, a few times
                log.exception("a kept delivery could not be handled (attempt %d)", kept.attempts)
            finally:
                busy.discard(kept.id)
        return len(taken)

    async def _handle_kept(self, kept: Delivery, rosters: Mapping[str, WorkspaceRoster]) -> None:
        self._replying.discard(kept.id)  # its worker (this one, perhaps) gave up on them
        if kept.replies is not None:  # handled; its worker died before it answered
            async with self.uow_factory() as uow:
                for row in intake.outbox_rows(kept.replies, self.clock.now()):
                    await uow.outbox.enqueue(row)
                await uow.intake.done(kept.id)
                await uow.commit()
            return
        if kept.attempts > INTAKE_ATTEMPTS:
            log.error("a kept delivery failed %d times and is let go", kept.attempts - 1)
            async with self.uow_factory() as uow:
                await uow.intake.done(kept.id)
                await uow.commit()
            return
        event = intake.decode(kept.event)
        of_workspace = rosters.get(event.actor.platform)
        roster = await of_workspace(event.actor.workspace) if of_workspace else NO_ROSTER
        await self.handle(event, roster=roster, delivery=kept.id, queue_replies=True)

    async def later(self, outcome: Outcome, reply: Reply, index: int, wait: float = 0.0,
                    skip: int = 0) -> bool:  # fmt: skip
        """A reply the platform would not take now goes through the outbox, which paces and
        retries: the one fallback for every adapter. An answer to the actor goes to their direct
        messages, a post for the channel to the channel. `skip`: how many of its parts already
        went out. False: nowhere to send it."""
        to = self._destination(outcome, reply)
        if to is None:
            return False
        async with self.uow_factory() as uow:
            await uow.outbox.enqueue(
                outbox_row(
                    to,
                    reply.message,
                    kind="reply",
                    dedupe_key=self._reply_key(outcome, index),
                    due_at=self.clock.now() + timedelta(seconds=wait),
                    skip=skip,
                )
            )
            await uow.commit()
        return True
