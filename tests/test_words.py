"""Words people read (issue 14, item 11 and "Words"): counts agree with their word, hints show
labels in the person's language (and those labels are accepted), `taal en` in a DM is the
command, `/map` and `status` answer in the person's language, and both catalogs stay in step."""

from __future__ import annotations

import re

import jinja2
import pytest
from jinja2 import meta

from bot.clock import ManualClock
from bot.console.adapter import Console
from bot.console.render import render
from bot.wiring import App
from handlers.commitments import commitment_form
from handlers.conversation import short_label
from handlers.messages import Message, Place, Select, Typed
from handlers.router import CONVERSATION
from handlers.sessions import new_session_form
from prompts.catalog import LANGUAGES, plural, raw_catalog, t
from tests.driver import Driver, started_session, team_of

_env = jinja2.Environment()
# Placeholders that hold a count (ids such as `number` and `position` are not counts).
COUNTS = {"balancing", "budget", "commitments", "complete", "contributions", "count", "days",
          "dots", "factors", "hidden", "links", "loops", "members", "minutes", "people",
          "reinforcing", "rounds", "seconds", "sessions", "shared", "stops", "themes", "tokens",
          "total", "votes", "weeks", "calls"}  # fmt: skip
# Words after a count that are the same for one and for more.
SAME_FOR_ANY = {"van", "of", "over", "left", "more", "klaar", "open", "verstuurd", "sent",
                "overgeslagen", "skipped", "versterkend", "balancerend", "reinforcing",
                "balancing", "kortste", "shortest", "langere", "longer", "zwaarder", "in",
                "causal", "feedback", "from", "uit", "with", "met"}  # fmt: skip
AFTER_A_COUNT = re.compile(r"\{\{\s*(\w+)\s*\}\}\s+([A-Za-zÀ-ÿ']+)")


def placeholders(source: str) -> set[str]:
    return meta.find_undeclared_variables(_env.parse(source)) - {"plural"}


def test_both_catalogs_have_the_same_keys_placeholders_and_plurals() -> None:
    nl, en = raw_catalog("nl"), raw_catalog("en")
    assert set(nl) == set(en), set(nl) ^ set(en)
    assert not {k for k in nl if placeholders(nl[k]) != placeholders(en[k])}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_count_uses_the_plural_helper(lang: str) -> None:
    """A count followed by a word that changes with it goes through `plural`; the old inline
    `'x' if n == 1 else 'y'` is gone, so there is one way to write it."""
    catalog = raw_catalog(lang)
    inline = [k for k, v in catalog.items() if re.search(r"==\s*1\s+else", v)]
    assert not inline
    missing = []
    for key, source in catalog.items():
        for m in AFTER_A_COUNT.finditer(source):
            name, word = m.groups()
            counted = name in COUNTS and word.casefold() not in SAME_FOR_ANY
            if counted and not re.search(rf"plural\(\(?\s*{name}\b", source):
                missing.append((key, name, word))
    assert not missing


def test_plural_is_one_for_exactly_one() -> None:
    assert [plural(n, "ronde", "rondes") for n in (0, 1, 2)] == ["rondes", "ronde", "rondes"]
    assert t("nl", "sessions.shared_count", shared=1, members=4) == "1 van de 4 heeft iets gedeeld."
    assert t("en", "sessions.shared_count", shared=1, members=4).startswith("1 of 4 has ")
    assert "hebben" in t("nl", "sessions.shared_count", shared=2, members=4)
    assert "1 ronde:" in t("nl", "sessions.created", title="T", count=1, rounds="Inchecken")
    one = t("nl", "systems.diagram_left_out", factors=1)
    assert "lus zit, staat niet" in one  # the verbs agree with one factor too


async def test_status_says_one_of_four_has_shared(app: App, clock: ManualClock) -> None:
    """Issue 14, item 11: "1 van de 4 hebben iets gedeeld"."""
    d = Driver(app)
    await started_session(d)
    await app.coulisse.handle(Typed("Goed", d.actor("Ahmed"), Place("dm")))
    status = await d.cmd("Sanne", "status")
    assert t("nl", "sessions.shared_count", shared=1, members=4) in status
    assert "1 van de 4 heeft iets gedeeld." in status


# --- hints in the person's language ------------------------------------------------------------


def _hint(lang: str, message: Message) -> str:
    return "\n".join(render(message, lang))


@pytest.mark.parametrize("builder", [commitment_form, new_session_form])
def test_form_hints_show_choices_in_the_persons_words(builder) -> None:  # type: ignore[no-untyped-def]
    """Before: `<co_create|co_produce|outsource>` in a Dutch hint."""
    form = builder("nl")
    hint = " ".join(_hint("nl", Message((form,))).split())
    for field in form.fields:
        if isinstance(field, Select):
            for option in field.options:
                assert short_label(option.label) in hint
                english_key = option.value not in {short_label(o.label) for o in field.options}
                if english_key and re.fullmatch(r"[a-z_]+", option.value) and "_" in option.value:
                    assert option.value not in hint
    assert "co_create" not in hint and "<YYYY-MM-DD>" not in hint
    assert t("nl", "when.date_example") in hint or builder is new_session_form


async def test_a_form_typed_with_the_hints_labels_is_understood(
    sqlite_app: App, clock: ManualClock
) -> None:
    printed: list[str] = []
    console = Console(sqlite_app, clock, printed.append, team="noord", lang="nl")
    await console.handle_line("/as Sanne")
    await console.handle_line("/nieuw Wijk ; Wat nu? ; Retrospectief ; Engels ; nee")
    await console.handle_line("/start")
    async with sqlite_app.uow() as uow:
        (session,) = await uow.sessions.for_team(1)
    assert (session.format, session.locale, session.anonymous) == ("retro", "en", False)
    await console.handle_line("/afspraak Bellen ; 8 dec ; samen maken")
    async with sqlite_app.uow() as uow:
        (commitment,) = await uow.commitments.for_team(1)
    assert commitment.mode.value == "co_create" and commitment.due_date.day == 8


# --- `taal en` in a DM, and the person's own language ------------------------------------------


@pytest.mark.parametrize(
    ("typed", "command"),
    [("taal en", "lang"), ("taal Engels", "lang"), ("lang dutch", "lang"), ("taal: en", "lang"),
     ("Taal EN.", "lang"), ("taal engels graag", "add"), ("instellingen", "settings"),
     ("instellingen feestdagen BE", "settings"), ("instellingen zijn lastig", "add")],
)  # fmt: skip
def test_words_typed_in_a_dm(typed: str, command: str) -> None:
    assert CONVERSATION.interpret(typed, Place("dm")).name == command


async def test_taal_en_in_a_dm_switches_the_language(app: App, clock: ManualClock) -> None:
    d = Driver(app)
    await started_session(d)
    outcome = await app.coulisse.handle(Typed("taal Engels", d.actor("Ahmed"), Place("dm")))
    assert d.text(outcome.messages) == t("en", "people.language_set")
    async with app.uow() as uow:
        person = await uow.directory.person_by_platform_id(1, "ahmed")
        answers = await uow.sessions.contributions([1])
    assert person is not None and person.locale == "en"
    assert not answers  # not taken as an answer to the open round


async def test_map_and_status_answer_in_the_persons_language(app: App, clock: ManualClock) -> None:
    """Before: `/map` answered in the session's language."""
    d = Driver(app)
    await team_of(d, "Sanne", "Ahmed")
    await d.form("Sanne", "new_session", title="T", question="Q", language="nl", format="regie")
    await d.cmd("Sanne", "start")
    await d.cmd("Ahmed", "taal", "en")
    shown = await d.cmd("Ahmed", "map")
    assert t("en", "systems.map_heading") in shown
    assert t("nl", "systems.map_heading") not in shown
    status = await d.cmd("Ahmed", "status")
    assert t("en", "sessions.status_label") in status
    assert t("nl", "sessions.status_label") not in status


# --- words a native writer would use; Dutch at B1 -----------------------------------------------

# English that reads as translated from Dutch (each was in the catalog before).
NOT_ENGLISH = ("How do you arrive", "Besides that:", "belongs to to you", "You are forgotten",
               "Your words are welcome", "Has the message perhaps", "The number of dots per person",
               "in the past period", "differs from the usual one", "The session of ")  # fmt: skip


def test_the_english_reads_as_english() -> None:
    english = raw_catalog("en")
    found = [(k, p) for k, v in english.items() for p in NOT_ENGLISH if p in v]
    assert not found
    assert t("en", "rounds.checkin.question").startswith("How are you doing as we start?")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_privacy_text_is_in_short_sentences(lang: str) -> None:
    text = t(lang, "people.privacy", period=t(lang, "people.retention_years", years=2))
    sentences = [s for s in re.split(r"(?<=[.?!])\s+|\n", text) if s.strip()]
    assert len(sentences) >= 10
    assert max(len(s.split()) for s in sentences) <= 22, max(sentences, key=len)
