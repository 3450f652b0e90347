"""The storage ports against each implementation: SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.clock import ManualClock
from bot.outbox import OutboxDispatcher
from bot.wiring import App, build
from handlers.messages import Command, Destination, To, encode_destination
from handlers.model import (
    Commitment,
    CommitmentStatus,
    ConversationRef,
    Factor,
    InboundEvent,
    Membership,
    OutboxMessage,
    OutboxStatus,
    Person,
    Platform,
    Role,
    Session,
    SessionStatus,
    Team,
    Workspace,
)
from handlers.ports import Conflict
from prompts.catalog import t
from storage.db import create_engine
from storage.outbox import SqlOutboxWorker
from storage.tables import metadata
from tests.driver import Driver, plain, started_session

NOW = datetime(2027, 3, 9, 9, 0, tzinfo=UTC)


async def test_migrations_create_exactly_the_schema_in_tables_py(database_url: str) -> None:
    engine = create_engine(database_url)
    async with engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
        )
    await engine.dispose()
    assert diff == []


async def _seed(app: App) -> tuple[int, int, int]:
    async with app.uow() as uow:
        ws = Workspace(Platform.SLACK, "T1")
        uow.add(ws)
        await uow.flush()
        assert ws.id is not None
        anna, bram = Person(ws.id, "U1", "Anna", "GGD"), Person(ws.id, "U2", "Bram")
        team = Team(ws.id, "C1", "noord")
        for item in (anna, bram, team):
            uow.add(item)
        await uow.flush()
        assert anna.id and bram.id and team.id
        uow.add(Membership(team.id, anna.id, Role.COORDINATOR))
        uow.add(Membership(team.id, bram.id))
        await uow.commit()
        return team.id, anna.id, bram.id


async def test_directory_finds_people_teams_and_members(app: App) -> None:
    team_id, anna_id, bram_id = await _seed(app)
    async with app.uow() as uow:
        ws = await uow.directory.workspace("slack", "T1")
        assert ws is not None and ws.id is not None and ws.locale == "nl"
        person = await uow.directory.person_by_platform_id(ws.id, "U1")
        assert person is not None and person.id == anna_id and person.organisation == "GGD"
        assert await uow.directory.person_by_platform_id(ws.id, "nobody") is None
        team = await uow.directory.team_by_channel(ws.id, "C1")
        assert team is not None and team.id == team_id
        members = await uow.directory.members(team_id)
        assert [(m.role, p.display_name) for m, p in members] == [
            (Role.COORDINATOR, "Anna"), (Role.PARTICIPANT, "Bram"),
        ]  # fmt: skip
        assert [t.id for t in await uow.directory.teams_of(bram_id)] == [team_id]
        membership = await uow.directory.membership(team_id, bram_id)
        assert membership is not None and membership.role == Role.PARTICIPANT


async def test_unique_rules_hold(app: App) -> None:
    await _seed(app)
    with pytest.raises(Conflict):
        async with app.uow() as uow:
            uow.add(Workspace(Platform.SLACK, "T1"))
            await uow.commit()


async def test_sessions_commitments_and_the_causal_map(app: App) -> None:
    team_id, anna_id, bram_id = await _seed(app)
    async with app.uow() as uow:
        first = Session(team_id, "Een", "Vraag", "retro", anna_id, status=SessionStatus.CLOSED,
                        created_at=NOW)  # fmt: skip
        second = Session(team_id, "Twee", "Vraag", "retro", anna_id, created_at=NOW)
        uow.add(first)
        uow.add(second)
        await uow.flush()
        assert first.id and second.id
        uow.add(Commitment(first.id, team_id, bram_id, "bellen", date(2027, 4, 1),
                           co_owner_ids=[anna_id]))  # fmt: skip
        uow.add(Commitment(first.id, team_id, anna_id, "klaar", date(2027, 4, 1),
                           status=CommitmentStatus.DONE))  # fmt: skip
        uow.add(Factor(team_id, "Wachtlijst", "wachtlijst"))
        await uow.commit()
    async with app.uow() as uow:
        current = await uow.sessions.current_for_team(team_id)
        assert current is not None and current.title == "Twee"
        assert [s.title for s in await uow.sessions.for_team(team_id)] == ["Een", "Twee"]
        assert [c.text for c in await uow.commitments.open_for_team(team_id)] == ["bellen"]
        assert [c.text for c in await uow.commitments.for_person(anna_id)] == ["bellen"]
        assert len(await uow.commitments.for_session(first.id)) == 2
        factor = await uow.causal.factor_by_key(team_id, "wachtlijst")
        assert factor is not None and factor.name == "Wachtlijst"
        stored = await uow.get(Session, second.id)
        assert stored is not None and stored.created_at == NOW and stored.created_at.tzinfo


async def test_a_naive_datetime_is_refused(app: App) -> None:
    team_id, anna_id, _ = await _seed(app)
    with pytest.raises(sa.exc.StatementError):
        async with app.uow() as uow:
            uow.add(Session(team_id, "x", "y", "retro", anna_id, created_at=datetime(2027, 1, 1)))
            await uow.commit()


def _message(key: str, due: datetime) -> OutboxMessage:
    return OutboxMessage(key, "test", encode_destination(Destination.dm(1)), {"blocks": []}, due)


async def test_outbox_stores_a_dedupe_key_once(app: App) -> None:
    async with app.uow() as uow:
        assert await uow.outbox.enqueue(_message("k1", NOW))
        assert not await uow.outbox.enqueue(_message("k1", NOW))
        assert await uow.outbox.enqueue(_message("k2", NOW + timedelta(hours=1)))
        await uow.commit()
    async with app.uow() as uow:
        assert [m.dedupe_key for m in await uow.outbox.pending()] == ["k1", "k2"]
        assert [m.dedupe_key for m in await uow.outbox.pending(due_before=NOW)] == ["k1"]


async def test_inbox_records_an_event_once(app: App) -> None:
    async with app.uow() as uow:
        assert await uow.inbox.record(InboundEvent("Ev1", Platform.SLACK, NOW))
        await uow.commit()
    async with app.uow() as uow:
        assert not await uow.inbox.record(InboundEvent("Ev1", Platform.SLACK, NOW))


async def test_claims_take_due_rows_once_until_the_lease_runs_out(app: App) -> None:
    async with app.uow() as uow:
        await uow.outbox.enqueue(_message("due", NOW))
        await uow.outbox.enqueue(_message("later", NOW + timedelta(minutes=5)))
        await uow.commit()
    worker = app.outbox
    claimed = await worker.claim_due(NOW, lease_seconds=60, limit=10)
    assert [m.dedupe_key for m in claimed] == ["due"] and claimed[0].attempts == 1
    assert await worker.claim_due(NOW + timedelta(seconds=30), 60, 10) == []  # leased
    again = await worker.claim_due(NOW + timedelta(seconds=61), 60, 10)  # the worker died
    assert [m.dedupe_key for m in again] == ["due"] and again[0].attempts == 2
    assert again[0].id is not None
    await worker.mark_sent(again[0].id, NOW + timedelta(seconds=62))
    assert [m.dedupe_key for m in await worker.claim_due(NOW + timedelta(hours=1), 60, 10)] == [
        "later"
    ]
    async with app.uow() as uow:
        sent = await uow.get(OutboxMessage, again[0].id)
        assert sent is not None and sent.status == OutboxStatus.SENT and sent.sent_at


async def test_concurrent_workers_never_claim_the_same_row(database_url: str) -> None:
    clock = ManualClock(NOW)
    apps = [await build(database_url, clock, migrate=False) for _ in range(3)]
    try:
        async with apps[0].uow() as uow:
            for i in range(300):
                await uow.outbox.enqueue(_message(f"m{i}", NOW))
            await uow.commit()

        async def drain(worker: SqlOutboxWorker) -> list[int]:
            got: list[int] = []
            while batch := await worker.claim_due(NOW, 60, 7):
                got += [m.id for m in batch if m.id is not None]
            return got

        results = await asyncio.gather(*(drain(a.outbox) for a in apps for _ in range(2)))
        everything = [i for r in results for i in r]
        assert len(everything) == 300 and len(set(everything)) == 300
    finally:
        for a in apps:
            await a.close()


async def test_concurrent_writers_queue_instead_of_failing(app: App) -> None:
    d = Driver(app)
    await started_session(d)
    names = [f"P{i}" for i in range(12)]
    for name in names:
        await d.cmd(name, "join")
    replies = await asyncio.gather(*(d.cmd(n, "add", f"antwoord van {n}") for n in names))
    assert all("opgeslagen" in r for r in replies)
    assert await d.count("contributions") == len(names)


async def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(sqlite_app: App) -> None:
    async with sqlite_app.engine.connect() as conn:
        assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
        assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 5000
        assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1


async def test_one_look_up_finds_someone_acting_in_a_channel(app: App) -> None:
    team_id, anna_id, _ = await _seed(app)
    async with app.uow() as uow:
        ws, person, team, membership = await uow.directory.in_channel("slack", "T1", "U1", "C1")
        assert ws is not None and person is not None and person.id == anna_id
        assert team is not None and team.id == team_id
        assert membership is not None and membership.role == Role.COORDINATOR
        ws, person, team, membership = await uow.directory.in_channel("slack", "T1", "U9", "C9")
        assert ws is not None and (person, team, membership) == (None, None, None)
        assert await uow.directory.in_channel("slack", "T9", "U1", "C1") == (None,) * 4


async def test_the_open_round_of_a_running_session(app: App) -> None:
    d = Driver(app)
    async with app.uow() as uow:
        assert await uow.sessions.open_round(1) is None
    await started_session(d, fmt="custom", rounds="checkin commit")
    async with app.uow() as uow:
        found = await uow.sessions.open_round(1)
    assert found is not None and found[1].name == "checkin" and found[0].title == "Wijk Noord"
    await d.cmd("Sanne", "end")
    async with app.uow() as uow:
        assert await uow.sessions.open_round(1) is None


async def test_first_events_in_a_new_channel_at_once_make_one_team(app: App) -> None:
    d = Driver(app)
    names = [f"P{i}" for i in range(6)]
    replies = await asyncio.gather(*(d.cmd(n, "join") for n in names))
    assert all("Welkom bij" in r for r in replies)
    assert await d.count("teams") == 1 and await d.count("memberships") == len(names)
    assert await d.count("workspaces") == 1
    async with app.uow() as uow:
        roles = [m.role for m, _ in await uow.directory.members(1)]
    assert roles.count(Role.COORDINATOR) == 1


async def test_quick_votes_of_one_person_never_exceed_the_budget(app: App) -> None:
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="start-stop-continue group vote")
    for text in ("start: a", "stop: b", "continue: c"):
        await d.cmd("Ahmed", "add", text)
    await d.cmd("Sanne", "next")
    await d.cmd("Sanne", "next")
    # Six clicks at once on different themes with a budget of three.
    await asyncio.gather(*(d.cmd("Ahmed", "vote", str(n % 3 + 1)) for n in range(6)))
    async with app.uow() as uow:
        rounds = await uow.sessions.rounds((await uow.sessions.for_team(1))[0].id or 0)
        vote_round = next(r for r in rounds if r.kind.value == "vote")
        dots = sum(v.dots for v in await uow.sessions.votes(vote_round.id or 0))
    assert dots == 3


async def test_the_ballot_counts_the_rounds_with_or_without_themes(app: App) -> None:
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="start-stop-continue group vote")
    async with app.uow() as uow:
        assert await uow.sessions.ballot(1, 3) == (3, [])  # the group round has no themes yet
    await d.cmd("Ahmed", "add", "start: samen eten")
    await d.cmd("Sanne", "next")
    await d.cmd("Sanne", "next")
    async with app.uow() as uow:
        total, themes = await uow.sessions.ballot(1, 3)
    assert total == 3 and [th.title for th in themes] == ["samen eten"]


async def test_votes_at_once_each_draw_a_page_that_counts_every_vote_before_it(app: App) -> None:
    """Ten people vote on one theme at once: each new page counts every vote stored before
    it (1, 2, … 10), so the page sent last shows them all. Votes that read the counts side by
    side (PostgreSQL, four events at once) drew pages that missed each other."""
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="start-stop-continue group vote")
    await d.cmd("Ahmed", "add", "start: samen eten")
    await d.cmd("Sanne", "next")
    await d.cmd("Sanne", "next")
    voters = [f"Stemmer{n}" for n in range(10)]
    for name in voters:
        await d.cmd(name, "join")

    async def vote(name: str) -> str:
        outcome = await app.coulisse.handle(Command("vote", d.actor(name), d.place, args="1"))
        pages = [r.message for r in outcome.replies if r.to == To.ACTED_ON]
        assert len(pages) == 1, outcome
        return plain(pages[0])

    pages = await asyncio.gather(*(vote(name) for name in voters))
    shown = [
        next(k for k in range(1, 11) if t("nl", "votes.line", number=1, title="samen eten",
                                           dots=k) in page)
        for page in pages
    ]  # fmt: skip
    assert sorted(shown) == list(range(1, 11))


async def test_a_slow_batch_hands_back_what_it_could_not_send_within_its_lease(app: App) -> None:
    async with app.uow() as uow:
        for i in range(6):
            await uow.outbox.enqueue(_message(f"slow{i}", NOW))
        await uow.commit()
    sent: list[str] = []

    async def slow_send(item: OutboxMessage, _to: object, _message: object) -> None:
        await asyncio.sleep(0.3)
        sent.append(item.dedupe_key)

    dispatcher = OutboxDispatcher(app.outbox, slow_send, ManualClock(NOW), lease_seconds=1)
    await dispatcher.run_once()
    # Past half of the one-second lease the rest went back, unleased and with no attempt used.
    assert 1 <= len(sent) <= 3
    async with app.uow() as uow:
        back = [m for m in await uow.outbox.pending() if m.dedupe_key not in sent]
    assert len(back) == 6 - len(sent)
    assert all(m.lease_until is None and m.attempts == 0 for m in back)


async def test_a_stopping_dispatcher_claims_nothing_and_hands_back_its_batch(app: App) -> None:
    async with app.uow() as uow:
        for i in range(4):
            await uow.outbox.enqueue(_message(f"stop{i}", NOW))
        await uow.commit()
    sent: list[str] = []
    dispatcher: OutboxDispatcher

    async def send_then_stop(item: OutboxMessage, _to: object, _message: object) -> None:
        sent.append(item.dedupe_key)
        dispatcher.stop()  # SIGTERM arrives while the first message is going out

    dispatcher = OutboxDispatcher(app.outbox, send_then_stop, ManualClock(NOW))
    await dispatcher.drain()
    assert sent == ["stop0"]
    async with app.uow() as uow:
        pending = await uow.outbox.pending()
    assert [m.dedupe_key for m in pending] == ["stop1", "stop2", "stop3"]
    assert all(m.lease_until is None for m in pending)
    assert await dispatcher.run_once() == 0


async def test_two_first_messages_to_one_person_save_one_conversation(app: App) -> None:
    async with app.uow() as first, app.uow() as second:
        await first.conversations.save(
            ConversationRef(Platform.SLACK, "person", 7, {"channel": "D1"})
        )
        await first.commit()
        await second.conversations.save(
            ConversationRef(Platform.SLACK, "person", 7, {"channel": "D2"})
        )
        await second.commit()
    async with app.uow() as uow:
        ref = await uow.conversations.find("slack", "person", 7)
    assert ref is not None and ref.reference == {"channel": "D2"}


async def test_first_dm_channels_of_two_batches_are_saved_without_clashing(app: App) -> None:
    def dm(owner: int, channel: str) -> ConversationRef:
        return ConversationRef(Platform.SLACK, "person", owner, {"channel": channel})

    async with app.uow() as first, app.uow() as second:
        await first.conversations.save_all([dm(7, "D7"), dm(8, "D8")])
        await first.commit()
        # Another worker's batch opened 8 too, and 9 twice: the latest of each is kept.
        await second.conversations.save_all([dm(9, "E9"), dm(8, "E8"), dm(9, "F9")])
        await second.commit()
    async with app.uow() as uow:
        refs = await uow.conversations.find_all("slack", "person", [7, 8, 9, 10])
    assert [(r.owner_id, r.reference["channel"]) for r in refs] == [
        (7, "D7"),
        (8, "E8"),
        (9, "F9"),
    ]
