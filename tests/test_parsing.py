"""What people type, read the way they mean it."""

from __future__ import annotations

from datetime import date

import pytest

from handlers.commitments import parse_due, parse_mode, parse_status
from handlers.context import Refusal
from handlers.lookup import split_category
from handlers.messages import (
    Action,
    Choices,
    Form,
    Heading,
    Option,
    Select,
    Text,
    decode_message,
    encode_message,
    message,
)
from handlers.model import (
    CommitmentMode,
    CommitmentStatus,
    Contribution,
    Polarity,
    Round,
    RoundKind,
)
from handlers.systems import factor_key, parse_link
from handlers.themes import group_by_words


@pytest.mark.parametrize(
    ("line", "source", "target", "polarity", "delay"),
    [
        ("wachtlijst -> +druk op huisarts", "wachtlijst", "druk op huisarts", "+", False),
        ("more trust -> -escalations", "more trust", "escalations", "-", False),
        ("A → − B", "A", "B", "-", False),
        ("A -> s B", "A", "B", "+", False),
        ("A -> o B", "A", "B", "-", False),
        ("meer overleg -> minder fouten", "meer overleg", "fouten", "-", False),
        ("werkdruk -> meer verzuim (vertraging)", "werkdruk", "verzuim", "+", True),
        ("trust => + cooperation //", "trust", "cooperation", "+", True),
        ("A -> more B (delay)", "A", "B", "+", True),
    ],
)
def test_causal_link_syntax(line, source, target, polarity, delay) -> None:
    parsed = parse_link(line)
    assert parsed is not None
    assert (parsed.source, parsed.target, parsed.polarity, parsed.delay) == (
        source, target, Polarity(polarity), delay,
    )  # fmt: skip


@pytest.mark.parametrize("line", ["A B", "A -> B", "-> +B", "A -> +", "A -> meer", "A -> so B"])
def test_not_a_link(line: str) -> None:
    assert parse_link(line) is None


def test_factor_names_that_differ_only_in_form_are_one() -> None:
    assert factor_key("  Druk op   Huisarts. ") == factor_key("druk op huisarts")


def test_dates_in_iso_and_dutch_order_from_today_on() -> None:
    today = date(2027, 3, 9)
    assert parse_due("2027-03-31", today) == date(2027, 3, 31)
    assert parse_due("31-03-2027", today) == date(2027, 3, 31)
    assert parse_due("9/3/2027", today) == today
    assert parse_due("8 dec", today) == date(2027, 12, 8)  # the forms of handlers/when.py
    for bad, key in [("2027-02-30", "when.not_understood_day"),
                     ("volgende maand", "when.not_understood_day"),
                     ("2027-03-08", "errors.date_in_past")]:  # fmt: skip
        with pytest.raises(Refusal) as refused:
            parse_due(bad, today)
        assert refused.value.key == key


def test_modes_and_statuses_in_both_languages() -> None:
    assert parse_mode("samen maken") == CommitmentMode.CO_CREATE
    assert parse_mode("Co-Produce") == CommitmentMode.CO_PRODUCE
    assert parse_mode("uitbesteden") == CommitmentMode.OUTSOURCE
    with pytest.raises(Refusal) as unsaid:  # not given: asked, never assumed co-produce
        parse_mode("")
    assert unsaid.value.key == "commitments.which_mode"
    assert parse_status("vastgelopen") == CommitmentStatus.STUCK
    assert parse_status("on track") == CommitmentStatus.IN_PROGRESS
    assert parse_status("let go") == CommitmentStatus.RELEASED
    with pytest.raises(Refusal):
        parse_status("misschien")


def test_a_category_prefix_in_either_language() -> None:
    rnd = Round(1, 1, RoundKind.REFLECT, "start-stop-continue", ["start", "stop", "continue"])
    assert split_category(rnd, "Doorgaan: de lunch") == ("continue", "de lunch")
    assert split_category(rnd, "continue: lunch") == ("continue", "lunch")
    assert split_category(rnd, "Let op: dit is geen categorie") == (
        "",
        "Let op: dit is geen categorie",
    )
    iceberg = Round(1, 1, RoundKind.REFLECT, "iceberg", ["events", "mental_models"])
    assert split_category(iceberg, "mentale modellen: x") == ("mental_models", "x")


def test_contributions_that_share_a_word_are_grouped() -> None:
    items = [Contribution(1, 1, text) for text in (
        "De wachtlijst is te lang", "Eén wachtlijst voor iedereen", "Meer koffie", "Koffie is op",
        "Iets anders",
    )]  # fmt: skip
    groups = group_by_words(items, stopwords={"voor", "iedereen"})
    assert sorted(len(g) for g in groups) == [1, 2, 2]


def test_messages_survive_the_outbox_round_trip() -> None:
    original = message(
        Heading("Kop"),
        Text("tekst"),
        Choices((Action("vote", "Stem", "3:1", "primary"),)),
        Form("commit", "Afspraak", (Select("mode", "Hoe", (Option("a", "A"),)),), "Ok", "7"),
    )
    assert decode_message(encode_message(original)) == original


async def test_a_two_word_status_in_a_typed_check_in(sqlite_app) -> None:
    from tests.driver import Driver, started_session

    d = Driver(sqlite_app)
    await started_session(d, fmt="custom", rounds="commit")
    await d.form("Ahmed", "commit", text="a", due="2099-01-01", mode="co-produce")
    assert '"loopt"' in await d.cmd("Ahmed", "checkin", "1 on track the first two came in")
    assert '"losgelaten"' in await d.cmd("Ahmed", "checkin", "1 let go")
    async with sqlite_app.uow() as uow:
        notes = [c.note for c in await uow.commitments.check_ins(1)]
    assert notes == ["the first two came in", ""]
