"""Slack's limits as data (bot/slack/limits.py): each names where it is written, the check in
tests/slack_limits.py finds a payload over any of them, and the renderer keeps to all of them
with content far past them, losing none of what people wrote."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from bot.slack import limits as lim
from bot.slack.blocks import fallback_text, home, modal, render
from handlers import messages as m
from handlers.home import left_out
from prompts.catalog import t
from tests.slack_limits import message_problems, problems, view_problems


def test_every_limit_says_where_it_is_written() -> None:
    assert len({id(limit) for limit in lim.LIMITS}) == len(lim.LIMITS)
    for limit in lim.LIMITS:
        assert limit.value > 0 and limit.what
        assert all(part.strip().startswith("https://") for part in limit.source.split(";"))
    # Our bound for a message's text stays under every refusal reported (bolt-js#2509, #2867).
    assert lim.MESSAGE_TEXT.value < 11_341


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def buttons(n: int, label: str = "Stem", value: str = "1", action_id: str = "vote") -> Any:
    return {
        "type": "actions",
        "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": label},
             "action_id": f"{action_id}#{i}", "value": value}
            for i in range(n)
        ],
    }  # fmt: skip


def select(n: int, label: str = "optie", value: str = "v") -> Any:
    options = [{"text": {"type": "plain_text", "text": label}, "value": value} for _ in range(n)]
    return {
        "type": "input",
        "block_id": "pick",
        "label": {"type": "plain_text", "text": "Kies"},
        "element": {"type": "static_select", "action_id": "pick", "options": options},
    }


def text_input(max_length: int, initial: str = "") -> Any:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "t",
        "max_length": max_length,
    }
    if initial:
        element["initial_value"] = initial
    return {"type": "input", "block_id": "t", "label": {"type": "plain_text", "text": "T"},
            "element": element}  # fmt: skip


def view(blocks: list[Any], title: str = "Titel") -> dict[str, Any]:
    return {"type": "modal", "title": {"type": "plain_text", "text": title}, "blocks": blocks}


BAD_MESSAGES = {
    "51 blocks": [section("x")] * 51,
    "section of 3001": [section("x" * 3001)],
    "empty section": [section("")],
    "header of 151": [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}],
    "11 fields": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "x"}] * 11}],
    "field of 2001": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "x" * 2001}]}],
    "11 context elements": [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "x"}] * 11}
    ],
    "26 buttons": [buttons(26)],
    "button text of 76": [buttons(1, label="x" * 76)],
    "button value of 2001": [buttons(1, value="x" * 2001)],
    "action_id of 256": [buttons(1, action_id="x" * 256)],
    "block_id of 256": [{**section("x"), "block_id": "b" * 256}],
    "10,001 of text": [section("x" * 2500)] * 4 + [section("x")],
    "an unknown block": [{"type": "markdown", "text": "x"}],
}
BAD_VIEWS = {
    "101 blocks": view([section("x")] * 101),
    "title of 25": view([section("x")], title="x" * 25),
    "max_length 4000": view([text_input(4000)]),
    "initial value over max_length": view([text_input(10, "x" * 11)]),
    "101 options": view([select(101)]),
    "option text of 76": view([select(1, label="x" * 76)]),
    "option value of 151": view([select(1, value="x" * 151)]),
}


@pytest.mark.parametrize("name", BAD_MESSAGES)
def test_the_check_finds_a_message_slack_refuses(name: str) -> None:
    found = message_problems({"channel": "C1", "text": "x", "blocks": BAD_MESSAGES[name]})
    assert found and all(error for error, _why in found), found


@pytest.mark.parametrize("name", BAD_VIEWS)
def test_the_check_finds_a_view_slack_refuses(name: str) -> None:
    found = view_problems(BAD_VIEWS[name])
    assert found and all(error for error, _why in found), found


def test_a_message_without_its_text_is_a_warning() -> None:
    assert message_problems({"blocks": [section("x")]}) == [("", message_problems({})[0][1])]
    assert problems("chat.postMessage", {"text": "x", "blocks": [section("x")]}) == (1, [])
    assert problems("auth.test", {}) == (0, [])


def entities(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def shown(parts: list[list[dict[str, Any]]]) -> str:
    """All text of the messages, unescaped, without whitespace (where text was split) and
    without a quote's marks."""
    strings: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    strings.append(re.sub(r"(?m)^> ", "", value))  # a quote's marks
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(parts)
    return re.sub(r"\s+", "", entities("".join(strings)))


def solid(text: str) -> str:
    return re.sub(r"\s+", "", text)


EXTREME = m.message(
    m.Heading("Kop " * 60),  # past a header's 150
    m.Text("a&b<c>d " * 4000),  # 32,000 characters, each `&<>` an entity of 4 or 5
    m.Text("z" * 7002 + "&" * 3000),  # no space to split at, entities at the cut
    m.Quote("Een heel lang antwoord. " * 300, "Fleur"),
    m.Bullets(tuple(f"punt {n} " * 40 for n in range(60))),
    m.Fields(tuple((f"label {n}", "waarde " * 400) for n in range(30))),
    m.Diagram("Kaart", "alt " * 2000, ("a", "b"), (m.DiagramLink(0, 1, "+"),)),
    m.Choices(
        tuple(m.Action("vote", f"Stem op thema nummer {n} " * 5, f"9:{n}") for n in range(80))
    ),
)


def test_the_renderer_keeps_every_limit_and_loses_nothing() -> None:
    parts = render(EXTREME, "(kaart als bijlage)")
    assert len(parts) > 5
    for blocks in parts:
        params = {"channel": "C1", "text": fallback_text(EXTREME), "blocks": blocks}
        assert message_problems(params) == [], message_problems(params)[:3]
    texts = [
        b["text"]["text"]
        for blocks in parts
        for b in blocks
        if b["type"] == "section" and "text" in b
    ]
    assert not [t for t in texts if re.search(r"&(?!amp;|lt;|gt;)", t)]  # no entity split
    said = shown(parts)
    for block in EXTREME.blocks:
        if isinstance(block, m.Text | m.Quote):
            assert solid(block.text) in said
        if isinstance(block, m.Bullets):
            assert all(solid(item) in said for item in block.items)
        if isinstance(block, m.Fields):
            assert all(solid(value) in said for _label, value in block.pairs)
    assert "Fleur" in said and solid("alt " * 2000) in said
    every = [b for blocks in parts for b in blocks]
    values = [e["value"] for b in every if b["type"] == "actions" for e in b["elements"]]
    assert values == [f"9:{n}" for n in range(80)]  # every button, in order


def test_an_empty_text_is_left_out_rather_than_refused() -> None:
    parts = render(m.message(m.Text(""), m.Text("wel iets"), m.Bullets(())))
    assert [b["text"]["text"] for b in parts[0]] == ["wel iets"]


def form(*fields: Any, title: str = "Afspraak maken met het team") -> m.Form:
    return m.Form("commit", title, tuple(fields), "Afspraak opslaan en verder gaan", "12")


def test_a_modal_keeps_every_limit() -> None:
    many = tuple(m.Option(f"factor {n}", f"Factor nummer {n} " * 8) for n in range(250))
    made = modal(
        form(
            m.TextInput("text", "Wat ga je doen? " * 200, multiline=True, max_length=4000,
                        value="Verzwak " * 600),
            m.Select("source", "Van", many),
            m.Select("level", "Niveau", many[:100]),
        ),
        json.dumps({"channel": "C1"}),
    )  # fmt: skip
    assert view_problems(made) == []
    element = made["blocks"][1]["element"]
    assert element["max_length"] == lim.TEXT_INPUT_MAX.value
    assert element["initial_value"].endswith("…")  # shortened where the person sees it
    groups = made["blocks"][2]["element"]["option_groups"]
    assert [g["label"]["text"] for g in groups] == ["1–100", "101–200", "201–250"]
    assert [o["value"] for g in groups for o in g["options"]] == [o.value for o in many]
    assert len(made["blocks"][3]["element"]["options"]) == 100
    assert made["blocks"][0]["text"]["text"] == "*Afspraak maken met het team*"


def test_the_answer_limit_is_what_slack_takes_in_a_form() -> None:
    from handlers.context import MAX_TEXT

    assert m.TextInput("t", "T").max_length == MAX_TEXT == lim.TEXT_INPUT_MAX.value


def test_a_home_within_100_blocks_is_shown_whole() -> None:
    msg = m.message(*[m.Text(f"afspraak {n}") for n in range(99)])
    assert len(home(msg)["blocks"]) == 99


def a_home(commitments: int, text: str = "Bellen met de huisarts", sessions: int = 2) -> m.Message:
    """The layout handlers.home makes: per commitment its line and its check-in buttons."""
    blocks: list[m.Block] = [m.Heading("Hallo Sanne"), m.Heading(f"Je afspraken ({commitments})")]
    for n in range(1, commitments + 1):
        check_ins = tuple(m.Action("checkin", word, f"{n}:{word}") for word in ("klaar", "vast"))
        blocks += [m.Text(f"#{n} {text}"), m.Choices(check_ins)]
    blocks += [
        m.Heading("Sessies van je teams"),
        m.Bullets(tuple(f"S{n}" for n in range(sessions))),
    ]
    return m.message(*blocks)


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_home_past_100_blocks_says_what_it_leaves_out(lang: str) -> None:
    msg = a_home(40, "x" * 3000)  # each commitment: two sections and its buttons
    made = home(msg, more=lambda rest: left_out(lang, rest))
    blocks = made["blocks"]
    assert len(blocks) <= lim.BLOCKS_PER_VIEW.value and view_problems(made) == []
    kept = sum(b["type"] == "actions" for b in blocks)
    assert 30 <= kept < 40
    said = blocks[-1]["text"]["text"]
    assert said == t(lang, "people.home_more", commitments=40 - kept, sessions=2)
    assert blocks[-2]["type"] == "actions"  # no heading left without what it heads


def test_a_home_of_79_blocks_is_shown_whole() -> None:
    msg = a_home(25, "x" * 3000)  # 2 + 25 * 3 + 2 = 79 blocks, of which Slack once got 50
    made = home(msg, more=lambda rest: left_out("nl", rest))
    assert len(made["blocks"]) == 79 and view_problems(made) == []
    assert "Hier past niet alles" not in json.dumps(made, ensure_ascii=False)
