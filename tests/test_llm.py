"""The LLM assistant through the real openai client against a fake server on loopback:
each feature's happy path, every way a call can fail (the fallback is used and the session
goes on), the team's confirmation, the per-team opt-out, and no mixing of sessions."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import jsonschema
import pytest

from bot.clock import ManualClock
from bot.llm import OpenAISynthesizer, synthesizer_from
from bot.wiring import App, build
from handlers.model import Session, SuggestionStatus
from handlers.reports import build_summary
from handlers.summary import Summary
from tests.driver import Driver, Sent, started_session
from tests.fake_openai import FakeOpenAI, prompt_data, task_kind

ROOT = Path(__file__).resolve().parents[1]
BY_MODEL = "Voorgesteld door de taalmodel-assistent"
BY_TEMPLATE = "Samengesteld uit jullie eigen woorden"
RETRO = {"fmt": "custom", "rounds": "start-stop-continue group vote commit"}
AppMaker = Callable[..., Awaitable[App]]


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    fake = FakeOpenAI()
    runner = await fake.start()
    yield fake
    await fake.stop(runner)


@pytest.fixture
async def make_app(
    database_url: str, clock: ManualClock, fake_openai: FakeOpenAI
) -> AsyncIterator[AppMaker]:
    """The bot with the assistant pointed at the fake server (a short timeout, no retries)."""
    built: list[App] = []

    async def make(timeout: float = 5.0, retries: int = 0) -> App:
        synthesizer = OpenAISynthesizer(
            model="test-model",
            api_key="sk-test",
            base_url=fake_openai.url,
            timeout=timeout,
            max_retries=retries,
        )
        app = await build(database_url, clock, migrate=False, synthesizer=synthesizer)
        built.append(app)
        return app

    yield make
    for app in built:
        await app.close()


async def reflect(d: Driver) -> list[Sent]:
    """A retro whose reflection round closes with four answers; what went out then."""
    await started_session(d, **RETRO)
    await d.deliver()
    await d.cmd("Ahmed", "add", "stop: de wachtlijst per partner bijhouden")
    await d.cmd("Fleur", "add", "stop: Wachtlijst leads to more pressure on GPs")
    await d.cmd("Joost", "add", "doorgaan: samen lunchen met het wijkteam")
    await d.cmd("Sanne", "add", "start: één intake voor alle gezinnen")
    await d.cmd("Sanne", "next")
    return await d.deliver()


def assist_messages(sent: list[Sent]) -> list[Sent]:
    return [s for s in sent if s.kind == "assist"]


async def summary_of(app: App, lang: str = "nl") -> Summary:
    async with app.uow() as uow:
        session = await uow.get(Session, 1)
        assert session is not None
        return await build_summary(uow, session, lang)


async def test_one_call_per_round_drafts_synthesis_question_and_links(
    make_app: AppMaker, fake_openai: FakeOpenAI
) -> None:
    app = await make_app()
    d = Driver(app, organisations={"Ahmed": "wijkteam"})
    sent = await reflect(d)
    # The reveal first, then the first reading, marked as the assistant's suggestion.
    kinds = [s.kind for s in sent if s.to.kind == "channel"]
    assert kinds.index("reveal") < kinds.index("assist")
    reading = assist_messages(sent)[0]
    assert BY_MODEL in reading.text
    # Dutch prose, everyday "dan" and all, reaches the chat as the model wrote it.
    assert "Modelsynthese: het team noemt" in reading.text
    assert "langer duurt dan verwacht, en dan blijven gezinnen wachten" in reading.text
    assert "Modelvraag: wie staat waar rond deze vraag, en wat gebeurt er dan?" in reading.text
    assert "Wachtlijst → + more pressure on GPs" in reading.text
    # One request for the round's four answers, batched, with the session's question.
    assert fake_openai.kinds == ["round", "grouping"]  # the group round opened too
    sent_round = fake_openai.requests[0]
    assert sent_round["model"] == "test-model" and "tools" not in sent_round
    # What reasoning models accept: max_completion_tokens, and no temperature unless set.
    assert sent_round["max_completion_tokens"] == 1200
    assert "max_tokens" not in sent_round and "temperature" not in sent_round
    assert sent_round["response_format"]["type"] == "json_schema"
    assert sent_round["response_format"]["json_schema"]["strict"] is True
    user = sent_round["messages"][1]["content"]
    assert user.count('"number"') == 4 and "Wat nu?" in user
    # Counted for the session, and in its summary.
    summary = await summary_of(app)
    assert summary.assistance is not None and summary.assistance.calls == 2
    assert summary.assistance.prompt_tokens == fake_openai.prompt_tokens > 0
    assert summary.assistance.completion_tokens == fake_openai.completion_tokens > 0


async def test_a_proposed_link_counts_only_when_the_team_confirms_it(
    make_app: AppMaker, fake_openai: FakeOpenAI
) -> None:
    app = await make_app()
    d = Driver(app)
    reading = assist_messages(await reflect(d))[0]
    buttons = [a for b in reading.message.blocks if hasattr(b, "actions") for a in b.actions]
    assert [a.id for a in buttons] == ["suggestion", "suggestion"]
    yes, no = buttons[0].value, buttons[1].value
    async with app.uow() as uow:
        assert await uow.causal.links(1) == []  # a suggestion is not on the map
    reply = await d.action("Joost", "suggestion", yes)
    assert "Toegevoegd aan de kaart van het team" in reply
    async with app.uow() as uow:
        links = await uow.causal.links(1)
        names = {f.name for f in await uow.causal.factors(1)}
    assert len(links) == 1 and names == {"Wachtlijst", "more pressure on GPs"}
    assert "al over dit voorstel beslist" in await d.action("Fleur", "suggestion", no)
    assert "herken ik niet" in await d.action("Fleur", "suggestion", "12:maybe")


async def test_the_team_chooses_the_suggested_grouping_or_keeps_its_own(
    make_app: AppMaker, fake_openai: FakeOpenAI
) -> None:
    app = await make_app()
    d = Driver(app)
    sent = await reflect(d)
    board = next(s for s in sent if s.kind == "round-open" and "thema" in s.text)
    assert "Modelthema" not in board.text  # the plain grouping comes first, at once
    offer = assist_messages(sent)[1]
    assert "Een andere indeling" in offer.text and "Modelthema Stop (2)" in offer.text
    use = offer.message.blocks[-1].actions[0].value  # type: ignore[union-attr]
    assert "ingedeeld zoals voorgesteld: 3 thema's" in await d.action("Ahmed", "suggestion", use)
    regrouped = [s for s in await d.deliver() if s.kind == "themes"]
    assert len(regrouped) == 1 and "1. Modelthema Stop (2)" in regrouped[0].text
    async with app.uow() as uow:
        themes = await uow.sessions.themes(2)
        contributions = await uow.sessions.contributions([1])
    assert [th.title for th in themes] == [
        "Modelthema Stop",
        "Modelthema Doorgaan",
        "Modelthema Start",
    ]
    assert all(c.theme_id is not None for c in contributions)
    await d.cmd("Sanne", "next")  # the vote sees the chosen themes
    ballot = next(s for s in await d.deliver() if s.kind == "round-open")
    assert "Modelthema Stop" in ballot.text


async def test_the_narrative_is_the_assistants_only_when_the_team_chooses_it(
    make_app: AppMaker, fake_openai: FakeOpenAI
) -> None:
    app = await make_app()
    d = Driver(app)
    await reflect(d)
    await d.cmd("Sanne", "end")
    sent = await d.deliver()
    offer = next(s for s in assist_messages(sent) if "conceptalinea" in s.text)
    assert "Modelverhaal: het team werkte aan" in offer.text
    assert fake_openai.kinds[-1] == "narrative"
    before = (await summary_of(app)).as_dict()
    assert before["narrative"]["drafted_by"] == "template"
    assert before["narrative"]["text"].startswith('Bij de vraag "Wat nu?" deelden 4 mensen')
    use = offer.message.blocks[-1].actions[0].value  # type: ignore[union-attr]
    assert "gebruikt deze alinea" in await d.action("Fleur", "suggestion", use)
    after = (await summary_of(app)).as_dict()
    assert after["narrative"] == {
        "text": "Modelverhaal: het team werkte aan 3 thema's en nam 0 afspraken op zich. "
        "Dan volgt de vraag wie wat oppakt.",
        "drafted_by": "assistant",
    }
    assert after["assistance"]["calls"] == 3
    schema = json.loads((ROOT / "bot/export/summary.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(after, schema)


@pytest.mark.parametrize("mode", ["timeout", "500", "429", "malformed", "schema", "garbage"])
async def test_a_failed_call_falls_back_and_the_session_goes_on(
    make_app: AppMaker, fake_openai: FakeOpenAI, mode: str
) -> None:
    # A short timeout only where it is the point: elsewhere a loaded machine must not turn the
    # failure under test into a timeout.
    app = await make_app(timeout=0.5 if mode == "timeout" else 5.0)
    fake_openai.mode = mode
    fake_openai.stall = 30.0  # a server that hangs; the answer would come after half a minute
    d = Driver(app)
    started = time.monotonic()
    sent = await reflect(d)
    assert time.monotonic() - started < 10  # two calls cut at 0.5 s, not at 30 s or ten minutes
    reading = assist_messages(sent)
    assert len(reading) == 1  # the plain first reading; no grouping offer
    assert BY_TEMPLATE in reading[0].text and BY_MODEL not in reading[0].text
    assert "Het meest gedeeld:" in reading[0].text
    assert "Een vraag om mee te nemen" in reading[0].text
    assert fake_openai.kinds == ["round", "grouping"]  # tried once each (no retries set)
    # The session goes on as without a model: themes, vote, commitments, summary.
    assert "heet nu" in await d.cmd("Fleur", "rename", "1 Eén wachtlijst")
    await d.cmd("Sanne", "next")
    assert "Nog 2 over" in await d.cmd("Ahmed", "vote", "1")
    await d.cmd("Sanne", "next")
    await d.cmd("Sanne", "next")
    summary = next(s for s in await d.deliver() if s.kind == "summary")
    assert "4 mensen deelden 4 bijdragen" in summary.text
    data = await summary_of(app)
    assert data.narrative is not None and data.narrative.drafted_by == "template"
    async with app.uow() as uow:
        usage = await uow.assistance.usage(1)
    assert usage is not None and usage.calls == 3 and usage.fallbacks == 3


async def test_retries_are_bounded(make_app: AppMaker, fake_openai: FakeOpenAI) -> None:
    app = await make_app(retries=2)
    fake_openai.mode = "500"
    d = Driver(app)
    sent = await reflect(d)
    assert BY_TEMPLATE in assist_messages(sent)[0].text
    assert fake_openai.kinds == ["round"] * 3 + ["grouping"] * 3


async def test_a_resent_job_reuses_its_draft(make_app: AppMaker, fake_openai: FakeOpenAI) -> None:
    app = await make_app()
    d = Driver(app)
    await reflect(d)
    async with app.uow() as uow:
        job = await uow.outbox.by_key("assist:round:1")
    assert job is not None
    again = await app.prepare_nudge(job)  # as after a crash between sending and marking sent
    assert "Modelsynthese" in "\n".join(
        b.text
        for b in again.message.blocks
        if hasattr(b, "text")  # type: ignore[union-attr]
    )
    assert fake_openai.kinds.count("round") == 1


async def test_a_coordinator_turns_the_assistant_off_for_the_team(
    make_app: AppMaker, fake_openai: FakeOpenAI
) -> None:
    app = await make_app()
    d = Driver(app)
    await started_session(d, **RETRO)
    assert "Dat doet een coördinator" in await d.cmd("Ahmed", "assistent", "uit")
    assert "Schrijf" in await d.cmd("Sanne", "assistent", "misschien")
    assert "staat uit voor dit team" in await d.cmd("Sanne", "assistent", "uit")
    await d.cmd("Ahmed", "add", "stop: de wachtlijst")
    await d.cmd("Sanne", "next")
    sent = await d.deliver()
    assert BY_TEMPLATE in assist_messages(sent)[0].text
    assert fake_openai.requests == []  # nothing of this team left
    reply = await d.cmd("Sanne", "assistant", "on")
    assert "staat aan voor dit team" in reply and "geen taalmodel" not in reply
    await d.cmd("Sanne", "end")
    await d.deliver()
    assert fake_openai.kinds == ["narrative"]


async def test_without_a_model_the_plain_methods_do_everything(app: App) -> None:
    d = Driver(app)
    await started_session(d, **RETRO)
    await d.deliver()
    await d.cmd("Ahmed", "add", "stop: wachtlijst per partner\nwachtlijst -> +druk op huisarts")
    await d.cmd("Fleur", "add", "stop: de wachtlijst is te lang")
    await d.cmd("Joost", "add", "start: samen lunchen")
    await d.cmd("Sanne", "next")
    sent = await d.deliver()
    [reading] = assist_messages(sent)  # no grouping offer without a model
    assert BY_TEMPLATE in reading.text
    # Extractive: the group with the most contributions first, one of its own answers quoted.
    lines = reading.text.splitlines()
    first = lines.index("Het meest gedeeld:") + 1
    assert lines[first].startswith('"wachtlijst per partner') and "(2 bijdragen)" in lines[first]
    # The question bank, and the links written in the text syntax, as proposals.
    assert "Een vraag om mee te nemen" in reading.text
    assert "wachtlijst → + druk op huisarts" in reading.text
    reply = await d.cmd("Sanne", "assistent", "aan")
    assert "geen taalmodel ingesteld" in reply
    await d.cmd("Sanne", "end")
    sent = await d.deliver()
    assert assist_messages(sent) == []  # the template paragraph needs no message
    summary = (await summary_of(app)).as_dict()
    assert summary["narrative"]["drafted_by"] == "template"
    assert summary["assistance"] == {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0}
    async with app.uow() as uow:
        statuses = {s.kind: s.status for s in await uow.assistance.suggestions(1)}
    assert statuses["link"] == SuggestionStatus.PENDING


async def test_one_sessions_call_carries_only_that_sessions_words(
    make_app: AppMaker, fake_openai: FakeOpenAI
) -> None:
    app = await make_app()
    north, south = Driver(app, channel="noord"), Driver(app, channel="zuid")
    await started_session(north, **RETRO)
    await north.cmd("Ahmed", "add", "stop: NOORDWOORD overleg")
    await north.cmd("Sanne", "next")
    await north.deliver()
    await started_session(south, **RETRO)
    await south.cmd("Ahmed", "add", "stop: ZUIDWOORD overleg")
    await south.cmd("Sanne", "next")
    await south.deliver()
    by_session = [json.dumps(body) for body in fake_openai.requests]
    assert len(by_session) == 4
    assert all("ZUIDWOORD" not in body for body in by_session[:2])
    assert all("NOORDWOORD" not in body for body in by_session[2:])
    # A button of one team's suggestion does nothing in another team's channel.
    async with app.uow() as uow:
        north_offer = [s for s in await uow.assistance.suggestions(1) if s.kind == "grouping"]
    before = await south.snapshot()
    refused = await south.action("Sanne", "suggestion", f"{north_offer[0].id}:yes")
    assert "vind ik niet bij dit team" in refused
    assert await south.snapshot() == before


async def test_the_demo_runs_with_the_model_from_the_environment(
    tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    from bot.demo import run_demo

    lines: list[str] = []
    synthesizer = OpenAISynthesizer(model="m", api_key="sk-test", base_url=fake_openai.url)
    summary = await run_demo(tmp_path, "en", lines.append, synthesizer=synthesizer)
    output = "\n".join(lines)
    assert output.count("Suggested by the language-model assistant") >= 2
    assert fake_openai.kinds == ["round", "round", "grouping", "narrative"]
    assert summary.narrative is not None
    assert summary.narrative.drafted_by == "assistant"  # the scripted team chose it
    assert summary.assistance is not None and summary.assistance.calls == 4


def test_demo_llm_says_the_model_is_off_without_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from bot.cli import app

    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    env = {"OPENAI_API_KEY": "", "COULISSE_LLM_MODEL": ""}
    result = CliRunner().invoke(app, ["demo", "--llm", "--out", str(tmp_path / "d")], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("De taalmodel-assistent staat uit")
    assert "Samengesteld uit jullie eigen woorden" in result.output
    status = CliRunner().invoke(
        app,
        ["status"],
        env={**env, "COULISSE_DATABASE_URL": f"sqlite:///{tmp_path}/d/coulisse-demo.db"},
    )
    assert status.exit_code == 0, status.output
    assert "LLM assistant: off" in status.output
    assert "      1  closed      0        0          0         0  " in status.output


def test_the_outbox_lease_outlasts_the_slowest_assistant_call() -> None:
    """A job may start just before a batch hands back at half its lease and then take
    timeout × attempts: the lease covers that, so no second worker calls the model again."""
    from bot.config import Settings

    off = Settings(outbox_lease=60)
    assert off.lease_seconds == 60
    on = Settings(outbox_lease=60, openai_api_key="k", llm_model="m", llm_timeout=30,
                  llm_max_retries=1)  # fmt: skip
    assert on.llm_deadline == 60  # the one total: timeout × attempts
    assert on.lease_seconds * 0.5 + on.llm_deadline < on.lease_seconds
    synthesizer = synthesizer_from(on)
    assert synthesizer is not None and synthesizer.deadline == on.llm_deadline
    assert Settings(outbox_lease=600, openai_api_key="k", llm_model="m").lease_seconds == 600


async def test_usage_with_only_a_total_is_counted_and_the_reading_arrives(
    make_app: AppMaker, fake_openai: FakeOpenAI
) -> None:
    """Some servers send null prompt/completion tokens: the count must not break the outbox."""
    app = await make_app()
    fake_openai.only_total = True
    d = Driver(app)
    sent = await reflect(d)
    reading = assist_messages(sent)
    assert reading and BY_MODEL in reading[0].text
    assert [s.kind for s in sent].count("assist") == 2  # the grouping offer too
    assert fake_openai.kinds == ["round", "grouping"]  # called once each, not again per lease
    async with app.uow() as uow:
        usage = await uow.assistance.usage(1)
    total = fake_openai.prompt_tokens + fake_openai.completion_tokens
    assert usage is not None and usage.calls == 2 and usage.fallbacks == 0
    assert usage.prompt_tokens == total and usage.completion_tokens == 0


def test_tokens_spent_reads_whatever_usage_a_server_sends() -> None:
    from types import SimpleNamespace

    from bot.llm import tokens_spent

    assert tokens_spent(None) == (0, 0)
    assert tokens_spent(SimpleNamespace(total_tokens=30)) == (30, 0)
    assert tokens_spent(SimpleNamespace(prompt_tokens=None, completion_tokens=5,
                                        total_tokens=30)) == (25, 5)  # fmt: skip
    assert tokens_spent(SimpleNamespace(prompt_tokens=20, completion_tokens=None,
                                        total_tokens=30)) == (20, 10)  # fmt: skip
    assert tokens_spent(SimpleNamespace(prompt_tokens=7, completion_tokens=3)) == (7, 3)


@pytest.mark.parametrize("mode", ["dribble", "retry_after"])
async def test_a_call_ends_within_its_total_deadline_whatever_the_server_does(
    make_app: AppMaker, fake_openai: FakeOpenAI, mode: str
) -> None:
    """A server that sends a byte a second never trips the per-read timeout, and one that
    answers 429 with retry-after: 60 would have the client wait a minute: the deadline
    (timeout × attempts) cuts both, and the plain reading is used."""
    app = await make_app(timeout=1.5, retries=1)  # deadline 3 s per call
    fake_openai.mode = mode
    d = Driver(app)
    started = time.monotonic()
    sent = await reflect(d)  # two calls: the round's reading and the grouping offer
    took = time.monotonic() - started
    assert took < 2 * 3 + 3, took
    reading = assist_messages(sent)
    assert len(reading) == 1 and BY_TEMPLATE in reading[0].text
    assert fake_openai.kinds == ["round", "grouping"]  # the minute's wait was not waited
    async with app.uow() as uow:
        usage = await uow.assistance.usage(1)
    assert usage is not None and usage.calls == 2 and usage.fallbacks == 2


async def test_a_configured_temperature_is_sent(fake_openai: FakeOpenAI) -> None:
    from bot.config import Settings
    from handlers.drafts import Item, Task

    settings = Settings(openai_api_key="k", llm_model="m", openai_base_url=fake_openai.url,
                        llm_temperature=0.3)  # fmt: skip
    synthesizer = synthesizer_from(settings)
    assert synthesizer is not None
    task = Task("round", "nl", "Wat nu?", "Stop", items=(Item(1, "de wachtlijst", "Stop"),))
    done = await synthesizer.complete(task)
    await synthesizer.close()
    assert done.data is not None and done.failure == ""
    assert fake_openai.requests[0]["temperature"] == 0.3
    assert fake_openai.requests[0]["max_completion_tokens"] == 1200


async def test_the_narrative_carries_only_this_sessions_loops(
    make_app: AppMaker, fake_openai: FakeOpenAI
) -> None:
    """The team's causal map grows across sessions; the narrative call sends the loops of the
    links this session drew, and at most twelve."""
    app = await make_app()
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="causal commit")
    await d.cmd("Ahmed", "link", "OUDEFACTOR -> +oude druk; oude druk -> +OUDEFACTOR")
    await d.cmd("Sanne", "end")
    await d.deliver()
    reply = await d.form("Sanne", "new_session", format="custom", title="Wijk Noord 2",
                         question="En nu?", rounds="causal commit")  # fmt: skip
    assert "staat klaar" in reply and "is begonnen" in await d.cmd("Sanne", "start")
    # Thirteen two-factor loops, all this session's.
    pairs = "; ".join(f"nieuw{i} -> +terug{i}; terug{i} -> +nieuw{i}" for i in range(13))
    await d.cmd("Ahmed", "link", pairs)
    await d.cmd("Sanne", "end")
    await d.deliver()
    narrative = fake_openai.requests[-1]
    assert task_kind(narrative) == "narrative"
    data = prompt_data(narrative)
    assert "oudefactor" not in json.dumps(data).casefold()  # another session's factor
    assert len(data["loops"]) == 12 and all(
        "nieuw" in " ".join(lp["factors"]) for lp in data["loops"]
    )
