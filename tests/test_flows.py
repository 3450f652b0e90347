"""A whole session through the handlers, on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.clock import ManualClock
from bot.wiring import App, build
from handlers.loops import Bounds
from handlers.messages import ActionTaken, Command, Form, To
from handlers.model import CommitmentStatus, Person, Platform, Polarity, Workspace
from handlers.reports import build_summary
from prompts.catalog import t
from tests.driver import Driver, recorded, started_session, team_of


async def test_retro_from_opening_to_commitments(app: App, clock: ManualClock) -> None:
    d = Driver(app, organisations={"Ahmed": "wijkteam", "Fleur": "GGD", "Joost": "school"})
    await started_session(d)
    opened = await d.deliver()
    # The session opens in the channel and the check-in question goes to all four by DM.
    assert [s.kind for s in opened].count("round_prompt") == 4
    assert {s.to.kind for s in opened if s.kind == "round_prompt"} == {"dm"}
    assert any("Ronde 1 van 6: Check-in" in s.text for s in opened if s.to.kind == "channel")

    for who, words in [("Ahmed", "Moe"), ("Fleur", "Blij"), ("Joost", "Benieuwd")]:
        assert "opgeslagen" in await d.cmd(who, "add", words)
    await d.cmd("Sanne", "next")
    reveal = next(s for s in await d.deliver() if s.kind == "reveal")
    assert "3 bijdragen van 3 van de 4 mensen" in reveal.text
    assert "Moe" in reveal.text and "Ahmed" not in reveal.text  # anonymous by default

    await d.cmd("Ahmed", "add", "stop: de lange overleggen over de wachtlijst")
    await d.cmd("Fleur", "add", "Stop: wachtlijst per partner bijhouden")
    await d.cmd("Joost", "add", "doorgaan: samen lunchen")
    await d.cmd("Sanne", "add", "start: één intake voor alle gezinnen")
    await d.cmd("Sanne", "next")  # reveal, then the group round forms themes
    board = "\n".join(s.text for s in await d.deliver() if s.to.kind == "channel")
    # The two "stop" answers share the word "wachtlijst" and start as one theme.
    assert "De bijdragen vallen in 3 thema's" in board
    assert "(2)" in board

    assert "heet nu" in await d.cmd("Fleur", "rename", "2 Minder dubbel werk")
    await d.cmd("Sanne", "next")
    await d.deliver()
    assert "Nog 1 over" in await d.cmd("Ahmed", "vote", "2 2")
    assert "Nog 2 over" in await d.cmd("Fleur", "vote", "2")
    # A vote button carries the round: "<round id>:<theme number>".
    async with app.uow() as uow:
        vote_round = next(r for r in await uow.sessions.rounds(1) if r.kind.value == "vote")
    assert "Nog 1 over" in await d.action("Fleur", "vote", f"{vote_round.id}:3")
    await d.cmd("Sanne", "next")
    results = next(s for s in await d.deliver() if s.kind == "reveal")
    assert "1. Minder dubbel werk (3 stippen)" in results.text
    assert 'Het team koos "Minder dubbel werk"' in results.text
    await d.cmd("Sanne", "next")  # after the discussion of the chosen themes: commitments

    due = (clock.now() + timedelta(days=14)).date().isoformat()
    reply = await d.form(
        "Ahmed",
        "commit",
        text="Eén intake proberen",
        due=due,
        mode="samen maken",
        co_owners="Fleur",
    )
    assert "Afspraak 1 staat genoteerd" in reply and "samen maken" in reply
    assert "klaar" in await d.cmd("Fleur", "checkin", "1 klaar")  # co-owners may check in
    await d.cmd("Sanne", "next")  # last round closes: the session ends with its summary
    summary = next(s for s in await d.deliver() if s.kind == "summary")
    assert "namen 1 afspraak op zich" in summary.text
    # Ahmed is the only one from the wijkteam: his organisation would name him.
    assert re.search(r"Deelnemer [0-9A-Z]{4} \(overige organisaties\)", summary.text)
    assert "Ahmed" not in summary.text
    assert "gesloten" in await d.cmd("Joost", "status")


async def test_causal_links_are_stored_as_factors_and_links(app: App) -> None:
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="causal commit")
    reply = await d.cmd(
        "Ahmed", "add", "wachtlijst -> +druk op huisarts\nmore trust -> -escalations (delay)"
    )
    assert "wachtlijst → + druk op huisarts" in reply
    assert "more trust → − escalations (met vertraging)" in reply
    # The same factor, written differently, is one factor; a known link is not added twice.
    reply = await d.cmd(
        "Fleur", "link", "Druk op  huisarts -> meer Wachtlijst; Wachtlijst -> +druk op huisarts"
    )
    assert "Stond al op de kaart" in reply
    async with app.uow() as uow:
        factors = await uow.causal.factors(1)
        links = await uow.causal.links(1)
    assert sorted(f.key for f in factors) == [
        "druk op huisarts",
        "escalations",
        "more trust",
        "wachtlijst",
    ]
    assert [(link.polarity, link.delay) for link in links] == [
        (Polarity.SAME, False),
        (Polarity.OPPOSITE, True),
        (Polarity.SAME, False),
    ]


async def test_bad_input_is_answered_and_changes_nothing(app: App, clock: ManualClock) -> None:
    d = Driver(app)
    await started_session(d)
    await d.deliver()
    before = await d.snapshot()
    coordinators = t("nl", "errors.coordinators_only")
    soon = (clock.now() + timedelta(days=7)).date().isoformat()
    cases = [
        (d.cmd("Ahmed", "add", "   "), t("nl", "errors.empty_text")),
        (d.cmd("Ahmed", "add", "x" * 3001), t("nl", "errors.too_long", limit=3000, length=3001)),
        (d.cmd("Ahmed", "next"), coordinators),
        (d.cmd("Ahmed", "end"), coordinators),
        (d.form("Ahmed", "new_session", title="t", question="q"), coordinators),
        (
            d.cmd("Ahmed", "vote", "1"),
            t("nl", "errors.wrong_round", title=t("nl", "rounds.checkin.title")),
        ),
        (
            d.cmd("Ahmed", "link", "wachtlijst en huisarts"),
            t("nl", "systems.link_refused", line="wachtlijst en huisarts"),
        ),
        (d.cmd("Ahmed", "link", "a -> ++b"), t("nl", "systems.link_refused", line="a -> ++b")),
        (d.cmd("Ahmed", "checkin", "99 klaar"), t("nl", "errors.not_your_commitment", number="99")),
        (d.form("Ahmed", "commit", text="x", due="2020-01-01"), t("nl", "errors.date_in_past")),
        (
            d.form("Ahmed", "commit", text="x", due="volgende maand"),
            t("nl", "when.not_understood_day", text="volgende maand"),
        ),
        (
            d.form("Ahmed", "commit", text="x", due=soon, mode="zomaar"),
            t("nl", "errors.unknown_mode"),
        ),
        (d.form("Ahmed", "commit", text="", due=soon), t("nl", "errors.empty_text")),
        (d.cmd("Ahmed", "xyzzy"), t("nl", "help.unknown", command="xyzzy")),
        (d.action("Ahmed", "nonsense", "1"), t("nl", "errors.unknown_action")),
        (
            d.form("Sanne", "new_session", title="t", question="q"),
            t("nl", "errors.session_exists"),
        ),
    ]
    for call, expected in cases:
        assert expected in await call
    assert await d.snapshot() == before


async def at_the_vote(d: Driver, budget: str) -> None:
    """A session whose vote is open, on two themes: 1 "samen eten", 2 "dubbele intakes"."""
    await started_session(
        d, fmt="custom", rounds="start-stop-continue group vote commit", vote_budget=budget
    )
    await d.cmd("Ahmed", "add", "start: samen eten")
    await d.cmd("Fleur", "add", "stop: dubbele intakes")
    await d.cmd("Sanne", "next")
    await d.cmd("Sanne", "next")


async def test_voting_respects_the_budget_and_closed_rounds(app: App) -> None:
    d = Driver(app)
    await at_the_vote(d, budget="2")
    assert "Nog 0 over" in await d.cmd("Ahmed", "vote", "1 2")
    before = await d.snapshot()
    assert "nog 0 over" in await d.cmd("Ahmed", "vote", "2")
    assert "geen thema met nummer 7" in await d.cmd("Ahmed", "vote", "7")
    assert "Stem met het nummer" in await d.cmd("Ahmed", "vote", "1 veel")
    assert await d.snapshot() == before
    assert "Nog 1 over" in await d.cmd("Ahmed", "unvote", "1")
    async with app.uow() as uow:
        vote_round = next(r for r in await uow.sessions.rounds(1) if r.kind.value == "vote")
    await d.cmd("Sanne", "next")  # the vote closes, commitments open
    before = await d.snapshot()
    stale_button = await d.action("Fleur", "vote", f"{vote_round.id}:1")
    assert 'De open ronde is "Afspraken"' in stale_button
    await d.cmd("Sanne", "end")
    assert "geen sessie van dit team" in await d.cmd("Ahmed", "vote", "1")
    assert (await d.snapshot())["votes"] == before["votes"]


async def test_dots_added_to_a_theme_and_taken_back_one_by_one(app: App) -> None:
    """More dots on a theme already voted for change that vote; taken back to none, it goes."""
    d = Driver(app)
    await at_the_vote(d, budget="3")
    await d.cmd("Fleur", "vote", "1")

    async def dots() -> dict[tuple[str, int], int]:
        """(voter, theme position) -> dots."""
        async with app.uow() as uow:
            rnd = next(r for r in await uow.sessions.rounds(1) if r.kind.value == "vote")
            _, themes = await uow.sessions.ballot(1, rnd.position)
            position = {th.id: th.position for th in themes}
            out = {}
            for v in await uow.sessions.votes(rnd.id or 0):
                voter = await uow.get(Person, v.person_id or 0)
                assert voter is not None
                out[(voter.display_name, position[v.theme_id])] = v.dots
        return out

    await d.cmd("Ahmed", "vote", "1")
    said = await d.cmd("Ahmed", "vote", "1 2")
    assert t("nl", "votes.cast", number=1, title="samen eten", dots=2, left=0) in said
    assert await dots() == {("Fleur", 1): 1, ("Ahmed", 1): 3}  # one row each
    assert t("nl", "votes.removed", number=1, dots=2, left=2) in await d.cmd(
        "Ahmed", "unvote", "1 2"
    )
    assert await dots() == {("Fleur", 1): 1, ("Ahmed", 1): 1}
    assert t("nl", "votes.removed", number=1, dots=1, left=3) in await d.cmd("Ahmed", "unvote", "1")
    assert await dots() == {("Fleur", 1): 1}  # none left: Ahmed's vote itself goes
    assert t("nl", "errors.no_vote_to_remove", number=1) in await d.cmd("Ahmed", "unvote", "1")
    assert await dots() == {("Fleur", 1): 1}


async def test_a_retried_delivery_has_one_effect(app: App) -> None:
    d = Driver(app)
    await started_session(d)
    first = await d.cmd("Ahmed", "add", "Goed", key="slack:Ev123")
    again = await d.cmd("Ahmed", "add", "Goed", key="slack:Ev123")
    assert "opgeslagen" in first and again == ""
    assert await d.count("contributions") == 1


async def test_stuck_goes_to_the_team_and_the_next_session_reviews(
    app: App, clock: ManualClock
) -> None:
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="commit")
    due = (clock.now() + timedelta(days=7)).date().isoformat()
    await d.form("Ahmed", "commit", text="Huisartsen bellen", due=due, mode="co-produce")
    await d.deliver()
    assert "vastgelopen" in await d.action("Ahmed", "checkin", "1:stuck")
    stuck = [s for s in await d.deliver() if s.kind == "stuck"]
    assert len(stuck) == 1 and stuck[0].to.kind == "channel"
    assert "Wie kan helpen?" in stuck[0].text and "Ahmed" not in stuck[0].text
    assert "is gesloten" in await d.cmd("Sanne", "end")

    clock.advance(timedelta(days=14))
    await d.form("Sanne", "new_session", format="retro", title="Ronde twee", question="En nu?")
    await d.cmd("Sanne", "start")
    sent = await d.deliver()
    review = [s for s in sent if s.kind == "review"]
    asks = [s for s in sent if s.kind == "review_checkin"]
    assert len(review) == 1 and "1 open afspraak van de vorige keer" in review[0].text
    assert "Huisartsen bellen" in review[0].text
    assert len(asks) == 1 and asks[0].to.kind == "dm"
    async with app.uow() as uow:
        assert (await uow.commitments.open_for_team(1))[0].status == CommitmentStatus.STUCK


async def test_people_choose_their_language_and_commands_work_in_both(app: App) -> None:
    d = Driver(app)
    await team_of(d, "Sanne", "Ahmed")
    assert "Engels" not in await d.cmd("Ahmed", "taal", "en")
    assert "You have no open commitments" in await d.cmd("Ahmed", "mine")
    assert "Je hebt geen open afspraken" in await d.cmd("Sanne", "mijn")
    assert "What you can do" in await d.cmd("Ahmed", "hulp")
    assert "Which language" in await d.cmd("Ahmed", "lang", "fr")


async def test_only_coordinators_hand_on_the_role(app: App) -> None:
    d = Driver(app)
    await team_of(d, "Sanne", "Ahmed")
    assert "enige coördinator" in await d.cmd("Sanne", "role", "Sanne participant")
    huge = await d.cmd("Sanne", "role", "x" * 5000 + " coordinator")
    assert "niet vinden" in huge and len(huge) < 300
    assert "Ahmed is nu coördinator" in await d.cmd("Sanne", "role", "Ahmed coordinator")
    assert "Sanne is nu deelnemer" in await d.cmd("Sanne", "role", "Sanne participant")
    assert "Dat doet een coördinator" in await d.cmd("Sanne", "new")
    assert "Een nieuwe sessie" in await d.cmd("Ahmed", "new")


async def test_uow_rolls_back_what_was_not_committed(app: App) -> None:
    async with app.uow() as uow:
        uow.add(Workspace(Platform.CONSOLE, "half-done"))
        await uow.flush()
        assert await uow.directory.workspace("console", "half-done") is not None
    async with app.uow() as uow:
        assert await uow.directory.workspace("console", "half-done") is None


async def test_the_map_shows_loops_and_asks_about_leverage(app: App, clock: ManualClock) -> None:
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="causal commit")
    await d.cmd(
        "Ahmed",
        "add",
        "wachtlijst -> +druk op huisarts; druk op huisarts -> +doorverwijzingen; "
        "doorverwijzingen -> +wachtlijst; wachtlijst -> +extra hulp; extra hulp -> -wachtlijst",
    )
    await d.cmd("Sanne", "next")  # the causal round closes: the map goes to the channel
    posted = next(s for s in await d.deliver() if s.kind == "reveal")
    assert "B1 (balancerend): wachtlijst → extra hulp → wachtlijst" in posted.text
    assert "R1 (versterkend): wachtlijst → druk op huisarts → doorverwijzingen → wachtlijst" in (
        posted.text
    )
    hub = t("nl", "systems.lever_hub", factor="wachtlijst", loops=2, total=2, reinforcing=1,
            balancing=1)  # fmt: skip
    assert hub in posted.text
    diagram = next(b for b in posted.message.blocks if type(b).__name__ == "Diagram")
    assert len(diagram.nodes) == 4 and len(diagram.links) == 5 and len(diagram.loops) == 2

    due = (clock.now() + timedelta(days=7)).date().isoformat()
    reply = await d.form(
        "Fleur", "commit", text="Samen triëren", due=due, mode="co-create", focus="R1",
        level="structuren",
    )  # fmt: skip
    assert reply == recorded("nl", 1, "Samen triëren", due, "co_create")
    await d.form("Joost", "commit", text="Bellen", due=due, mode="co-produce", focus="Extra  hulp")
    before = await d.snapshot()
    mode = "co-produce"
    for extra, refused in (
        ({"focus": "r7"}, t("nl", "errors.unknown_loop", label="R7")),
        ({"focus": "koffie"}, t("nl", "errors.unknown_factor", name="koffie")),
        ({"level": "kelder"}, t("nl", "errors.unknown_level")),
    ):
        assert await d.form("Joost", "commit", text="x", due=due, mode=mode, **extra) == refused
    assert await d.snapshot() == before
    async with app.uow() as uow:
        session = (await uow.sessions.for_team(1))[0]
        summary = await build_summary(uow, session)
    assert [(lp.id, lp.kind, lp.commitments) for lp in summary.loops] == [
        ("B1", "balancing", (2,)),
        ("R1", "reinforcing", (1,)),
    ]
    assert summary.as_dict()["commitments"][0]["acts_on"] == {"factor": None, "loops": ["R1"]}
    assert summary.commitments[0].iceberg_level == "structures"
    assert summary.iceberg["structures"].commitments == 1
    assert summary.leverage[0].factor == "wachtlijst"


async def test_the_team_edits_its_map(app: App) -> None:
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="causal")
    await d.cmd("Ahmed", "add", "wachtlijst -> +druk op huisarts")
    assert "Veranderd" in await d.cmd("Fleur", "link", "wachtlijst -> -druk op huisarts (delay)")
    similar = await d.cmd("Joost", "link", "druk op de huisarts -> +verwijzingen")
    assert 'lijkt op "druk op huisarts"' in similar
    assert "combineer druk op de huisarts -> druk op huisarts" in similar
    assert "één factor" in await d.cmd(
        "Joost", "combineer", "druk op de huisarts -> druk op huisarts"
    )
    async with app.uow() as uow:
        factors = {f.id: f.name for f in await uow.causal.factors(1)}
        links = [
            (factors[lk.source_id], factors[lk.target_id], lk.polarity.value, lk.delay)
            for lk in await uow.causal.links(1)
        ]
    assert sorted(factors.values()) == ["druk op huisarts", "verwijzingen", "wachtlijst"]
    assert sorted(links) == [
        ("druk op huisarts", "verwijzingen", "+", False),
        ("wachtlijst", "druk op huisarts", "-", True),
    ]
    removed = await d.cmd("Ahmed", "losmaken", "wachtlijst -> druk op huisarts")
    # "wachtlijst" has no link left: it goes off the map and out of the count too.
    assert removed == t("nl", "systems.link_removed", source="wachtlijst",
                        target="druk op huisarts", gone=["wachtlijst"])  # fmt: skip
    before = await d.snapshot()
    assert "geen verband" in await d.cmd("Ahmed", "unlink", "verwijzingen -> druk op huisarts")
    assert "geen factor" in await d.cmd("Ahmed", "unlink", "koffie -> thee")
    assert "Noem het verband" in await d.cmd("Ahmed", "unlink", "koffie")
    assert await d.snapshot() == before
    assert await d.count("links") == 1


async def test_actor_map_and_force_field(app: App, clock: ManualClock) -> None:
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="overview commit")
    prompt = next(s for s in await d.deliver() if s.kind == "round_prompt")
    assert "Een actor" in prompt.text and "Een kracht" in prompt.text  # both forms go along
    assert "invloed 4" in await d.cmd("Ahmed", "add", "actor: Huisartsen in Noord (4)")
    assert "stuwende kracht (4)" in await d.cmd("Fleur", "add", "stuwende kracht: Snelle hulp (4)")
    reply = await d.form(
        "Joost",
        "actor",
        name="Woningcorporatie",
        organisation="Woonstad",
        interest="Huurders houden",
        influence="5",
        stance="tegen",
    )
    assert "invloed 5, tegen" in reply
    await d.form("Joost", "force", text="Privacyregels", direction="remmend", strength="5")
    await d.cmd("Noor", "add", "restraining force: Eigen wachtlijsten")  # strength 3 by default
    before = await d.snapshot()
    for call, expected in [
        (d.cmd("Ahmed", "add", "actor: Scholen (7)"), "van 1 tot 5"),
        (d.form("Ahmed", "actor", name="X", influence="9"), "van 1 tot 5"),
        (d.form("Ahmed", "actor", name="X", stance="boos"), "Welke houding"),
        (d.form("Ahmed", "force", text="X", direction="zijwaarts"), "Stuwt de kracht"),
        (d.cmd("Ahmed", "add", "gewoon een zin"), "Begin met wat het is"),
        (d.cmd("Ahmed", "actor", "Scholen"), "formulier"),
    ]:
        assert expected in await call
    counts = (await d.count("actors"), await d.count("forces"))
    assert counts == (2, 3) and before["outbox"] == (await d.snapshot())["outbox"]

    await d.cmd("Sanne", "next")
    field = next(s for s in await d.deliver() if s.kind == "reveal")
    assert "Woningcorporatie (Woonstad) — invloed 5/5, tegen" in field.text
    assert "Remmende kracht: totale sterkte 8" in field.text
    assert "Per saldo wegen de remmende krachten 4 zwaarder." in field.text
    assert "Welke remmende kracht ga jij verzwakken, en wanneer?" in field.text
    async with app.uow() as uow:
        privacy = next(f for f in await uow.sessions.forces(1) if f.text == "Privacyregels")
    outcome = await app.coulisse.handle(
        ActionTaken("weaken", str(privacy.id), d.actor("Ahmed"), d.place)
    )
    assert "Mooi om op te pakken" in d.text(outcome.messages)
    form = next(r.form for r in outcome.to(To.FORM) if r.form is not None)
    assert form.id == "commit"
    assert next(f for f in form.fields if f.name == "text").value == "Verzwakken: Privacyregels"
    assert "herken ik niet" in await d.action("Ahmed", "weaken", "999")
    async with app.uow() as uow:
        summary = await build_summary(uow, (await uow.sessions.for_team(1))[0])
    assert summary.forces.net_balance == -4
    assert [a.name for a in summary.actors] == ["Woningcorporatie", "Huisartsen in Noord"]


async def test_links_by_form_pick_existing_factors_or_name_new_ones(app: App) -> None:
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="causal")
    outcome = await app.coulisse.handle(Command("link", d.actor("Ahmed"), d.place))
    empty_map_form = next(b for b in outcome.messages[0].blocks if isinstance(b, Form))
    assert [f.name for f in empty_map_form.fields] == [
        "source_new",
        "target_new",
        "polarity",
        "delay",
    ]
    reply = await d.form("Ahmed", "link", source_new="wachtlijst", target_new="druk", polarity="+")
    assert "wachtlijst → + druk" in reply
    outcome = await app.coulisse.handle(Command("link", d.actor("Ahmed"), d.place))
    form = next(b for b in outcome.messages[0].blocks if isinstance(b, Form))
    picks = next(f for f in form.fields if f.name == "source")
    assert [o.value for o in picks.options] == ["wachtlijst", "druk"]
    reply = await d.form(
        "Fleur", "link", source="druk", target_new="wachtlijst ", polarity="-", delay="yes"
    )
    assert "Veranderd" not in reply and "druk → − wachtlijst (met vertraging)" in reply
    before = await d.snapshot()
    assert "twee factoren" in await d.form("Fleur", "link", source="druk", polarity="+")
    assert "groeit de tweede" in await d.form("Fleur", "link", source="a", target="b")
    assert await d.snapshot() == before


async def test_loop_bounds_come_from_the_settings(sqlite_url: str, clock: ManualClock) -> None:
    app = await build(sqlite_url, clock, migrate=False, bounds=Bounds(max_length=2))
    try:
        d = Driver(app)
        await started_session(d, fmt="custom", rounds="causal commit")
        await d.cmd("Ahmed", "add", "a -> +b; b -> +a; b -> +c; c -> -a")
        await d.cmd("Sanne", "next")
        posted = next(s for s in await d.deliver() if s.kind == "reveal")
        assert "R1 (versterkend): a → b → a" in posted.text and "B1" not in posted.text
        assert "Alleen lussen tot 2 verbanden zijn gezocht; er zijn langere." in posted.text
    finally:
        await app.close()


async def test_a_session_planned_ahead_gets_a_round_plan(app: App, clock: ManualClock) -> None:
    d = Driver(app)
    await team_of(d, "Sanne", "Ahmed")
    start = clock.now() + timedelta(days=1)
    before = await d.snapshot()
    past = (clock.now() - timedelta(days=1)).isoformat()
    assert await d.form("Sanne", "new_session", title="T", question="Q", starts_at=past) == t(
        "nl", "errors.start_in_past"
    )
    assert "Hoe lang" in await d.form(
        "Sanne", "new_session", title="T", question="Q", round_length="5"
    )
    refused = t("nl", "when.not_understood", text="volgende maand", zone="Europe/Amsterdam")
    assert refused in await d.form(
        "Sanne", "new_session", title="T", question="Q", starts_at="volgende maand"
    )
    assert await d.snapshot() == before
    reply = await d.form(
        "Sanne",
        "new_session",
        title="T",
        question="Q",
        format="retro",
        starts_at=start.isoformat(),
        round_length="2",
    )
    assert "staat klaar" in reply
    async with app.uow() as uow:
        session = (await uow.sessions.for_team(1))[0]  # refused tries use up ids on PostgreSQL
        rounds = await uow.sessions.rounds(session.id or 0)
    assert session.starts_at == start.replace(microsecond=0)
    # Two working days each, from Wednesday 10:00: to Friday, then over the weekend to Tuesday.
    assert [(r.opens_at, r.closes_at) for r in rounds][:2] == [
        (session.starts_at, session.starts_at + timedelta(days=2)),
        (session.starts_at + timedelta(days=2), session.starts_at + timedelta(days=6)),
    ]
