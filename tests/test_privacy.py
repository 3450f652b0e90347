"""The right to be forgotten: after `forget-me` no table holds the person's id or name, their
pending nudges are gone, and what the team made still renders without them."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.clock import ManualClock
from bot.export.files import FORMATS, render
from bot.wiring import App, build
from handlers.messages import decode_message
from handlers.model import ConversationRef, OutboxStatus, Platform, Suggestion
from handlers.reports import build_summary
from prompts.catalog import t
from storage.tables import metadata
from tests.conftest import START
from tests.driver import Driver, plain, started_session


async def everything_stored(app: App) -> str:
    """Every row of every table, as text."""
    rows = []
    async with app.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in (await conn.execute(sa.select(table))).all():
                rows.append(json.dumps([str(v) for v in row], ensure_ascii=False))
    return "\n".join(rows).casefold()


async def test_forget_me_leaves_no_trace_and_the_team_keeps_its_work(
    app: App, clock: ManualClock
) -> None:
    d = Driver(app, organisations={"Ahmed": "wijkteam"})
    await started_session(d, fmt="custom", rounds="start-stop-continue group vote commit")
    await d.cmd("Ahmed", "add", "stop: dubbele intakes", key="slack:event:ahmed-1")
    await d.cmd("Fleur", "add", "start: samen lunchen")
    await d.cmd("Sanne", "next")
    await d.cmd("Sanne", "next")
    await d.cmd("Ahmed", "vote", "1")
    await d.cmd("Sanne", "next")
    due = (clock.now() + timedelta(days=14)).date().isoformat()
    await d.form("Ahmed", "commit", text="Intake proberen", due=due, mode="co-create")
    await d.form(
        "Fleur", "commit", text="Lunch plannen", due=due, mode="co-produce", co_owners="Ahmed"
    )
    await d.action("Ahmed", "checkin", "1:in_progress")
    async with app.uow() as uow:
        ahmed = await uow.directory.person_by_platform_id(1, "ahmed")
        assert ahmed is not None and ahmed.id is not None
        await uow.conversations.save(
            ConversationRef(Platform.SLACK, "person", ahmed.id, {"channel": "Dahmed"})
        )
        await uow.commit()
    assert "ahmed" in await everything_stored(app)
    assert (await d.count("outbox")) > 0

    reply = await d.cmd("Ahmed", "vergeet-mij")
    assert "Je bent vergeten" in reply
    stored = await everything_stored(app)
    assert "ahmed" not in stored and "wijkteam" not in stored
    async with app.uow() as uow:
        pending = [m for m in await uow.outbox.pending() if m.person_id == ahmed.id]
        session = (await uow.sessions.for_team(1))[0]
        summary = await build_summary(uow, session)
    assert pending == []
    texts = [a.text for r in summary.rounds for a in r.contributions]
    assert "dubbele intakes" in texts  # the team's work stays, without him
    owners = {c.text: (c.owner, c.co_owners) for c in summary.commitments}
    assert owners["Intake proberen"][0] == "voormalig deelnemer"
    assert owners["Lunch plannen"][1] == 0
    for fmt in FORMATS:  # every export still renders, without him
        assert "ahmed" not in render(summary, fmt, "nl").decode("utf-8", "replace").casefold()


async def test_privacy_explains_what_is_kept(app: App) -> None:
    d = Driver(app)
    await started_session(d)
    answer = await d.cmd("Ahmed", "privacy")
    assert "bewaartermijn" in answer and "zonder je naam" in answer


@pytest.mark.parametrize(
    ("days", "key", "params"),
    [(730, "people.retention_years", {"years": 2}), (90, "people.retention_days", {"days": 90})],
)
async def test_the_privacy_text_names_the_retention_period_that_is_set(
    tmp_path: Path, days: int, key: str, params: dict[str, int]
) -> None:
    app = await build(f"sqlite:///{tmp_path / 'kept.db'}", ManualClock(START), retention_days=days)
    try:
        d = Driver(app)
        await started_session(d)
        for lang, name in (("nl", "Ahmed"), ("en", "Fleur")):
            if lang == "en":
                await d.cmd(name, "taal", "en")
            assert t(lang, key, **params) in await d.cmd(name, "privacy"), lang
    finally:
        await app.close()


async def test_operators_forget_by_id_and_purge_past_retention(
    sqlite_app: App, sqlite_url: str
) -> None:
    import asyncio

    from typer.testing import CliRunner

    from bot.cli import app as cli

    d = Driver(sqlite_app)
    await started_session(d)
    await d.cmd("Ahmed", "add", "Moe")
    env = {"COULISSE_DATABASE_URL": sqlite_url}
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli, list(args), env=env)
        return result.exit_code, result.output

    assert await asyncio.to_thread(run, "forget", "ahmed") == (
        0,
        "forgotten: 1 record(s) of 'ahmed'\n",
    )
    code, _ = await asyncio.to_thread(run, "forget", "nobody")
    assert code == 2
    assert "ahmed" not in await everything_stored(sqlite_app)
    # The fake clock made the session in 2027, after today: nothing is past retention yet.
    assert await asyncio.to_thread(run, "purge", "--older-than", "100000") == (
        0,
        "purged: 0 session(s)\n",
    )
    assert await d.count("sessions") == 1
    async with sqlite_app.uow() as uow:
        session = (await uow.sessions.for_team(1))[0]
        assert session.created_at is not None
        session.created_at -= timedelta(days=2000)
        uow.add(session)
        await uow.commit()
    assert await asyncio.to_thread(run, "purge") == (0, "purged: 1 session(s)\n")
    assert await d.count("sessions") == 0 and await d.count("contributions") == 0


def test_organisations_with_fewer_than_three_people_count_as_other() -> None:
    from collections import Counter

    from handlers.reports import small_groups_merged

    counts = Counter({"GGD": 3, "school": 2, "wijkteam": 1, "gemeente": 4})
    assert small_groups_merged(counts, "overige") == Counter(
        {"GGD": 3, "gemeente": 4, "overige": 3}
    )


async def test_forget_removes_the_name_from_what_others_wrote_and_from_sent_messages(
    app: App, clock: ManualClock
) -> None:
    """In an open session the reveal names authors, and others write about the person:
    after `forget` neither the messages (sent or pending) nor anyone's words hold the name."""
    d = Driver(app)
    await started_session(
        d, fmt="custom", rounds="start-stop-continue group vote commit", anonymous="no"
    )
    await d.cmd("Ahmed", "add", "stop: dubbele intakes")
    await d.cmd("Fleur", "add", "start: Ahmed belt elke familie")
    await d.cmd("Joost", "add", "continue: overleg met @ahmed en AHMED")
    await d.cmd("Sanne", "next")  # the reveal, with the authors' names, goes to the channel
    await d.deliver()
    async with app.uow() as uow:
        session = (await uow.sessions.for_team(1))[0]
        assert session.id is not None
        first = (await uow.sessions.rounds(session.id))[0]
        draft = {"text": "Ahmed neemt de telefoon op"}
        uow.add(Suggestion(session.id, "by-hand", "synthesis", 0, draft, "assistant"))
        await uow.commit()
    revealed = [s.text for s in d.sent if s.kind == "reveal"]
    assert revealed and "Ahmed" in revealed[0]  # an open session names the authors
    await d.cmd("Fleur", "add", "Ahmed weet het")  # a pending prompt or reveal may name him too

    assert "Je bent vergeten" in await d.cmd("Ahmed", "vergeet-mij")
    stored = await everything_stored(app)
    assert "ahmed" not in stored
    assert "[naam] belt elke familie" in stored
    async with app.uow() as uow:
        reveal = await uow.outbox.by_key(f"reveal:{first.id}")
        done = await uow.outbox.all_done()
        session = (await uow.sessions.for_team(1))[0]
        summary = await build_summary(uow, session)
    assert reveal is not None and reveal.status == OutboxStatus.SENT  # its key stops a re-reveal
    assert "[naam]" in plain(decode_message(reveal.payload))
    for item in done:
        if "nudge" not in item.payload:
            decode_message(item.payload)  # still a message an adapter can render
    texts = [a.text for r in summary.rounds for a in r.contributions]
    assert "[naam] belt elke familie" in texts
    for fmt in FORMATS:
        assert "ahmed" not in render(summary, fmt, "nl").decode("utf-8", "replace").casefold()


async def test_purge_takes_the_sessions_messages_and_links_with_it(
    app: App, clock: ManualClock
) -> None:
    """What the bot said about a purged session (its question, prompts, revealed answers) and
    the causal links drawn in it go too; a later session and its map stay."""
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="start-stop-continue causal commit")
    await d.cmd("Ahmed", "add", "stop: geheime wachtkamer")
    await d.cmd("Sanne", "next")  # the reveal of "geheime wachtkamer" goes out
    await d.cmd("Fleur", "link", "Oude wachtlijst -> meer Druk")
    await d.cmd("Sanne", "next")
    due = (clock.now() + timedelta(days=30)).date().isoformat()
    await d.form("Ahmed", "commit", text="Oud plan", due=due, mode="co-create")
    await d.deliver()
    await d.cmd("Sanne", "end")
    await d.deliver()
    assert "geheime wachtkamer" in await everything_stored(app)

    clock.advance(timedelta(days=800))
    await d.action("Ahmed", "checkin", "1:done")  # so the next session does not review it
    reply = await d.form(
        "Sanne", "new_session", format="custom", rounds="causal", title="Nieuw", question="En nu?"
    )
    assert "staat klaar" in reply, reply
    await d.cmd("Sanne", "start")
    await d.cmd("Fleur", "link", "Druk -> meer Verzuim")
    old_nudges = "outbox WHERE status = 'pending' AND dedupe_key LIKE 'overdue:1'"
    assert await d.count(old_nudges) == 1  # a nudge about the old commitment, not yet due
    async with app.uow() as uow:
        assert await uow.privacy.purge(clock.now() - timedelta(days=730)) == 1
        await uow.commit()

    stored = await everything_stored(app)
    for gone in ("geheime wachtkamer", "wat nu?", "wijk noord", "oud plan", "oude wachtlijst"):
        assert gone not in stored, gone
    assert "nieuw" in stored and "verzuim" in stored
    async with app.uow() as uow:
        links = await uow.causal.links(1)
        factors = {f.name for f in await uow.causal.factors(1)}
        pending = await uow.outbox.pending()
    assert len(links) == 1 and all(link.session_id is not None for link in links)
    assert factors == {"Druk", "Verzuim"}
    assert await d.count(old_nudges) == 0
    assert all("commitment_id" not in str(m.payload) for m in pending)
    assert await d.count("inbox WHERE received_at < '2028-01-01'") == 0


async def test_when_the_only_coordinator_is_forgotten_the_longest_member_takes_over(
    app: App,
) -> None:
    d = Driver(app)
    await started_session(d)  # Sanne coordinates; Ahmed joined next
    assert "Je bent vergeten" in await d.cmd("Sanne", "vergeet-mij")
    async with app.uow() as uow:
        roles = {p.display_name: m.role.value for m, p in await uow.directory.members(1)}
    assert roles == {
        "Ahmed": "coordinator",
        "Fleur": "participant",
        "Joost": "participant",
    }
    told = [s for s in await d.deliver() if s.kind == "role"]
    assert [s.to.id for s in told] == [2] and "coördinator van team-noord" in told[0].text
    # and can hand the role on, which needs a coordinator
    assert "Fleur is nu coördinator" in await d.cmd("Ahmed", "role", "Fleur coordinator")


async def test_answers_lose_their_author_when_the_session_closes(app: App) -> None:
    """The link to the author is only there to let them change their answer while it runs."""
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="start-stop-continue commit")
    await d.cmd("Ahmed", "add", "stop: dubbele intakes")
    await d.cmd("Fleur", "add", "start: samen lunchen")
    authors = "contributions WHERE author_id IS NOT NULL"
    assert await d.count(authors) == 2
    await d.cmd("Sanne", "next")
    assert await d.count(authors) == 2  # the session still runs
    assert "is gesloten" in await d.cmd("Sanne", "end")
    assert await d.count(authors) == 0 and await d.count("contributions") == 2
    async with app.uow() as uow:
        session = (await uow.sessions.for_team(1))[0]
        summary = await build_summary(uow, session)
    revealed = [s.text for s in await d.deliver() if s.kind == "reveal"]
    assert "2 bijdragen van 2 van de 4 mensen." in revealed[0]  # counted before the close
    assert summary.participants.total == 4
    assert len(summary.rounds[0].contributions) == 2


async def test_forget_keeps_the_votes_without_the_voter(app: App) -> None:
    """The team's choice stays as it was recorded: the dots count, nobody cast them."""
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="start-stop-continue group vote")
    await d.cmd("Ahmed", "add", "stop: dubbele intakes")
    await d.cmd("Fleur", "add", "start: samen lunchen")
    await d.cmd("Sanne", "next")
    await d.cmd("Sanne", "next")
    for voter in ("Ahmed", "Fleur", "Joost"):
        await d.cmd(voter, "vote", "1")
    async with app.uow() as uow:
        vote_round = (await uow.sessions.rounds(1))[2]
        assert vote_round.id is not None
        before = await uow.sessions.vote_counts(vote_round.id)
    assert sum(before.values()) == 3
    await d.cmd("Ahmed", "vergeet-mij")
    await d.cmd("Joost", "vergeet-mij")  # two forgotten voters on one theme
    async with app.uow() as uow:
        assert await uow.sessions.vote_counts(vote_round.id) == before
        votes = await uow.sessions.votes(vote_round.id)
        session = (await uow.sessions.for_team(1))[0]
        summary = await build_summary(uow, session)
    assert sorted(v.person_id is None for v in votes) == [False, True, True]
    assert sum(th.votes for th in summary.themes) == 3
    assert "ahmed" not in await everything_stored(app)
