"""The conversation contract: which words, buttons and forms lead to which flow.

Each capability module declares a `Router` next to its flows: its commands (their words in both
languages come from `prompts/*/commands.yaml`), the role each needs, whether the word typed in a
direct message is the command rather than an answer, its buttons and its forms. The core
(`handlers/router.py`) includes the routers; help, Slack's slash command, Teams' command list and
the console's typed forms are all read from here, so adding a command touches its own module and
`prompts/`, nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from handlers.context import Context
from handlers.messages import Form, Place, Select
from handlers.model import Role
from prompts.catalog import LANGUAGES, has, words

Flow = Callable[[Context, str], Awaitable[None]]
Submit = Callable[[Context, dict[str, str], str], Awaitable[None]]  # values, the form's context
Build = Callable[[Context, str], Awaitable[Form]]  # the form, for what it refers to
Accepts = Callable[[str], bool]

# The command every answer typed in a direct message is.
ANSWER = "add"
HELP = "help"


def _nothing(args: str) -> bool:
    return not args


def _anything(args: str) -> bool:
    return bool(args)


@dataclass(frozen=True)
class CommandSpec:
    name: str  # canonical (English); `commands.aliases.<name>` and `help.commands.<name>`
    flow: Flow
    role: Role = Role.PARTICIPANT
    # In a direct message, text that starts with this word is the command (not an answer) when
    # the rest is accepted by this: `pauze` alone, `taal en`; None: only as `/word`.
    in_dm: Accepts | None = None
    listed: bool = True  # in help and the platforms' command lists; False: asked by platforms
    form: str = ""  # the form this command shows
    # On the console, `/word a ; b` with these args submits the form typed out.
    typed_form: Accepts = _anything

    def words(self) -> tuple[str, ...]:
        key = f"commands.aliases.{self.name}"
        aliases = (w for lang in LANGUAGES if has(key) for w in words(lang, key))
        return tuple(dict.fromkeys((self.name, *aliases)))


@dataclass(frozen=True)
class ActionSpec:
    id: str
    flow: Flow
    role: Role = Role.PARTICIPANT


@dataclass(frozen=True)
class FormSpec:
    id: str
    build: Build
    submit: Submit
    role: Role = Role.PARTICIPANT
    # Shown without a context of the moment (the console types it out with these fields).
    static: Callable[[str], Form] | None = None
    typed_fields: tuple[str, ...] = ()  # when the typed shape differs from the form's fields

    def fields(self, lang: str) -> tuple[str, ...]:
        if self.typed_fields:
            return self.typed_fields
        return tuple(f.name for f in self.static(lang).fields) if self.static else ()

    def option_values(self, values: dict[str, str]) -> dict[str, str]:
        """A choice typed as its label in either language (`samen maken`, `Engels`) is the
        option's value (`co_create`, `en`): the hints people type from show labels, not keys."""
        if self.static is None:
            return values
        labels: dict[str, dict[str, str]] = {}
        for lang in LANGUAGES:
            for item in self.static(lang).fields:
                if isinstance(item, Select):
                    for option in item.options:
                        for label in (option.label, short_label(option.label)):
                            labels.setdefault(item.name, {})[label.casefold()] = option.value
        return {
            name: labels.get(name, {}).get(value.strip().casefold(), value)
            for name, value in values.items()
        }


def short_label(label: str) -> str:
    """A choice's label without its explanation ("live: in a meeting, …" -> "live",
    "Retro (start, stop, continue)" -> "Retro"): what people type, and the hints show."""
    return re.split(r"\s*[(:]", label, maxsplit=1)[0].strip() or label


def no_args(flow: Callable[[Context], Awaitable[None]]) -> Flow:
    """A flow that takes nothing after its word."""

    async def run(ctx: Context, _args: str) -> None:
        await flow(ctx)

    return run


def static_form(builder: Callable[[str], Form]) -> Build:
    async def build(ctx: Context, _context: str) -> Form:
        return builder(ctx.lang)

    return build


@dataclass
class Router:
    """One capability's part of the conversation."""

    commands: list[CommandSpec] = field(default_factory=list)
    actions: list[ActionSpec] = field(default_factory=list)
    forms: list[FormSpec] = field(default_factory=list)

    def command(
        self,
        name: str,
        *,
        role: Role = Role.PARTICIPANT,
        in_dm: Accepts | bool | None = None,
        listed: bool = True,
        form: str = "",
        typed_form: Accepts = _anything,
    ) -> Callable[[Flow], Flow]:
        """`in_dm=True`: the word alone in a DM is the command; a predicate: with these args."""
        accepts = _nothing if in_dm is True else (in_dm or None)

        def register(flow: Flow) -> Flow:
            self.commands.append(CommandSpec(name, flow, role, accepts, listed, form, typed_form))
            return flow

        return register

    def action(self, action_id: str, *, role: Role = Role.PARTICIPANT) -> Callable[[Flow], Flow]:
        def register(flow: Flow) -> Flow:
            self.actions.append(ActionSpec(action_id, flow, role))
            return flow

        return register

    def form(
        self,
        form_id: str,
        *,
        build: Build | Callable[[str], Form],
        role: Role = Role.PARTICIPANT,
        static: bool = False,
        typed_fields: tuple[str, ...] = (),
    ) -> Callable[[Submit], Submit]:
        """`static=True`: `build` takes only the language."""

        def register(submit: Submit) -> Submit:
            if static:
                builder: Callable[[str], Form] = build  # type: ignore[assignment]
                spec = FormSpec(form_id, static_form(builder), submit, role, builder, typed_fields)
            else:
                spec = FormSpec(form_id, build, submit, role, None, typed_fields)  # type: ignore[arg-type]
            self.forms.append(spec)
            return submit

        return register


@dataclass(frozen=True)
class Interpreted:
    """What typed text means: a command with its arguments (`known` False: no such word)."""

    name: str
    args: str
    known: bool = True


class Conversation:
    """Every router together: the one place that turns words into flows."""

    def __init__(self, routers: Iterable[Router]) -> None:
        self.commands: dict[str, CommandSpec] = {}
        self.actions: dict[str, ActionSpec] = {}
        self.forms: dict[str, FormSpec] = {}
        self._words: dict[str, str] = {}
        for router in routers:
            for command in router.commands:
                _add(self.commands, command.name, command)
                for word in command.words():
                    if self._words.setdefault(word.casefold(), command.name) != command.name:
                        raise ValueError(f"the word {word!r} is taken twice")
            for action in router.actions:
                _add(self.actions, action.id, action)
            for form in router.forms:
                _add(self.forms, form.id, form)
        for command in self.commands.values():
            if command.form and command.form not in self.forms:
                raise ValueError(f"{command.name} shows an unknown form {command.form}")

    def command(self, word: str) -> CommandSpec | None:
        """The command meant by `word`, in Dutch or English (`nieuw`, `/new`)."""
        name = self._words.get(word.strip().lstrip("/").casefold())
        return self.commands[name] if name else None

    def listed(self, role: Role) -> list[CommandSpec]:
        return [c for c in self.commands.values() if c.listed and c.role == role]

    def form_of_command(self, form_id: str) -> CommandSpec | None:
        return next((c for c in self.commands.values() if c.form == form_id), None)

    def interpret(self, text: str, place: Place) -> Interpreted:
        """The one rule for free text, on every platform.

        Addressed to the bot in a channel (a mention), the first word is the command. In a
        direct message text is an answer to the open round, unless it starts with `/`, or is a
        command word the command takes there (`pauze`, `taal en`). Empty or `?`: help.
        """
        stripped = text.strip()
        slash = stripped.startswith("/")
        word, _, rest = stripped.removeprefix("/").partition(" ")
        word, rest = word.strip(), rest.strip()
        if "\n" in word:
            word, _, more = word.partition("\n")
            rest = f"{more}\n{rest}".strip()
        if not word or word == "?":
            return Interpreted(HELP, "")
        spec = self.command(word.rstrip(":"))  # "taal: en" as well as "taal en"
        if place.kind == "channel" or slash:
            return Interpreted(spec.name, rest) if spec else Interpreted(word, rest, known=False)
        if spec is not None and spec.in_dm is not None and spec.in_dm(rest):
            return Interpreted(spec.name, rest)
        return Interpreted(ANSWER, stripped)


def _add(into: dict[str, Any], key: str, value: object) -> None:
    if key in into:
        raise ValueError(f"{key} is declared twice")
    into[key] = value
