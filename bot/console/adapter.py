"""The console adapter: typed lines become neutral events; the bot's answers and the outbox
(channel posts and direct messages) are printed. Everything the chat platforms offer is here:
a line with `/` is said to the bot in the team's channel, plain text is a direct message to
it; forms are `;`-separated fields, buttons are typed as `/button value`. Which words, forms and
buttons exist comes from the core's conversation."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from bot.attachments import Attachments, NothingToExport
from bot.console.clock import NotUnderstood, SettableClock, move_clock, target_of
from bot.console.render import render
from bot.delivery import Delivery, Target
from bot.export.diagram import write_files
from bot.outbox import OutboxDispatcher
from bot.wiring import App
from handlers.context import Refusal
from handlers.conversation import HELP
from handlers.messages import (
    ActionTaken,
    Actor,
    Diagram,
    Event,
    Export,
    FormSubmitted,
    Message,
    Outcome,
    Place,
    Text,
    To,
    Typed,
)
from handlers.model import OutboxMessage, Platform
from handlers.ports import Clock
from handlers.when import understood_text
from prompts.catalog import LANGUAGES, t, words

WORKSPACE = "local"
# `/clock +2d`, `/klok morgen 9:00`: console-only, its words in prompts/*/commands.yaml.
CLOCK_WORDS = frozenset(
    w.casefold() for lang in LANGUAGES for w in ("clock", *words(lang, "commands.aliases.clock"))
)


@dataclass
class Local:
    """A console-only instruction that never reaches the handlers."""

    name: str
    args: list[str] = field(default_factory=list)


def form_values(names: tuple[str, ...], parts: list[str]) -> dict[str, str]:
    """Positional fields first, then any `key=value` extras."""
    values: dict[str, str] = {}
    positional = [p for p in parts if "=" not in p.split(" ", 1)[0]]
    for name, value in zip(names, positional, strict=False):
        values[name] = value
    for part in parts:
        key, sep, value = part.partition("=")
        if sep and " " not in key.strip():
            values[key.strip()] = value.strip()
    return values


class Console:
    def __init__(
        self,
        app: App,
        clock: Clock,
        out: Callable[[str], None],
        *,
        team: str,
        lang: str,
        files: Path = Path("coulisse-maps"),
        exports: Path = Path("."),
    ) -> None:
        self.app = app
        self.files = files
        self.exports = exports  # where `export` writes the file a chat would send
        self.attachments = Attachments(app.uow, clock)
        self.clock = clock
        self.out = out
        self.team = team
        self.lang = lang
        self.actor: Actor | None = None
        self._last_dm: Message | None = None  # to fold identical DMs to several people
        self.conversation = app.coulisse.conversation
        delivery = Delivery(app.uow, {Platform.CONSOLE: self._deliver})
        self.dispatcher = OutboxDispatcher(app.outbox, delivery, clock, prepare=app.prepare_nudge)

    @property
    def place(self) -> Place:
        return Place("channel", channel_id=self.team, channel_name=self.team)

    def parse(self, line: str) -> Event | Local:
        line = line.strip()
        if not line.startswith("/"):
            return Typed(line, self._actor(), Place("dm"))  # the core decides: answer or not
        word, _, rest = line[1:].partition(" ")
        if word.casefold() in CLOCK_WORDS:
            return Local("clock", [rest])
        if word in ("as", "quit", "exit"):
            try:
                args = shlex.split(rest)
            except ValueError:
                args = rest.split()
            return Local(word, args)
        command = self.conversation.command(word)
        if command is None and word in self.conversation.actions:
            # A button, typed: "/weaken 3" presses the button with value 3.
            return ActionTaken(word, rest.strip(), self._actor(), self.place)
        if command is not None and command.form and command.typed_form(rest.strip()):
            # The form typed out, its fields in order: "/new title ; question ; retro".
            names = self.conversation.forms[command.form].fields(self.lang)
            parts = [p.strip() for p in rest.split(";")]
            return FormSubmitted(command.form, form_values(names, parts), self._actor(), self.place)
        return Typed(line, self._actor(), self.place)

    def _actor(self) -> Actor:
        if self.actor is None:
            raise LookupError("no actor")
        return self.actor

    async def handle_line(self, line: str, event_key: str = "") -> bool:
        """Handle one typed line; False when the person asked to stop."""
        try:
            parsed = self.parse(line)
        except LookupError:
            self._say(t(self.lang, "console.who_first"))
            return True
        if isinstance(parsed, Local):
            return await self._local(parsed, event_key)
        if event_key:
            parsed = replace(parsed, event_key=event_key)
        outcome = await self.app.coulisse.handle(parsed)
        assert self.actor is not None
        # A typed command was not said to a message: there is nothing to show in its place.
        self._show(outcome, self.actor.display_name, pressed=isinstance(parsed, ActionTaken))
        if (
            isinstance(parsed, Typed)
            and self.conversation.interpret(parsed.text, parsed.place).name == HELP
        ):
            self._say(t(outcome.lang or self.lang, "console.console_help"))
        await self.dispatcher.drain()
        return True

    def _show(self, outcome: Outcome, name: str, *, pressed: bool) -> None:
        lang = outcome.lang or self.lang
        for reply in outcome.replies:
            if reply.to == To.ACTED_ON and not pressed:
                continue
            if reply.to == To.ACTED_ON:
                label = t(self.lang, "console.updated")
            elif reply.to == To.CHANNEL:
                label = t(self.lang, "console.channel", team=self.team)
            else:
                label = t(self.lang, "console.reply_to", name=name)
            self._print(label, [reply.message], lang)

    async def _local(self, local: Local, event_key: str) -> bool:
        if local.name in ("quit", "exit"):
            return False
        if local.name == "clock":
            await self.move_clock(local.args[0] if local.args else "")
            return True
        if not local.args:
            self._say(t(self.lang, "console.who_first"))
            return True
        self.act_as(local.args[0], " ".join(local.args[1:]))
        self._say(t(self.lang, "console.acting_as", name=local.args[0]))
        # Acting in the team's channel makes one a member, as joining a channel does.
        await self.handle_line("/join", event_key)
        return True

    async def move_clock(self, text: str) -> None:
        """`/clock +2d`: the time moves on, and what falls due on the way happens."""
        zone = self.zone
        if not text.strip():
            self._say(t(self.lang, "console.clock_now", when=self._when(self.clock.now())))
            self._say(t(self.lang, "console.clock_help"))
            return
        if not isinstance(self.clock, SettableClock):
            self._say(t(self.lang, "console.clock_fixed"))
            return
        try:
            target = target_of(text, self.clock.now(), zone)
        except (NotUnderstood, Refusal):
            self._say(t(self.lang, "console.clock_help"))
            return
        if target < self.clock.now():
            self._say(t(self.lang, "console.clock_past", when=self._when(self.clock.now())))
            return
        stops = await move_clock(self.app, self.clock, target, self.dispatcher.drain)
        self._say(t(self.lang, "console.clock_moved", when=self._when(target), stops=stops))

    @property
    def zone(self) -> str:
        return self.app.coulisse.defaults.timezone  # the console's workspace's

    def _when(self, moment: datetime) -> str:
        return understood_text(self.lang, moment, self.zone)

    def act_as(self, name: str, organisation: str = "") -> None:
        self.actor = Actor("console", WORKSPACE, name.casefold(), name, organisation, self.lang)

    async def _deliver(self, item: OutboxMessage, to: Target, message: Message) -> None:
        if to.kind == "dm" and any(isinstance(b, Export) for b in message.blocks):
            message = await self._saved(message, to.owner_id, to.locale)
        if to.kind == "dm" and message == self._last_dm:
            self.out(f"  ── {t(self.lang, 'console.also_dm', name=to.name)} ──")
            return
        self._last_dm = message if to.kind == "dm" else None
        if to.kind == "dm":
            self._print(t(self.lang, "console.dm", name=to.name), [message], to.locale)
        else:
            self._print(t(self.lang, "console.channel", team=to.name), [message], self.lang)

    async def _saved(self, message: Message, person_id: int, lang: str) -> Message:
        """A file sent to a DM is written to the folder; the DM says where."""
        blocks = []
        for block in message.blocks:
            if not isinstance(block, Export):
                blocks.append(block)
                continue
            try:
                made = await self.attachments.make(block, person_id)
            except NothingToExport:
                blocks.append(Text(t(lang, "exporting.gone")))
                continue
            self.exports.mkdir(parents=True, exist_ok=True)
            path = self.exports / made.file.filename
            path.write_bytes(made.file.data)
            blocks += [Text(made.note)] if made.note else []
            blocks.append(Text(t(lang, "exporting.saved", path=str(path))))
        return Message(tuple(blocks))

    def _print(self, label: str, messages: list[Message], lang: str | None = None) -> None:
        for message in messages:
            self.out(f"  ── {label} ──")
            for line in render(message, lang or self.lang, self._draw):
                self.out(line)

    def _draw(self, diagram: Diagram) -> str:
        """The console shows a picture as the path of the file it wrote."""
        return ", ".join(str(p) for p in write_files(diagram, self.files))

    def _say(self, text: str) -> None:
        self.out(f"  {text}")
