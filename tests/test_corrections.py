"""People correct what they said: their answer until the reveal, a commitment's text, date,
way of working, owner and co-owners; a retyped commitment is asked about, not stored twice; a
forgotten person's commitments go to the coordinators. On SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import sqlalchemy as sa

from bot.clock import ManualClock
from bot.wiring import App
from handlers.commitments import MAX_YEARS_AHEAD, alike
from handlers.messages import ActionTaken, Choices, Command, FormSubmitted, Place, To, Typed
from handlers.model import CommitmentMode, CommitmentStatus, OutboxStatus
from handlers.people import forget_person
from handlers.when import day_text
from prompts.catalog import t
from tests.driver import Driver, recorded, started_session

DM = Place("dm")


async def in_dm(d: Driver, who: str, text: str) -> str:
    outcome = await d.app.coulisse.handle(Typed(text, d.actor(who), DM))
    return d.text(outcome.messages)


async def answers(app: App) -> list[tuple[str, int | None]]:
    async with app.uow() as uow:
        rows = await uow.sessions.contributions(list(range(1, 20)))
        return [(c.text, c.author_id) for c in rows]


def buttons(outcome_messages: list) -> dict[str, tuple[str, str]]:
    """label -> (action id, value) of every button in the messages."""
    return {
        a.label: (a.id, a.value)
        for m in outcome_messages
        for b in m.blocks
        if isinstance(b, Choices)
        for a in b.actions
    }


# --- answers ----------------------------------------------------------------------------------


async def test_an_answer_can_be_changed_and_withdrawn_until_the_reveal(app: App) -> None:
    d = Driver(app)
    await started_session(d)
    await in_dm(d, "Ahmed", "Moe")
    await in_dm(d, "Ahmed", "Benieuwd naar de wachtlijst")
    await in_dm(d, "Fleur", "Blij")
    listed = await in_dm(d, "Ahmed", "antwoorden")
    assert t("nl", "contributions.yours_heading", count=2) in listed
    assert "Moe" in listed and "Blij" not in listed  # only one's own

    changed = await in_dm(d, "Ahmed", "/wijzig 1 Moe maar hoopvol")
    assert changed == t("nl", "contributions.changed", text="Moe maar hoopvol")
    assert await in_dm(d, "Ahmed", "intrekken 2") == t("nl", "contributions.withdrawn")
    assert [a for a, _ in await answers(app)] == ["Moe maar hoopvol", "Blij"]

    # A number that is not there, someone else's answer by its id: refused, nothing changes.
    assert await in_dm(d, "Ahmed", "intrekken 5") == t(
        "nl", "contributions.no_such_answer", number="5", count=1
    )
    async with app.uow() as uow:
        fleurs = next(c for c in await uow.sessions.contributions([1]) if c.text == "Blij")
    outcome = await app.coulisse.handle(
        ActionTaken("withdraw_answer", str(fleurs.id), d.actor("Ahmed"), DM)
    )
    assert d.text(outcome.messages) == t("nl", "contributions.not_yours")
    assert outcome.refused and [a for a, _ in await answers(app)] == ["Moe maar hoopvol", "Blij"]

    await d.cmd("Sanne", "next")  # the reveal: the team sees the answers as they are now
    reveal = next(s for s in await d.deliver() if s.kind == "reveal")
    assert "Moe maar hoopvol" in reveal.text and "wachtlijst" not in reveal.text
    assert t("nl", "rounds.reveal_counts", count=2, people=2, members=4) in reveal.text
    # After the reveal the answer stays as the team saw it.
    async with app.uow() as uow:
        mine = next(c for c in await uow.sessions.contributions([1]) if c.text.startswith("Moe"))
    outcome = await app.coulisse.handle(
        ActionTaken("withdraw_answer", str(mine.id), d.actor("Ahmed"), DM)
    )
    assert outcome.refused
    assert d.text(outcome.messages) == t("nl", "contributions.revealed")
    assert len(await answers(app)) == 2


async def test_the_confirmation_has_change_and_withdraw_buttons_and_the_form_is_filled_in(
    app: App,
) -> None:
    d = Driver(app)
    await started_session(d)
    stored = await app.coulisse.handle(Typed("Moe", d.actor("Joost"), DM))
    assert t("nl", "contributions.stored_anonymous", category="") in d.text(stored.messages)
    found = buttons(stored.messages)
    change_id, change_value = found[t("nl", "contributions.change_button")]
    assert change_id == "form"
    opened = await app.coulisse.handle(ActionTaken("form", change_value, d.actor("Joost"), DM))
    form = opened.to(To.FORM)[0].form
    assert form is not None and form.fields[0].value == "Moe"  # type: ignore[union-attr]
    done = await app.coulisse.handle(
        FormSubmitted(form.id, {"text": "Toch blij"}, d.actor("Joost"), DM, form.context)
    )
    assert not done.refused and [a for a, _ in await answers(app)] == ["Toch blij"]
    # Someone else cannot open it, let alone save it.
    other = await app.coulisse.handle(ActionTaken("form", change_value, d.actor("Fleur"), DM))
    assert other.refused
    withdraw_id, withdraw_value = found[t("nl", "contributions.withdraw_button")]
    gone = await app.coulisse.handle(ActionTaken(withdraw_id, withdraw_value, d.actor("Joost"), DM))
    assert d.text(gone.messages) == t("nl", "contributions.withdrawn")
    assert await answers(app) == []


async def test_the_privacy_text_says_what_is_true() -> None:
    for lang, word in (("nl", "antwoorden"), ("en", "answers")):
        text = t(lang, "people.privacy", period=t(lang, "people.retention_years", years=2))
        assert f'"{word}"' in text  # the command it names exists and lists one's answers
        assert ("intrekken" if lang == "nl" else "withdraw") in text


# --- commitments ------------------------------------------------------------------------------


async def commit_round(d: Driver) -> None:
    await started_session(d, fmt="custom", rounds="commit")


async def ahmed_commits(d: Driver, clock: ManualClock, *texts: str, **more: str) -> None:
    """A commit round in which Ahmed commits to each of `texts`, co-produced, due in two weeks."""
    await commit_round(d)
    due = (clock.now() + timedelta(days=14)).date().isoformat()
    for text in texts:
        await d.form("Ahmed", "commit", text=text, due=due, mode="co-produce", **more)


async def test_a_commitment_without_a_way_of_working_is_asked_about(
    app: App, clock: ManualClock
) -> None:
    d = Driver(app)
    await commit_round(d)
    due = (clock.now() + timedelta(days=7)).date().isoformat()
    reply = await d.form("Ahmed", "commit", text="Huisartsen bellen", due=due)
    assert reply == t("nl", "commitments.which_mode")
    assert await d.count("commitments") == 0
    reply = await d.form("Ahmed", "commit", text="Huisartsen bellen", due=due, mode="samen doen")
    assert await d.count("commitments") == 1
    assert reply == recorded("nl", 1, "Huisartsen bellen", due)


async def test_a_due_date_typed_as_a_weekday_is_said_back_in_words(
    app: App, clock: ManualClock
) -> None:
    d = Driver(app)
    await commit_round(d)
    reply = await d.form("Ahmed", "commit", text="Scholen bellen", due="vrijdag", mode="samen doen")
    today = clock.now().date()
    friday = today + timedelta(days=(4 - today.weekday()) % 7)
    assert day_text("nl", friday) in reply
    assert friday.isoformat() not in reply  # the words, not the date's digits


async def test_a_due_date_years_away_is_refused_politely_and_nothing_is_stored(
    app: App, clock: ManualClock
) -> None:
    d = Driver(app)
    await commit_round(d)
    too_far = t("nl", "errors.date_too_far", years=MAX_YEARS_AHEAD)
    before = await d.snapshot()
    for due in ("9999-12-31", "1-1-2202"):  # the calendar's end; a typo for 2026
        reply = await d.form("Ahmed", "commit", text="Bellen", due=due, mode="samen doen")
        assert reply == too_far, due
    assert await d.snapshot() == before  # no commitment, no check-ins planned
    due = (clock.now() + timedelta(days=7)).date().isoformat()
    await d.form("Ahmed", "commit", text="Bellen", due=due, mode="samen doen")
    before = await d.snapshot()
    assert await d.cmd("Ahmed", "edit", "1 datum 9999-12-30") == too_far
    assert await d.snapshot() == before


async def test_a_retyped_commitment_is_asked_about_not_stored_twice(
    app: App, clock: ManualClock
) -> None:
    d = Driver(app)
    await commit_round(d)
    due = (clock.now() + timedelta(days=7)).date().isoformat()
    await d.form("Ahmed", "commit", text="Huisartsen bellen over de wachtlijst", due=due,
                 mode="co-produce")  # fmt: skip
    again = await d.form("Ahmed", "commit", text="huisartsen  bellen over de wachtlijst!",
                         due=due, mode="co-produce")  # fmt: skip
    assert again == t(
        "nl",
        "commitments.duplicate_question",
        number=1,
        text="Huisartsen bellen over de wachtlijst",
    )
    typo = await d.form("Ahmed", "commit", text="Huisartsen belen over de wachtlijst", due=due,
                        mode="co-produce")  # fmt: skip
    assert typo == again
    assert await d.count("commitments") == 1
    # Someone else's, or a different one of one's own: stored.
    assert await d.form(
        "Fleur", "commit", text="Huisartsen bellen over de wachtlijst", due=due, mode="co-produce"
    ) == recorded("nl", 2, "Huisartsen bellen over de wachtlijst", due)
    assert await d.form(
        "Ahmed", "commit", text="Scholen bellen over de lunch", due=due, mode="co-produce"
    ) == recorded("nl", 3, "Scholen bellen over de lunch", due)
    # Once the first is done, the same words are a new commitment.
    await d.cmd("Ahmed", "checkin", "1 klaar")
    assert await d.form(
        "Ahmed", "commit", text="Huisartsen bellen over de wachtlijst", due=due, mode="co-produce"
    ) == recorded("nl", 4, "Huisartsen bellen over de wachtlijst", due)
    assert await d.count("commitments") == 4


async def test_the_owner_edits_text_date_mode_and_co_owners_and_check_ins_follow(
    app: App, clock: ManualClock
) -> None:
    d = Driver(app)
    await commit_round(d)
    due = (clock.now() + timedelta(days=14)).date()
    await d.form("Ahmed", "commit", text="Intake proberen", due=due.isoformat(), mode="co-produce")
    later = due + timedelta(days=14)
    reply = await d.cmd("Ahmed", "edit", f"1 datum {later.isoformat()}")
    assert reply.startswith(t("nl", "commitments.changed", line="", owner="", others="")[:11])
    assert day_text("nl", later) in reply  # the new date said back in words
    await d.cmd("Ahmed", "edit", "1 manier samen maken")
    await d.cmd("Ahmed", "edit", "1 met Fleur, Joost")
    await d.cmd("Ahmed", "edit", "1 tekst Eén intake voor alle gezinnen")
    async with app.uow() as uow:
        c = (await uow.commitments.for_team(1))[0]
        assert (c.text, c.due_date, c.mode) == (
            "Eén intake voor alle gezinnen",
            later,
            CommitmentMode.CO_CREATE,
        )
        people = {p.display_name: p.id for _, p in await uow.directory.members(1)}
        assert c.co_owner_ids == [people["Fleur"], people["Joost"]]
        due_row = await uow.outbox.by_key("checkin:1:due")
        assert due_row is not None and due_row.status == OutboxStatus.PENDING
        # The due-date check-in moved with the date (09:00 on the new day, Amsterdam).
        assert due_row.due_at.date() == later
    await d.cmd("Ahmed", "edit", "1 met -")
    async with app.uow() as uow:
        assert (await uow.commitments.for_team(1))[0].co_owner_ids == []

    # The form: filled in, fields left empty keep their value.
    outcome = await app.coulisse.handle(Command("edit", d.actor("Ahmed"), d.place, args="1"))
    form = outcome.to(To.FORM)[0].form
    assert form is not None and form.id == "edit_commitment"
    assert form.fields[0].value == "Eén intake voor alle gezinnen"  # type: ignore[union-attr]
    saved = await app.coulisse.handle(
        FormSubmitted(
            form.id,
            {"text": "Eén intake", "due": "", "mode": "", "owner": "", "co_owners": "Fleur"},
            d.actor("Ahmed"),
            d.place,
            form.context,
        )
    )
    assert not saved.refused
    async with app.uow() as uow:
        c = (await uow.commitments.for_team(1))[0]
        assert (c.text, c.due_date, c.mode) == ("Eén intake", later, CommitmentMode.CO_CREATE)
        assert c.co_owner_ids == [people["Fleur"]]


async def test_only_the_owner_or_a_coordinator_edits_and_a_new_owner_gets_the_check_ins(
    app: App, clock: ManualClock
) -> None:
    d = Driver(app)
    await ahmed_commits(d, clock, "Intake proberen")
    before = await d.snapshot()
    refused = await d.cmd("Fleur", "edit", "1 tekst Iets anders")
    assert refused == t("nl", "errors.not_your_commitment", number="1")
    outcome = await app.coulisse.handle(Command("edit", d.actor("Fleur"), d.place, args="1"))
    assert outcome.refused and not outcome.to(To.FORM)
    # Nor does the form's submission, sent without the form (a platform replays what it holds).
    forged = await app.coulisse.handle(
        FormSubmitted("edit_commitment", {"text": "Iets anders"}, d.actor("Fleur"), d.place, "1")
    )
    assert forged.refused
    assert d.text(forged.messages) == t("nl", "errors.not_your_commitment", number="1")
    assert await d.snapshot() == before
    # A bad value changes nothing, and says why.
    assert await d.cmd("Ahmed", "edit", "1 datum 2020-01-01") == t("nl", "errors.date_in_past")
    # The coordinator gives it to Joost: Joost hears it and gets the check-ins, Ahmed not.
    await d.deliver()
    assert "Joost" in await d.cmd("Sanne", "edit", "1 eigenaar Joost")
    sent = await d.deliver()
    told = [s for s in sent if s.kind == "owner"]
    async with app.uow() as uow:
        people = {p.display_name: p.id for _, p in await uow.directory.members(1)}
        assert [s.to.id for s in told] == [people["Joost"]]
        rows = [await uow.outbox.by_key(k) for k in ("checkin:1:due", "overdue:1")]
        assert [r.person_id for r in rows if r is not None] == [people["Joost"]] * 2
    assert t("nl", "commitments.now_yours", text="Intake proberen", number=1) in told[0].text
    not_his = await d.cmd("Ahmed", "edit", "1 tekst Van mij")  # not his now
    assert not_his == t("nl", "errors.not_your_commitment", number="1")


async def test_a_forgotten_persons_commitments_go_to_the_coordinators_to_hand_on_or_close(
    app: App, clock: ManualClock
) -> None:
    d = Driver(app)
    await ahmed_commits(d, clock, "Intake proberen", "Lunch plannen")
    await d.cmd("Sanne", "role", "Fleur coordinator")
    await d.deliver()
    await d.cmd("Ahmed", "forget-me")
    sent = [s for s in await d.deliver() if s.kind == "hand_over"]
    async with app.uow() as uow:
        people = {p.display_name: p.id for _, p in await uow.directory.members(1)}
    # Both coordinators, one message per commitment each, with the two buttons.
    assert sorted((s.to.id, s.message.plain_text) for s in sent) == sorted(
        (people[who], t("nl", "commitments.hand_over", number=n, text=text, team="team-noord"))
        for who in ("Sanne", "Fleur")
        for n, text in ((1, "Intake proberen"), (2, "Lunch plannen"))
    )
    first = next(s for s in sent if s.to.id == people["Sanne"] and "Intake" in s.text)
    found = buttons([first.message])
    close_id, close_value = found[t("nl", "commitments.close")]

    # Checking in on it says what can be done with it (before: "not yours", even for them).
    assert await d.cmd("Sanne", "checkin", "1 losgelaten") == t(
        "nl", "commitments.ownerless", number=1
    )
    # A participant cannot press them (the role is the router's); the coordinator can.
    joost = await app.coulisse.handle(ActionTaken(close_id, close_value, d.actor("Joost"), DM))
    assert joost.refused and d.text(joost.messages) == t("nl", "errors.coordinators_only")
    closed = await d.action("Sanne", close_id, close_value)
    assert closed == t("nl", "commitments.closed", number=1, text="Intake proberen")
    lunch = next(s for s in sent if s.to.id == people["Fleur"] and "Lunch" in s.text)
    give_id, give_value = buttons([lunch.message])[t("nl", "commitments.give_to")]
    joost_opens = await app.coulisse.handle(ActionTaken(give_id, give_value, d.actor("Joost"), DM))
    assert joost_opens.refused
    form_open = await app.coulisse.handle(ActionTaken(give_id, give_value, d.actor("Fleur"), DM))
    form = form_open.to(To.FORM)[0].form
    assert form is not None and form.id == "hand_over"
    joost_form = await app.coulisse.handle(
        FormSubmitted("hand_over", {"owner": "joost"}, d.actor("Joost"), d.place, "2")
    )
    assert joost_form.refused
    given = await app.coulisse.handle(
        FormSubmitted("hand_over", {"owner": "joost"}, d.actor("Fleur"), d.place, "2")
    )
    assert not given.refused
    async with app.uow() as uow:
        one, two = await uow.commitments.for_team(1)
        assert one.status == CommitmentStatus.RELEASED and one.owner_id is None
        assert two.owner_id == people["Joost"] and two.status == CommitmentStatus.OPEN
    assert t("nl", "commitments.now_yours", text="Lunch plannen", number=2) in [
        s.text.split("\n")[0] for s in await d.deliver() if s.kind == "owner"
    ]


async def test_the_hand_over_message_keeps_no_trace_of_the_forgotten_name(
    app: App, clock: ManualClock
) -> None:
    d = Driver(app)
    await ahmed_commits(d, clock, "Ahmed belt de huisartsen")
    async with app.uow() as uow:
        ahmed = next(p for _, p in await uow.directory.members(1) if p.display_name == "Ahmed")
        await forget_person(uow, clock.now(), ahmed)
        await uow.commit()
    async with app.engine.connect() as conn:
        rows = (
            await conn.execute(sa.text("SELECT payload FROM outbox WHERE kind = 'hand_over'"))
        ).all()
    assert len(rows) == 1  # to Sanne, the coordinator
    assert "Ahmed" not in json.dumps(rows[0][0], ensure_ascii=False)
    assert "belt de huisartsen" in json.dumps(rows[0][0], ensure_ascii=False)


async def test_my_commitments_offer_the_owner_a_change_button(app: App, clock: ManualClock) -> None:
    d = Driver(app)
    await ahmed_commits(d, clock, "Intake proberen", co_owners="Fleur")
    mine = await app.coulisse.handle(Command("my", d.actor("Ahmed"), DM))
    action_id, value = buttons(mine.messages)[t("nl", "commitments.edit_button")]
    opened = await app.coulisse.handle(ActionTaken(action_id, value, d.actor("Ahmed"), DM))
    form = opened.to(To.FORM)[0].form
    assert form is not None and form.id == "edit_commitment" and form.context == "1"
    theirs = await app.coulisse.handle(Command("my", d.actor("Fleur"), DM))
    assert t("nl", "commitments.edit_button") not in buttons(theirs.messages)


async def test_the_last_coordinators_commitments_go_to_the_new_coordinator(
    app: App, clock: ManualClock
) -> None:
    d = Driver(app)
    await commit_round(d)
    due = (clock.now() + timedelta(days=14)).date().isoformat()
    await d.form("Sanne", "commit", text="Wethouder uitnodigen", due=due, mode="outsource")
    await d.deliver()
    await d.cmd("Sanne", "forget-me")
    sent = await d.deliver()
    async with app.uow() as uow:
        people = {p.display_name: p.id for _, p in await uow.directory.members(1)}
    assert [s.to.id for s in sent if s.kind == "role"] == [people["Ahmed"]]
    handed = [s for s in sent if s.kind == "hand_over"]
    assert [s.to.id for s in handed] == [people["Ahmed"]]
    close_id, close_value = buttons([handed[0].message])[t("nl", "commitments.close")]
    assert await d.action("Ahmed", close_id, close_value) == t(
        "nl", "commitments.closed", number=1, text="Wethouder uitnodigen"
    )


async def test_purging_a_session_takes_its_pending_hand_overs_with_it(
    app: App, clock: ManualClock
) -> None:
    d = Driver(app)
    await ahmed_commits(d, clock, "Intake proberen")
    await d.cmd("Ahmed", "forget-me")  # the hand-over to Sanne waits in the outbox
    async with app.uow() as uow:
        assert [r.kind for r in await uow.outbox.pending() if r.kind == "hand_over"]
        await uow.privacy.purge(clock.now() + timedelta(days=1))
        await uow.commit()
    async with app.uow() as uow:
        assert [r.kind for r in await uow.outbox.pending() if r.kind == "hand_over"] == []


def test_long_commitments_are_alike_only_when_retyped() -> None:
    """Two long texts of the same everyday words are different commitments; the same text
    with a typo, other capitals or punctuation is the same one."""
    rng = random.Random(7)
    vocabulary = [
        "de",
        "het",
        "een",
        "wachtlijst",
        "huisarts",
        "gezin",
        "intake",
        "bellen",
        "school",
        "wijk",
        "team",
        "hulp",
    ]

    def text() -> str:
        return " ".join(rng.choice(vocabulary) for _ in range(400))[:3000]

    one, other = text(), text()
    assert not alike(one, other)
    typo = one[:1500] + "q" + one[1501:]
    assert alike(typo, one) and alike(one.upper() + "!", one)
    assert alike("Huisartsen bellen", "huisartsen  bellen.") and not alike("Bellen", "Mailen")
    assert not alike("Huisartsen bellen", "Huisartsen mailen")  # another verb, another one
    assert alike("Bel de huisartsen", "Bel de huisartsen op")  # one word more
    assert not alike("Bel de huisartsen", "Bel de huisartsen over de wachtlijst")


async def test_a_number_no_record_can_have_is_answered_not_an_error(app: App) -> None:
    """Ids are 32-bit in the database: a longer number (typed, or in a forged button) and a
    digit that int() refuses ("²") get the usual polite answer, on both databases."""
    d = Driver(app)
    await commit_round(d)
    before = await d.snapshot()
    big = "9" * 25
    for ref in (big, "²"):
        unknown = t("nl", "commitments.unknown", number=ref[:12])
        assert await d.cmd("Ahmed", "edit", ref) == unknown
        assert await d.action("Sanne", "help_out", ref) == unknown
        assert await d.action("Sanne", "close_commitment", ref) == unknown
        assert await d.cmd("Ahmed", "checkin", f"{ref} klaar") == t("nl", "errors.checkin_usage")
        assert await d.cmd("Ahmed", "withdraw", f"#{ref}") == t("nl", "contributions.not_yours")
        assert await d.action("Ahmed", "withdraw_answer", ref) == t("nl", "contributions.not_yours")
    assert await d.snapshot() == before


async def test_a_forged_button_with_a_number_no_record_can_have_is_refused(app: App) -> None:
    """The same for the buttons of check-ins, forces and the assistant's suggestions."""
    d = Driver(app)
    await commit_round(d)
    before = await d.snapshot()
    for ref in ("9" * 25, "²"):
        number = ref[:12]
        mine = t("nl", "errors.not_your_commitment", number=number)
        assert await d.action("Ahmed", "snooze", ref) == mine
        assert await d.action("Sanne", "weaken", ref) == t("nl", "errors.unknown_action")
        assert await d.action("Sanne", "suggestion", f"{ref}:yes") == t(
            "nl", "errors.unknown_action"
        )
    assert await d.snapshot() == before
