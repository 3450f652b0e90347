"""The console adapter: typed lines become neutral events; the bot's answers and the outbox
(channel posts and direct messages) are printed. Everything the chat platforms offer is here:
slash-like commands, forms as `;`-separated fields, buttons as commands."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.attachments import Attachments, NothingToExport
from bot.console.render import CONSOLE_FIELDS, render
from bot.export.diagram import write_files
from bot.outbox import OutboxDispatcher
from bot.wiring import App
from handlers.commitments import commitment_form
from handlers.messages import (
    ActionTaken,
    Actor,
    Command,
    Destination,
    Diagram,
    Event,
    Export,
    Form,
    FormSubmitted,
    Message,
    Place,
    Text,
)
from handlers.model import OutboxMessage, Person, Team
from handlers.overview import actor_form, force_form
from handlers.ports import Clock
from handlers.router import ACTIONS, canonical_command
from handlers.sessions import new_session_form
from handlers.systems import parse_link
from prompts.catalog import t

WORKSPACE = "local"
# Commands that submit a form when given fields; their order is the form's own.
FORMS: dict[str, Callable[[str], Form]] = {
    "new": new_session_form,
    "commit": commitment_form,
    "actor": actor_form,
    "force": force_form,
}


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
        self.dispatcher = OutboxDispatcher(
            app.outbox, self._deliver, clock, prepare=app.prepare_nudge
        )

    @property
    def place(self) -> Place:
        return Place("channel", channel_id=self.team, channel_name=self.team)

    def parse(self, line: str) -> Event | Local | None:
        line = line.strip()
        if not line:
            return None
        if not line.startswith("/"):
            return Command("add", self._actor(), self.place, args=line)
        word, _, rest = line[1:].partition(" ")
        if word in ("as", "quit", "exit"):
            try:
                args = shlex.split(rest)
            except ValueError:
                args = rest.split()
            return Local(word, args)
        name = canonical_command(word) or word
        if name in ACTIONS and canonical_command(word) is None:
            # A button, typed: "/weaken 3" presses the button with value 3.
            return ActionTaken(name, rest.strip(), self._actor(), self.place)
        if name == "link" and ";" in rest and not parse_link(rest.split(";")[0]):
            # The link form typed out: "/link from ; to ; + [; yes]" (text links have arrows).
            names: tuple[str, ...] = CONSOLE_FIELDS["link"]
            parts = [p.strip() for p in rest.split(";")]
            return FormSubmitted("link", form_values(names, parts), self._actor(), self.place)
        if name in FORMS and rest.strip():
            form = FORMS[name](self.lang)
            names = tuple(f.name for f in form.fields)
            parts = [p.strip() for p in rest.split(";")]
            return FormSubmitted(form.id, form_values(names, parts), self._actor(), self.place)
        return Command(name, self._actor(), self.place, args=rest.strip())

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
        if parsed is None:
            return True
        if isinstance(parsed, Local):
            return await self._local(parsed, event_key)
        if event_key:
            parsed = replace(parsed, event_key=event_key)
        replies = await self.app.coulisse.handle(parsed)
        assert self.actor is not None
        lang = await self._language_of(self.actor)
        # A message that updates the one acted on (a ballot) has no place to go in a terminal.
        shown = [r for r in replies if not r.replace]
        self._print(t(self.lang, "console.reply_to", name=self.actor.display_name), shown, lang)
        if isinstance(parsed, Command) and parsed.name == "help":
            self._say(t(lang, "console.console_help"))
        await self.dispatcher.drain()
        return True

    async def _local(self, local: Local, event_key: str) -> bool:
        if local.name in ("quit", "exit"):
            return False
        if not local.args:
            self._say(t(self.lang, "console.who_first"))
            return True
        self.act_as(local.args[0], " ".join(local.args[1:]))
        self._say(t(self.lang, "console.acting_as", name=local.args[0]))
        # Acting in the team's channel makes one a member, as joining a channel does.
        await self.handle_line("/join", event_key)
        return True

    def act_as(self, name: str, organisation: str = "") -> None:
        self.actor = Actor("console", WORKSPACE, name.casefold(), name, organisation, self.lang)

    async def _language_of(self, actor: Actor) -> str:
        """The language the person chose, for the console's own words around a reply."""
        async with self.app.uow() as uow:
            workspace = await uow.directory.workspace(actor.platform, actor.workspace)
            if workspace is None or workspace.id is None:
                return self.lang
            person = await uow.directory.person_by_platform_id(workspace.id, actor.user_id)
            return person.locale if person else self.lang

    async def _deliver(self, item: OutboxMessage, to: Destination, message: Message) -> None:
        async with self.app.uow() as uow:
            if to.kind == "dm":
                person = await uow.get(Person, to.id)
                name = person.display_name if person else "?"
                lang = person.locale if person else self.lang
            else:
                team = await uow.get(Team, to.id)
                label = t(self.lang, "console.channel", team=team.name if team else "?")
                lang = self.lang
        if to.kind == "dm" and any(isinstance(b, Export) for b in message.blocks):
            message = await self._saved(message, to.id, lang)
        if to.kind == "dm" and message == self._last_dm:
            self.out(f"  ── {t(self.lang, 'console.also_dm', name=name)} ──")
            return
        self._last_dm = message if to.kind == "dm" else None
        if to.kind == "dm":
            label = t(self.lang, "console.dm", name=name)
        self._print(label, [message], lang)

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
