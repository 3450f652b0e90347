"""Adaptive Cards from neutral messages (every block, every field, long messages), what a card
sends back, Teams' pacing and which connector answers mean "later"."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.teams.cards import (
    CARD_BUDGET,
    ActionSubmission,
    FormSubmission,
    render,
    submission,
)
from bot.teams.connector import ConnectorError
from bot.teams.pacing import Pacer, TooSoon
from bot.teams.sender import retry_from
from handlers import messages as m
from handlers.commitments import commitment_form
from handlers.overview import overview_prompt_blocks
from handlers.sessions import new_session_form
from tests.teams_fixtures import card_problems, card_validator

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DIAGRAM = m.Diagram(
    "Kaart",
    "Een kaart met twee factoren",
    ("wachtlijst", "druk"),
    (m.DiagramLink(0, 1, "+"), m.DiagramLink(1, 0, "+")),
    (m.DiagramLoop("R1", (0, 1)),),
)
EVERYTHING = m.message(
    m.Heading("Ronde 1 van 5: Check-in"),
    m.Text("Eerste regel\nTweede regel"),
    m.Quote("[klik](https://evil.example) **vet**", "Sanne"),
    m.Bullets(("een", "twee")),
    m.Fields((("Vraag", "Hoe voorkomen we wachttijden?"),)),
    m.Divider(),
    m.Image("/tmp/x.png", "Een plaatje"),
    DIAGRAM,
    m.Choices(tuple(m.Action("vote", f"Stem op {n}", f"7:{n}") for n in range(1, 9))),
    new_session_form("nl"),
)


def elements(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        return [node] + [e for v in node.values() for e in elements(v)]
    if isinstance(node, list):
        return [e for v in node for e in elements(v)]
    return []


@pytest.fixture(scope="module")
def validator() -> Any:
    return card_validator()


@pytest.mark.parametrize(
    "msg",
    [
        EVERYTHING,
        m.message(*overview_prompt_blocks("nl")),  # two forms in one card
        m.message(commitment_form("en")),
        m.message(m.Text("x" * 3000), *[m.Text("regel " * 500) for _ in range(30)]),
        m.Message((m.Heading("leeg"),)),
    ],
    ids=["every-block", "two-forms", "commitment-form", "long", "heading-only"],
)
def test_every_card_validates_against_adaptive_cards_1_5(validator: Any, msg: m.Message) -> None:
    for card in render(msg, origin="19:c@thread.tacv2", people=[("29:U1", "Sanne")]):
        assert card_problems(validator, card) == []
        assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"


def test_the_validation_notices_a_broken_card(validator: Any) -> None:
    card = render(m.message(m.Text("hallo")))[0]
    assert card_problems(validator, {**card, "version": "1.6"}) == ["the version is not 1.5"]
    broken = {**card, "body": [{"type": "TextBlock"}]}  # a TextBlock needs its text
    assert card_problems(validator, broken)
    assert card_problems(validator, {**card, "msteams": {"width": "Full"}, "unknown": 1})


def test_text_is_never_markdown_and_buttons_are_execute_actions() -> None:
    card = render(EVERYTHING)[0]
    found = elements(card)
    assert not [e for e in found if e.get("type") == "TextBlock"]
    runs = [e["text"] for e in found if e.get("type") == "TextRun"]
    assert "[klik](https://evil.example) **vet**" in runs and "— Sanne" in runs
    assert "Eerste regel" in runs and "Tweede regel" in runs
    votes = [e for e in found if e.get("type") == "Action.Execute" and e["verb"] == "vote"]
    assert [v["data"] for v in votes][:2] == [
        {"action": "vote", "value": "7:1"},
        {"action": "vote", "value": "7:2"},
    ]
    sets = [e for e in found if e.get("type") == "ActionSet" and e["actions"][0]["verb"] == "vote"]
    assert [len(s["actions"]) for s in sets] == [5, 3]  # Teams shows at most six in a row


def test_the_causal_map_is_drawn_into_the_card_when_it_fits() -> None:
    picture = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    card = render(m.message(DIAGRAM), pictures={DIAGRAM: picture})[0]
    image = next(e for e in elements(card) if e.get("type") == "Image")
    assert image["url"].startswith("data:image/png;base64,") and image["altText"] == DIAGRAM.alt
    too_big = render(m.message(DIAGRAM), pictures={DIAGRAM: b"0" * 50_000})[0]
    assert not [e for e in elements(too_big) if e.get("type") == "Image"]
    assert DIAGRAM.alt in json.dumps(too_big)


def test_a_long_message_is_split_over_cards_without_losing_a_word() -> None:
    lines = [f"regel {n} " + "woord " * 60 for n in range(400)]
    cards = render(m.message(m.Text("\n".join(lines))))
    assert len(cards) > 1
    assert all(len(json.dumps(c)) < CARD_BUDGET + 2_000 for c in cards)
    runs = [e["text"] for c in cards for e in elements(c) if e.get("type") == "TextRun"]
    assert runs == [line for line in lines]


def test_several_forms_each_open_behind_their_own_button() -> None:
    card = render(m.message(*overview_prompt_blocks("nl")))[0]
    shown = [e for e in elements(card) if e.get("type") == "Action.ShowCard"]
    assert len(shown) == 2
    for show, form in zip(shown, ("actor", "force"), strict=True):
        inner = elements(show["card"])
        assert all(e["id"].startswith(f"{form}:") for e in inner if "id" in e)
        submit = [e for e in inner if e.get("type") == "Action.Execute"]
        assert [s["data"]["form"] for s in submit] == [form]


def test_people_are_a_choice_of_the_roster_or_left_to_the_whole_channel() -> None:
    form = m.message(new_session_form("nl"))
    with_roster = elements(render(form, people=[("29:U1", "Sanne"), ("29:U2", "Ahmed")])[0])
    members = next(e for e in with_roster if e.get("id") == "new_session:members")
    assert members["type"] == "Input.ChoiceSet" and members["isMultiSelect"] is True
    assert [c["value"] for c in members["choices"]] == ["29:U1", "29:U2"]
    without = elements(render(form)[0])
    assert not [e for e in without if e.get("id") == "new_session:members"]


def test_a_form_comes_back_as_its_own_fields_with_the_moment_joined() -> None:
    data = {
        "form": "new_session",
        "context": "",
        "channel": "19:c",
        "new_session:title": "Noord",
        "new_session:starts_at:date": "2027-03-10",
        "new_session:starts_at:time": "14:30",
        "new_session:format": None,
        "actor:text": "not this form's",
    }
    sent = submission(data, AMSTERDAM)
    assert sent == FormSubmission(
        "new_session",
        {"title": "Noord", "starts_at": "2027-03-10T14:30:00+01:00", "format": ""},
        "",
        "19:c",
    )
    assert submission({"action": "vote", "value": "7:1"}, AMSTERDAM) == ActionSubmission(
        "vote", "7:1"
    )
    assert submission({"something": "else"}, AMSTERDAM) is None
    assert submission("not a dict", AMSTERDAM) is None
    only_day = submission({"form": "f", "f:at:date": "2027-07-01"}, AMSTERDAM)
    assert isinstance(only_day, FormSubmission)
    assert only_day.values == {"at": "2027-07-01T09:00:00+02:00"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_pacing_allows_seven_a_second_and_sixty_in_thirty_seconds() -> None:
    clock = Clock()
    pacer = Pacer(monotonic=clock)
    for _ in range(7):
        await pacer.acquire("a:1", max_wait=0)
    with pytest.raises(TooSoon) as soon:
        await pacer.acquire("a:1", max_wait=0)
    assert soon.value.wait == pytest.approx(1.0)
    await pacer.acquire("a:2", max_wait=0)  # another conversation is not held up
    for _second in range(8):
        clock.now += 1.0
        for _ in range(7):
            try:
                await pacer.acquire("a:1", max_wait=0)
            except TooSoon:
                break
    assert len(pacer._sent["a:1"]) == 60
    assert pacer.wait_for("a:1") == pytest.approx(30.0 - 8.0)
    clock.now += 30.0
    assert pacer.wait_for("a:1") == 0.0


@pytest.mark.parametrize(
    ("status", "retry_after", "base"),
    [(429, 3.0, 3.0), (429, None, 2.0), (412, None, 2.0), (502, None, 5.0), (504, None, 5.0)],
)
def test_limits_and_passing_failures_are_tried_again_with_jitter(
    status: int, retry_after: float | None, base: float
) -> None:
    later = retry_from(ConnectorError(status, retry_after, ""), lambda s: s / 2)
    assert later is not None and later.seconds == pytest.approx(base * 1.5)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 500])
def test_other_failures_are_not_waited_for(status: int) -> None:
    assert retry_from(ConnectorError(status, 1.0, ""), lambda s: 0.0) is None
