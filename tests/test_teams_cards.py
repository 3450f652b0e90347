"""Adaptive Cards from neutral messages (every block, every field, long messages in three
scripts), what a card sends back, Teams' pacing and which connector answers mean "later"; every
card rendered here is checked against Teams' limits (bot/teams/limits.py)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.teams import cards, limits
from bot.teams.cards import (
    ACTIVITY_BUDGET,
    ActionSubmission,
    FormSubmission,
    activity,
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
RENDERED: list[dict[str, Any]] = []  # every card the tests here rendered, for the limits' check


def render(message: m.Message, **options: Any) -> list[dict[str, Any]]:
    made = cards.render(message, **options)
    RENDERED.extend(made)
    return made


MAP_URL = "https://coulisse.example/media/0123456789abcdefghijklmnopqrstuvwxyzABCDEFG.png"
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
# Words in three scripts: one byte each as UTF-8 (mostly), two, and four.
SCRIPTS = {
    "dutch": "Één coördinator zag dat de cliënt na de reünie geïnteresseerd was; privé, naïef, "
    "ruïne, café, ’s middags overleg over de wachtlijst in Noord",
    "arabic": "يعمل الفريق معًا على تقليل قوائم الانتظار للأسر في الحي الشمالي ويتشاور كل أسبوع",
    "emoji": "🙂 🎉 👍🏽 🧭 🌱 🏘️ 👨‍👩‍👧 ❤️ 🚲 ☕ 📋 🤝 🔁 ⏳ 🗺️ 💬",
}


def long_message(text: str) -> m.Message:
    """Many lines, one line longer than a card on its own, a long quote and a list."""
    lines = [f"{n} {text}" for n in range(120)]
    return m.message(
        m.Heading(text[:40]),
        m.Text("\n".join(lines)),
        m.Text(" ".join([text] * 150)),
        m.Quote("\n".join(lines[:80]), text[:20]),
        m.Bullets(tuple(lines[:40])),
    )


def runs(rendered: list[dict[str, Any]]) -> str:
    return " ".join(e["text"] for c in rendered for e in elements(c) if e.get("type") == "TextRun")


MESSAGES = [
    EVERYTHING,
    m.message(*overview_prompt_blocks("nl")),  # two forms in one card
    m.message(commitment_form("en")),
    m.message(m.Text("x" * 3000), *[m.Text("regel " * 500) for _ in range(30)]),
    m.Message((m.Heading("leeg"),)),
    *[long_message(text) for text in SCRIPTS.values()],
    m.message(m.Heading("Kaart"), DIAGRAM),
]
IDS = ["every-block", "two-forms", "commitment-form", "long", "heading-only"]
IDS += [f"long-{script}" for script in SCRIPTS] + ["map"]
PICTURES = {DIAGRAM: MAP_URL}


def elements(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        return [node] + [e for v in node.values() for e in elements(v)]
    if isinstance(node, list):
        return [e for v in node for e in elements(v)]
    return []


@pytest.fixture(scope="module")
def validator() -> Any:
    return card_validator()


@pytest.mark.parametrize("msg", MESSAGES, ids=IDS)
def test_every_card_validates_against_adaptive_cards_1_5(validator: Any, msg: m.Message) -> None:
    people = [("29:U1", "Sanne")]
    for card in render(msg, origin="19:c@thread.tacv2", people=people, pictures=PICTURES):
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


def test_the_causal_map_is_a_picture_at_its_url_with_its_text_as_alt() -> None:
    card = render(m.message(DIAGRAM), pictures={DIAGRAM: MAP_URL})[0]
    image = next(e for e in elements(card) if e.get("type") == "Image")
    assert image == {"type": "Image", "url": MAP_URL, "altText": DIAGRAM.alt}
    assert card["fallbackText"] == DIAGRAM.alt  # the map's words, not "a message"
    # Without a URL (no public address, no Graphviz) the map is its text, as before.
    as_text = render(m.message(DIAGRAM))[0]
    assert not [e for e in elements(as_text) if e.get("type") == "Image"]
    assert DIAGRAM.alt in runs([as_text])


def test_a_long_message_is_split_over_cards_without_losing_a_word() -> None:
    lines = [f"regel {n} " + "woord " * 60 for n in range(400)]
    made = render(m.message(m.Text("\n".join(lines))))
    assert len(made) > 1
    assert all(len(limits.encode(activity(c))) <= ACTIVITY_BUDGET for c in made)
    texts = [e["text"] for c in made for e in elements(c) if e.get("type") == "TextRun"]
    assert texts == [line for line in lines]


@pytest.mark.parametrize("script", SCRIPTS)
def test_cards_fit_in_bytes_as_sent_in_every_script_and_keep_every_word(script: str) -> None:
    msg = long_message(SCRIPTS[script])
    made = render(msg)
    sizes = [len(limits.encode(activity(c))) for c in made]
    assert max(sizes) <= ACTIVITY_BUDGET < limits.MESSAGE_BYTES.value
    assert len(made) > 2
    sent = runs(made).split()
    for block in msg.blocks:
        text = getattr(block, "text", "") or " ".join(getattr(block, "items", ()))
        words = text.split()
        found = iter(sent)
        assert all(w in found for w in words), f"a word of {type(block).__name__} is gone"


def test_several_forms_each_open_behind_their_own_button() -> None:
    card = render(m.message(*overview_prompt_blocks("nl")))[0]
    shown = [e for e in elements(card) if e.get("type") == "Action.ShowCard"]
    assert len(shown) == 2
    for show, form in zip(shown, ("actor", "force"), strict=True):
        inner = elements(show["card"])
        assert all(e["id"].startswith(f"{form}:") for e in inner if "id" in e)
        submit = [e for e in inner if e.get("type") == "Action.Execute"]
        assert [s["data"]["form"] for s in submit] == [form]


def test_every_input_is_labelled_and_a_required_one_says_why_it_holds_up_the_form() -> None:
    for lang, required, time in (("nl", "Vul dit in", "Hoe laat?"), ("en", "Fill this in", "time")):
        card = render(m.message(new_session_form(lang)), lang=lang)[0]
        inputs = [e for e in elements(card) if str(e.get("type", "")).startswith("Input.")]
        assert inputs and all(e.get("label") for e in inputs)
        required_ones = [e for e in inputs if e.get("isRequired")]
        assert required_ones and all(required in e["errorMessage"] for e in required_ones)
        moment = next(e for e in inputs if e["type"] == "Input.Time")
        assert time in moment["label"] and not moment.get("isRequired")  # a moment is optional


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
    [
        (429, 3.0, 3.0),
        (429, None, 2.0),
        (412, None, 2.0),
        (500, None, 5.0),  # a 5xx the connector does not name passes too (as on Slack)
        (502, None, 5.0),
        (504, None, 5.0),
    ],
)
def test_limits_and_passing_failures_are_tried_again_with_jitter(
    status: int, retry_after: float | None, base: float
) -> None:
    later = retry_from(ConnectorError(status, retry_after, ""), lambda s: s / 2)
    assert later is not None and later.seconds == pytest.approx(base * 1.5)


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_other_failures_are_not_waited_for(status: int) -> None:
    assert retry_from(ConnectorError(status, 1.0, ""), lambda s: 0.0) is None


def test_every_card_rendered_here_is_within_teams_limits() -> None:
    """The renderers' set, and every card the tests above rendered (they run first), against
    the table in bot/teams/limits.py: size in bytes and as UTF-16, labels, error messages,
    fallback text, buttons per row, pictures as HTTPS URLs."""
    options: dict[str, Any] = {"origin": "19:c@thread.tacv2", "people": [("29:U1", "Sanne")]}
    made = [c for msg in MESSAGES for c in render(msg, **options, pictures=PICTURES)]
    assert len(RENDERED) > len(made)  # the other tests' cards are here too
    found = {n: limits.problems(activity(c)) for n, c in enumerate(RENDERED)}
    assert {n: p for n, p in found.items() if p} == {}


def test_the_limits_check_finds_what_teams_would_refuse() -> None:
    good = activity(render(m.message(new_session_form("nl")))[0])
    assert limits.problems(good) == []
    card = good["attachments"][0]["content"]
    unlabelled = {**card, "body": [{"type": "Input.Text", "id": "t", "isRequired": True}]}
    buttons = {"type": "ActionSet", "actions": [{"type": "Action.Execute"}] * 7}
    found = limits.problems(
        {
            "type": "message",
            "summary": "x" * 30_000,
            "attachments": [
                {"contentType": cards.CONTENT_TYPE, "content": {**unlabelled, "version": "1.6"}},
                {"contentType": cards.CONTENT_TYPE, "content": {"type": "AdaptiveCard",
                 "version": "1.5", "body": [buttons, {"type": "Image", "url": "data:x"}]}},
            ],
        }
    )  # fmt: skip
    expected = [
        "bytes, over 28000",
        "card version 1.6",
        "Input.Text t has no label",
        "required Input.Text t has no errorMessage",
        "a card without fallbackText",
        "an ActionSet of 7 actions",
        "not an HTTPS URL",
    ]
    assert len(found) == len(expected), found
    assert all(e in f for e, f in zip(expected, found, strict=True)), found
