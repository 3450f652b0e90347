"""The console adapter's translation of typed lines into neutral events."""

from __future__ import annotations

from bot.clock import ManualClock
from bot.console.adapter import Console, Local, form_values
from bot.wiring import App
from handlers.conversation import Interpreted
from handlers.messages import ActionTaken, FormSubmitted, Typed


def test_form_fields_by_position_then_by_name() -> None:
    names = ("title", "question", "format")
    assert form_values(names, ["T", "Q"]) == {"title": "T", "question": "Q"}
    assert form_values(names, ["T", "format=regie", "question=Wie = wat?"]) == {
        "title": "T", "format": "regie", "question": "Wie = wat?",
    }  # fmt: skip


async def test_typed_lines_become_neutral_events(sqlite_app: App, clock: ManualClock) -> None:
    console = Console(sqlite_app, clock, lambda _line: None, team="noord", lang="nl")
    console.act_as("Sanne", "gemeente")
    new = console.parse("/nieuw Titel ; De vraag ; regie ; en ; nee")
    assert isinstance(new, FormSubmitted) and new.form_id == "new_session"
    assert new.values == {
        "title": "Titel", "question": "De vraag", "format": "regie", "language": "en",
        "anonymous": "nee",
    }  # fmt: skip
    commit = console.parse("/afspraak Bellen ; 2027-04-01 ; samen doen ; Fleur, Noor")
    assert isinstance(commit, FormSubmitted) and commit.values["co_owners"] == "Fleur, Noor"
    # Other lines are handed over as typed; the core's one rule says what they mean.
    meaning = sqlite_app.coulisse.conversation.interpret
    vote = console.parse("/stem 3:2")
    assert isinstance(vote, Typed) and vote.place.kind == "channel"
    assert meaning(vote.text, vote.place) == Interpreted("vote", "3:2")
    answer = console.parse("stop: de lange overleggen")
    assert isinstance(answer, Typed) and answer.place.kind == "dm"
    assert answer.actor.display_name == "Sanne"
    assert meaning(answer.text, answer.place) == Interpreted("add", "stop: de lange overleggen")
    text_link = console.parse("/verband a -> +b; c -> -d")
    assert isinstance(text_link, Typed)
    assert meaning(text_link.text, text_link.place) == Interpreted("link", "a -> +b; c -> -d")
    form_link = console.parse("/link wachtlijst ; druk ; - ; ja")
    assert isinstance(form_link, FormSubmitted) and form_link.values == {
        "source_new": "wachtlijst", "target_new": "druk", "polarity": "-", "delay": "ja",
    }  # fmt: skip
    button = console.parse("/weaken 3")
    assert isinstance(button, ActionTaken) and (button.action_id, button.value) == ("weaken", "3")
    switch = console.parse('/as "Anna de Vries" GGD')
    assert isinstance(switch, Local) and switch.args == ["Anna de Vries", "GGD"]
    empty = console.parse("   ")
    assert isinstance(empty, Typed) and meaning(empty.text, empty.place).name == "help"


async def test_a_person_reads_the_console_in_their_own_language(
    sqlite_app: App, clock: ManualClock
) -> None:
    printed: list[str] = []
    console = Console(sqlite_app, clock, printed.append, team="noord", lang="nl")
    await console.handle_line("/as Bob GGD")
    await console.handle_line("/taal en")
    printed.clear()
    await console.handle_line("/afspraak")
    text = "\n".join(printed)
    assert "fill it in as: /commit <What will you take on?>" in text
    assert "vul het zo in" not in text
