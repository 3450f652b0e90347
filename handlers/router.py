"""The one entry point for adapters: a neutral event in, the replies to the actor out.

Each event is handled in one transaction. A retried delivery (same event key) has no second
effect; a refusal rolls everything back and answers politely in the person's language.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from handlers import (
    assist,
    commitments,
    contributions,
    exports,
    home,
    nudges,
    overview,
    people,
    round_prompts,
    sessions,
    systems,
    themes,
    votes,
)
from handlers.context import Context, Refusal
from handlers.etiquette import NudgePolicy
from handlers.lookup import require_open_round, require_running_session
from handlers.loops import Bounds
from handlers.messages import (
    ActionTaken,
    Bullets,
    Command,
    Event,
    Form,
    FormSubmitted,
    Heading,
    Message,
    Text,
    message,
)
from handlers.model import InboundEvent, Platform, RoundKind
from handlers.ports import Clock, Conflict, UnitOfWorkFactory
from prompts.catalog import LANGUAGES, t, words

CONFLICT_RETRIES = 2

log = logging.getLogger(__name__)

Flow = Callable[[Context, str], Awaitable[None]]

PARTICIPANT_COMMANDS = (
    "help", "join", "status", "my", "add", "vote", "unvote", "merge", "rename", "commit", "checkin",
    "link", "unlink", "combine", "map", "actor", "force", "summary", "pause", "resume", "tz",
    "quiet", "lang", "privacy", "forget-me",
)  # fmt: skip
COORDINATOR_COMMANDS = ("new", "start", "next", "end", "role", "export", "assistant")
HIDDEN_COMMANDS = ("home",)  # asked for by platforms (Slack's App Home), not typed


def canonical_command(word: str) -> str | None:
    """The command meant by `word`, in Dutch or English (`nieuw` -> `new`)."""
    word = word.strip().lstrip("/").casefold()
    for name in (*PARTICIPANT_COMMANDS, *COORDINATOR_COMMANDS, *HIDDEN_COMMANDS):
        if word == name:
            return name
        for lang in LANGUAGES:
            if word in words(lang, f"commands.aliases.{name}"):
                return name
    return None


async def _board(ctx: Context, _args: str) -> None:
    session, rnd = await require_open_round(ctx, (RoundKind.GROUP,))
    ctx.reply(await themes.board(ctx, session, rnd))


async def _new(ctx: Context, _args: str) -> None:
    ctx.require_coordinator()
    ctx.reply(message(sessions.new_session_form(ctx.lang)))


async def _commit(ctx: Context, args: str) -> None:
    if args.strip():
        raise Refusal("errors.commit_use_form")
    ctx.reply(message(commitments.commitment_form(ctx.lang)))


def _form_only(form: Callable[[str], Form]) -> Flow:
    """A command that is filled in as a form: without fields it shows the form."""

    async def run(ctx: Context, args: str) -> None:
        if args.strip():
            raise Refusal("errors.use_the_form")
        ctx.reply(message(form(ctx.lang)))

    return run


def _no_args(flow: Callable[[Context], Awaitable[None]]) -> Flow:
    async def run(ctx: Context, _args: str) -> None:
        await flow(ctx)

    return run


async def _help(ctx: Context, _args: str) -> None:
    ctx.reply(help_message(ctx))


async def _link(ctx: Context, args: str) -> None:
    session = await require_running_session(ctx)
    if not args.strip():
        ctx.reply(message(await systems.link_form(ctx)))
        return
    await systems.add_links_from_text(ctx, session, args)


async def _open_form(ctx: Context, value: str) -> None:
    """A button that opens a form: `{"form": id, "context": …}` (platforms show a dialog)."""
    try:
        ref = json.loads(value)
        form_id, context = str(ref["form"]), str(ref.get("context", ""))
    except (ValueError, KeyError, TypeError):
        raise Refusal("errors.unknown_action") from None
    lang = ctx.lang
    if form_id == "contribute":
        _session, rnd = await require_open_round(
            ctx, (RoundKind.CHECKIN, RoundKind.REFLECT, RoundKind.CAUSAL, RoundKind.OVERVIEW)
        )
        if context and context != str(rnd.id):
            raise Refusal("errors.round_closed")
        ctx.reply(message(round_prompts.contribute_form(lang, rnd)))
    elif form_id in STATIC_FORMS:
        ctx.reply(message(STATIC_FORMS[form_id](lang)))
    elif form_id == "link":
        await require_running_session(ctx)
        ctx.reply(message(await systems.link_form(ctx)))
    else:
        raise Refusal("errors.unknown_action")


STATIC_FORMS: dict[str, Callable[[str], Form]] = {
    "commit": commitments.commitment_form,
    "actor": overview.actor_form,
    "force": overview.force_form,
    "new_session": sessions.new_session_form,
}


COMMANDS: dict[str, Flow] = {
    "help": _help,
    "join": _no_args(people.join),
    "new": _new,
    "start": _no_args(sessions.start),
    "next": _no_args(sessions.advance),
    "end": _no_args(sessions.end),
    "status": _no_args(sessions.status),
    "summary": _no_args(sessions.summary),
    "my": _no_args(commitments.my_commitments),
    "pause": _no_args(people.pause),
    "forget-me": _no_args(people.forget_me),
    "privacy": _no_args(people.privacy),
    "tz": people.set_timezone,
    "quiet": people.set_quiet_hours,
    "resume": _no_args(people.resume),
    "lang": people.set_language,
    "role": people.set_role,
    "add": contributions.contribute,
    "themes": _board,
    "merge": themes.merge,
    "rename": themes.rename,
    "vote": votes.cast,
    "unvote": lambda ctx, args: votes.cast(ctx, args, remove=True),
    "commit": _commit,
    "checkin": commitments.check_in,
    "link": _link,
    "unlink": systems.remove_link,
    "combine": systems.combine_factors,
    "map": _no_args(systems.show_map),
    "home": _no_args(home.home),
    "actor": _form_only(overview.actor_form),
    "force": _form_only(overview.force_form),
    "export": exports.export,
    "assistant": assist.set_assistant,
}

ACTIONS: dict[str, Flow] = {
    "vote": votes.cast,
    "checkin": commitments.check_in,
    "new": _new,
    "commit": _commit,
    "weaken": overview.weaken,
    "snooze": nudges.snooze,
    "form": _open_form,
    "export_file": exports.confirm,
    "export_declined": exports.declined,
    "suggestion": assist.decide,
}


def help_message(ctx: Context) -> Message:
    lang = ctx.lang
    lines = tuple(t(lang, f"help.commands.{name}") for name in PARTICIPANT_COMMANDS)
    blocks: list = [Heading(t(lang, "help.heading")), Text(t(lang, "help.intro")), Bullets(lines)]
    if ctx.membership is not None and ctx.membership.role.value == "coordinator":
        blocks.append(Heading(t(lang, "help.coordinator_heading")))
        blocks.append(Bullets(tuple(t(lang, f"help.commands.{n}") for n in COORDINATOR_COMMANDS)))
    return message(*blocks)


class Coulisse:
    """Platform-free handling of everything people do."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        bounds: Bounds | None = None,
        policy: NudgePolicy | None = None,
        *,
        assistant: bool = False,
    ) -> None:
        self.uow_factory = uow_factory
        self.clock = clock
        self.bounds = bounds or Bounds()
        self.policy = policy or NudgePolicy()
        self.assistant = assistant  # an LLM is configured (teams may still turn it off)

    async def handle(self, event: Event) -> list[Message]:
        for _attempt in range(CONFLICT_RETRIES):
            try:
                return await self._handle_once(event)
            except Conflict:
                log.info("a concurrent event stored the same first; trying again")
        return await self._handle_once(event)

    async def _handle_once(self, event: Event) -> list[Message]:
        async with self.uow_factory() as uow:
            if event.event_key and not await uow.inbox.record(
                InboundEvent(event.event_key, Platform(event.actor.platform), self.clock.now())
            ):
                log.info("duplicate delivery ignored")
                return []
            ctx = await people.resolve(uow, self.clock, event.actor, event.place, self.bounds)
            ctx.policy = self.policy
            ctx.assistant = self.assistant
            try:
                await self._dispatch(ctx, event)
            except Refusal as refusal:
                lang = ctx.lang  # read before the rollback expires the person
                await uow.rollback()
                text = Text(t(lang, refusal.key, **refusal.params))
                return [Message((text,), refused=True)]
            await uow.commit()
            return ctx.replies

    async def _dispatch(self, ctx: Context, event: Event) -> None:
        if isinstance(event, Command):
            name = canonical_command(event.name)
            if name is None:
                ctx.say("help.unknown", command=event.name[:40])
                ctx.reply(help_message(ctx))
                return
            await COMMANDS[name](ctx, event.args)
        elif isinstance(event, ActionTaken):
            flow = ACTIONS.get(event.action_id)
            if flow is None:
                raise Refusal("errors.unknown_action")
            await flow(ctx, event.value)
        elif isinstance(event, FormSubmitted):
            await self._form(ctx, event)

    async def _form(self, ctx: Context, event: FormSubmitted) -> None:
        values = {k: (v or "") for k, v in event.values.items()}
        if event.form_id == "new_session":
            await sessions.create(ctx, values)
        elif event.form_id == "commit":
            made = await commitments.commit(ctx, values)
            await nudges.plan_check_ins(ctx.uow, made, ctx.now, ctx.policy)
        elif event.form_id == "link":
            await systems.add_link_from_form(ctx, await require_running_session(ctx), values)
        elif event.form_id == "actor":
            await overview.add_actor(ctx, values)
        elif event.form_id == "force":
            await overview.add_force(ctx, values)
        elif event.form_id == "contribute":
            await contributions.contribute(
                ctx, values.get("text", ""), values.get("category", ""), event.context
            )
        else:
            raise Refusal("errors.unknown_action")
