"""The conversation contract itself: the declarations, the one rule for free text, and the role
each declaration names (the only role check of a command, a button or a form)."""

from __future__ import annotations

import pytest

from bot.wiring import App
from handlers.context import yes_or_no
from handlers.conversation import Conversation, Interpreted, Router
from handlers.messages import Place
from handlers.model import Role
from handlers.router import CONVERSATION
from prompts.catalog import LANGUAGES, has, raw_catalog, t, words
from tests.driver import Driver, started_session

DM = Place("dm")
CHANNEL = Place("channel", "C1", "noord")


def test_every_listed_command_has_help_in_both_languages() -> None:
    for command in CONVERSATION.commands.values():
        if command.listed:
            for lang in LANGUAGES:
                assert f"help.commands.{command.name}" in raw_catalog(lang), (lang, command.name)
        assert has(f"commands.aliases.{command.name}") or not command.listed, command.name


def test_a_word_taken_twice_is_refused_when_the_routers_are_included() -> None:
    one, two = Router(), Router()

    async def flow(_ctx: object, _args: str) -> None: ...

    one.command("pause")(flow)  # type: ignore[arg-type]
    two.command("pause")(flow)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="declared twice"):
        Conversation((one, two))


@pytest.mark.parametrize(
    ("text", "place", "meant"),
    [
        ("pauze", DM, Interpreted("pause", "")),
        ("PAUZE ", DM, Interpreted("pause", "")),
        ("hulp", DM, Interpreted("help", "")),
        ("?", DM, Interpreted("help", "")),
        ("", DM, Interpreted("help", "")),
        ("taal en", DM, Interpreted("lang", "en")),
        ("taal engels graag", DM, Interpreted("add", "taal engels graag")),
        ("/taal en", DM, Interpreted("lang", "en")),
        ("/onzin", DM, Interpreted("onzin", "", known=False)),
        ("stop: te veel overleg", DM, Interpreted("add", "stop: te veel overleg")),
        ("pauze nemen helpt", DM, Interpreted("add", "pauze nemen helpt")),
        ("exporteer docx", DM, Interpreted("export", "docx")),
        ("exporteer het liefst alles", DM, Interpreted("add", "exporteer het liefst alles")),
        ("tijdzone Europe/London", DM, Interpreted("tz", "Europe/London")),
        ("stil 18:00-08:30", DM, Interpreted("quiet", "18:00-08:30")),
        ("nieuw", DM, Interpreted("add", "nieuw")),  # a coordinator's word needs `/` in a DM
        ("nieuw", CHANNEL, Interpreted("new", "")),  # said to the bot in the channel
        ("stop: te veel overleg", CHANNEL, Interpreted("stop:", "te veel overleg", known=False)),
        ("verband a -> +b", CHANNEL, Interpreted("link", "a -> +b")),
    ],
)
def test_one_rule_for_free_text(text: str, place: Place, meant: Interpreted) -> None:
    assert CONVERSATION.interpret(text, place) == meant


def coordinator_only() -> list[tuple[str, str]]:
    found = [
        ("command", c.name) for c in CONVERSATION.commands.values() if c.role == Role.COORDINATOR
    ]
    found += [("action", a.id) for a in CONVERSATION.actions.values() if a.role == Role.COORDINATOR]
    found += [("form", f.id) for f in CONVERSATION.forms.values() if f.role == Role.COORDINATOR]
    return found


def test_the_coordinators_part_is_declared() -> None:
    assert {name for _kind, name in coordinator_only()} >= {
        "new", "start", "next", "end", "role", "export", "assistant", "new_session",
    }  # fmt: skip


async def test_a_participant_is_refused_everything_declared_for_coordinators(app: App) -> None:
    d = Driver(app)
    await started_session(d)  # Sanne coordinates; Ahmed takes part
    before = await d.snapshot()
    no = t("nl", "errors.coordinators_only")
    for kind, name in coordinator_only():
        if kind == "command":
            said = await d.cmd("Ahmed", name, "Fleur coordinator" if name == "role" else "")
        elif kind == "action":
            said = await d.action("Ahmed", name, "")
        else:
            said = await d.form("Ahmed", name, title="T", question="Q", format="retro")
        assert no in said, (kind, name, said)
    assert await d.snapshot() == before


def test_yes_and_no_are_the_catalogs_words_in_any_language() -> None:
    for lang in LANGUAGES:
        assert all(yes_or_no(w) is True for w in words(lang, "answers.yes"))
        assert all(yes_or_no(w) is False for w in words(lang, "answers.no"))
    assert yes_or_no(" JA ") is True and yes_or_no("Off") is False
    assert yes_or_no("misschien") is None and yes_or_no("") is None


async def test_an_actors_long_interest_is_refused_not_cut(app: App) -> None:
    d = Driver(app)
    await started_session(d, fmt="regie")
    await d.cmd("Sanne", "next")  # the overview round: actors and forces
    said = await d.form("Ahmed", "actor", name="GGD", interest="x" * 1001, influence="3")
    assert t("nl", "errors.too_long", limit=1000, length=1001) in said
    assert await d.count("actors") == 0
    await d.form("Ahmed", "actor", name="GGD", interest="x" * 1000, influence="3")
    assert await d.count("actors") == 1
