"""The causal map in chat: strict link syntax, unlink, conflicts, loops told as sentences,
groups, honest bounds, "stuurbaar" factors, questions and archetype hints (both databases)."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import ManualClock
from bot.wiring import App, build
from handlers.loops import Bounds
from handlers.messages import Command, Diagram
from prompts.catalog import t
from tests.driver import Driver, recorded, started_session


async def _map(d: Driver, who: str = "Ahmed") -> str:
    return await d.cmd(who, "map")


async def test_loose_link_syntax_is_refused_with_the_accepted_forms(app: App) -> None:
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="causal")
    before = await d.snapshot()
    for line in ("wachtlijst -> ++verwijzingen", "wachtlijst+ -> verwijzingen",
                 "wachtlijst -> +druk -> +verwijzingen", "wachtlijst -> + -verwijzingen",
                 "wachtlijst -> verwijzingen-", "??? -> +verwijzingen",
                 "wachtlijst -> +'"):  # fmt: skip
        reply = await d.cmd("Ahmed", "link", line)
        assert reply == t("nl", "systems.link_refused", line=line), line
    assert await d.snapshot() == before  # nothing half-stored, no factor "+verwijzingen"
    d.lang = "en"
    await d.cmd("Kim", "join")  # an English speaker gets the answer in English
    reply = await d.cmd("Kim", "link", "a -> ++b")
    assert reply == t("en", "systems.link_refused", line="a -> ++b")
    assert "cause -> +effect" in reply and "cause -> less effect" in reply
    # A line of several links is stored whole or not at all.
    reply = await d.cmd("Kim", "link", "a -> +b; b -> --c")
    assert reply == t("en", "systems.link_refused", line="b -> --c")
    assert await d.snapshot() == {**before, "memberships": before["memberships"] + 1}


async def test_one_link_with_two_signs_in_one_message_is_asked_about(app: App) -> None:
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="causal")
    before = await d.snapshot()
    reply = await d.cmd("Ahmed", "link", "wachtlijst -> +druk; Wachtlijst -> -druk")
    assert reply == t("nl", "systems.link_conflict", source="Wachtlijst", target="druk")
    assert await d.snapshot() == before


async def test_unlink_takes_a_factor_without_links_off_the_picture_and_the_count(
    app: App,
) -> None:
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="causal")
    await d.cmd("Ahmed", "link", "a -> +b; b -> +c; c -> -a; b -> +d")
    assert t("nl", "systems.map_counts", factors=4, links=4) in await _map(d)
    await d.cmd("Ahmed", "unlink", "b -> d")
    shown = await _map(d)
    assert t("nl", "systems.map_counts", factors=3, links=3) in shown
    async with app.uow() as uow:
        assert sorted(f.name for f in await uow.causal.factors(1)) == ["a", "b", "c"]
    outcome = await app.coulisse.handle(Command("map", d.actor("Ahmed"), d.place))
    diagram = next(b for m in outcome.messages for b in m.blocks if isinstance(b, Diagram))
    assert diagram.nodes == ("a", "b", "c") and len(diagram.links) == 3


async def test_a_self_link_is_a_loop_of_one_factor_in_chat(app: App) -> None:
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="causal")
    reply = await d.cmd("Ahmed", "link", "voorraad -> -voorraad")
    assert "voorraad → − voorraad" in reply
    shown = await _map(d)
    assert t("nl", "systems.loop_line", label="B1", reinforcing=False,
             path="voorraad → voorraad", delays=0) in shown  # fmt: skip
    assert t("nl", "systems.story_balancing", steps=["meer voorraad", "minder voorraad"],
             start="voorraad") in shown  # fmt: skip
    removed = await d.cmd("Ahmed", "unlink", "voorraad -> voorraad")
    assert removed == t("nl", "systems.link_removed", source="voorraad", target="voorraad",
                        gone=["voorraad"])  # fmt: skip
    assert await d.count("factors") == 0


async def test_combining_keeps_a_factors_own_loop_and_drops_the_link_between_the_two(
    app: App,
) -> None:
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="causal")
    await d.cmd(
        "Ahmed", "link", "voorraad -> -voorraad; aanvoer -> +voorraad; magazijn -> +verkoop"
    )
    await d.cmd("Ahmed", "link", "voorraad -> +magazijn")
    combined = await d.cmd("Ahmed", "combine", "voorraad -> magazijn")
    assert combined == t("nl", "systems.combined", gone="voorraad", keep="magazijn")
    async with app.uow() as uow:
        names = {f.id: f.name for f in await uow.causal.factors(1)}
        links = sorted(
            (names[lk.source_id], names[lk.target_id], lk.polarity.value)
            for lk in await uow.causal.links(1)
        )
    assert links == [
        ("aanvoer", "magazijn", "+"),
        ("magazijn", "magazijn", "-"),  # voorraad's own loop, kept
        ("magazijn", "verkoop", "+"),
    ]  # voorraad -> +magazijn, a link between the two, is gone


async def test_loops_are_told_in_the_teams_words_grouped_core_first(app: App) -> None:
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="causal")
    links = (
        "wachtlijst -> +druk op huisarts; druk op huisarts -> +doorverwijzingen; "
        "doorverwijzingen -> +wachtlijst; wachtlijst -> -vertrouwen; "
        "vertrouwen -> -wachtlijst; kosten -> +budgetdruk; budgetdruk -> -kosten"
    )
    await d.cmd("Ahmed", "link", links)
    shown = await _map(d)
    story = t("nl", "systems.story_reinforcing",
              steps=["meer wachtlijst", "meer druk op huisarts", "meer doorverwijzingen",
                     "meer wachtlijst"], start="wachtlijst")  # fmt: skip
    assert story in shown
    assert t("nl", "systems.story_reinforcing", steps=["meer wachtlijst", "minder vertrouwen",
             "meer wachtlijst"], start="wachtlijst") in shown  # fmt: skip
    part1 = t(
        "nl",
        "systems.group_line",
        number=1,
        loops=2,
        factors=["wachtlijst", "druk op huisarts", "doorverwijzingen", "vertrouwen"],
    )
    part2 = t("nl", "systems.group_line", number=2, loops=1, factors=["kosten", "budgetdruk"])
    assert shown.index(part1) < shown.index(story) < shown.index(part2)


async def test_the_count_bound_says_how_many_are_hidden(
    sqlite_url: str, clock: ManualClock
) -> None:
    app = await build(sqlite_url, clock, migrate=False, bounds=Bounds(max_loops=1))
    try:
        d = Driver(app)
        await started_session(d, fmt="custom", rounds="causal")
        await d.cmd("Ahmed", "link", "a -> +b; b -> +c; c -> +a; d -> +e; e -> -d")
        shown = await _map(d)
        assert t("nl", "systems.loop_line", label="B1", reinforcing=False, path="d → e → d",
                 delays=0) in shown  # fmt: skip
        assert t("nl", "systems.bound_count", count=1, hidden=1, length=3, more=True) in shown
    finally:
        await app.close()


async def test_steerable_factors_get_the_questions(app: App) -> None:
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="causal")
    await d.cmd("Ahmed", "link", "wachtlijst -> +druk; druk -> +wachtlijst; druk -> +verzuim; "
                "verzuim -> +druk; overleg -> -druk; druk -> +overleg")  # fmt: skip
    before = await _map(d)
    assert t("nl", "systems.lever_mark") in before
    assert t("nl", "systems.steer_on", factor="overleg") == await d.cmd(
        "Fleur", "stuurbaar", "overleg"
    )
    after = await _map(d)
    question = t("nl", "systems.lever_steerable", factor="overleg", reinforcing=0, balancing=1)
    assert question in after and t("nl", "systems.lever_mark") not in after
    questions = after.split(t("nl", "systems.questions_heading"))[1]
    assert questions.strip().startswith(question)  # the team's own lever comes first
    async with app.uow() as uow:
        assert [f.name for f in await uow.causal.factors(1) if f.steerable] == ["overleg"]
    assert t("nl", "systems.steer_off", factor="overleg") == await d.cmd(
        "Fleur", "stuurbaar", "-overleg"
    )
    assert t("nl", "systems.lever_mark") in await _map(d)
    refused = t("nl", "errors.unknown_factor", name="koffie")
    assert await d.cmd("Fleur", "stuurbaar", "koffie") == refused


async def test_an_archetype_is_offered_as_a_question(app: App) -> None:
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="causal")
    await d.cmd("Ahmed", "link", "inzet -> +resultaat; resultaat -> +inzet; "
                "resultaat -> +werkdruk; werkdruk -> -resultaat")  # fmt: skip
    shown = await _map(d)
    hint = t(
        "nl",
        "systems.archetype_hint",
        loops=["R1", "B1"],
        name=t("nl", "systems.archetype.limits_to_growth.name"),
        pattern=t("nl", "systems.archetype.limits_to_growth.pattern", factor="resultaat"),
    )
    assert hint in shown and hint.endswith("?")  # asked, not told


async def test_micmac_hint_and_the_loops_commitments_act_on(app: App, clock: ManualClock) -> None:
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="causal commit")
    await d.cmd("Ahmed", "link", "beleid -> +wachtlijst; wachtlijst -> +druk; druk -> +wachtlijst; "
                "druk -> +overleg; overleg -> -druk")  # fmt: skip
    shown = await _map(d)
    assert t("nl", "systems.lever_micmac", factor="beleid", reach=3, total=4) in shown
    assert t("nl", "systems.lever_no_commitments") in shown
    await d.cmd("Sanne", "next")  # on to the commitments
    due = (clock.now() + timedelta(days=7)).date().isoformat()
    reply = await d.form("Fleur", "commit", text="Samen triëren", due=due, mode="co-create",
                         focus="B1")  # fmt: skip
    assert reply == recorded("nl", 1, "Samen triëren", due, "co_create")
    shown = await _map(d)
    assert t("nl", "systems.lever_commitments", loops=["B1"]) in shown
    assert t("nl", "systems.lever_no_commitments") not in shown


async def test_a_large_maps_picture_says_in_the_teams_language_what_it_leaves_out(
    app: App,
) -> None:
    d = Driver(app)
    await started_session(d, fmt="custom", rounds="causal")
    chain = "; ".join(f"f{i} -> +f{i + 1}" for i in range(69))
    await d.cmd("Ahmed", "link", f"{chain}; f1 -> -f0")
    outcome = await app.coulisse.handle(Command("map", d.actor("Ahmed"), d.place))
    diagram = next(b for m in outcome.messages for b in m.blocks if isinstance(b, Diagram))
    assert diagram.alt.endswith(" " + t("nl", "systems.diagram_left_out", factors=68))
