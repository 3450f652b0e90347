"""A stuck commitment goes back to the team ("who can help?"); whoever presses "I can help"
works on it with the owner from then on, and the owner hears it by DM. Both databases."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import ManualClock
from bot.wiring import App
from handlers.messages import ActionTaken, Choices, Place
from prompts.catalog import t
from tests.driver import Driver, Sent, started_session


async def stuck_message(d: Driver, clock: ManualClock) -> Sent:
    await started_session(d, fmt="custom", rounds="commit")
    due = (clock.now() + timedelta(days=7)).date().isoformat()
    await d.form("Ahmed", "commit", text="Huisartsen bellen", due=due, mode="co-produce")
    await d.deliver()
    await d.action("Ahmed", "checkin", "1:stuck")
    return next(s for s in await d.deliver() if s.kind == "stuck")


async def test_i_can_help_makes_the_helper_a_co_owner_and_tells_the_owner(
    app: App, clock: ManualClock
) -> None:
    d = Driver(app)
    stuck = await stuck_message(d, clock)
    assert stuck.to.kind == "channel"
    assert t("nl", "commitments.stuck_to_team", text="Huisartsen bellen") in stuck.text
    assert "Ahmed" not in stuck.text  # back to the team, without a name
    button = next(a for b in stuck.message.blocks if isinstance(b, Choices) for a in b.actions)
    assert button.label == t("nl", "commitments.can_help")

    reply = await d.action("Fleur", button.id, button.value)
    assert reply == t("nl", "commitments.helping", number=1, text="Huisartsen bellen")
    async with app.uow() as uow:
        people = {p.display_name: p.id for _, p in await uow.directory.members(1)}
        commitment = (await uow.commitments.for_team(1))[0]
        assert commitment.co_owner_ids == [people["Fleur"]]
        assert commitment.owner_id == people["Ahmed"]
    told = [s for s in await d.deliver() if s.kind == "helper"]
    assert [(s.to.kind, s.to.id) for s in told] == [("dm", people["Ahmed"])]
    assert told[0].text == t(
        "nl", "commitments.helper_joined", name="Fleur", text="Huisartsen bellen"
    )
    # As co-owner Fleur may now check in; her commitments list it.
    assert await d.cmd("Fleur", "checkin", "1 loopt") == t(
        "nl", "commitments.checked_in", number=1, status=t("nl", "commitments.statuses.in_progress")
    )
    assert "Huisartsen bellen" in await d.cmd("Fleur", "my")

    # Pressing again, or the owner pressing it: already on it, nothing doubles.
    for who in ("Fleur", "Ahmed"):
        again = await d.action(who, button.id, button.value)
        assert again == t("nl", "commitments.already_on_it", number=1)
    async with app.uow() as uow:
        assert (await uow.commitments.for_team(1))[0].co_owner_ids == [people["Fleur"]]
    assert [s for s in await d.deliver() if s.kind == "helper"] == []


async def test_help_on_a_finished_or_another_teams_commitment_is_refused(
    app: App, clock: ManualClock
) -> None:
    d = Driver(app)
    stuck = await stuck_message(d, clock)
    button = next(a for b in stuck.message.blocks if isinstance(b, Choices) for a in b.actions)
    # Someone in another team's channel cannot join this team's commitment.
    other = Driver(app, channel="team-zuid")
    await other.cmd("Karim", "join")
    outcome = await app.coulisse.handle(
        ActionTaken(button.id, button.value, other.actor("Karim"), Place("channel", "team-zuid"))
    )
    assert outcome.refused
    assert other.text(outcome.messages) == t("nl", "commitments.unknown", number="1")
    await d.action("Ahmed", "checkin", "1:done")
    late = await d.action("Joost", button.id, button.value)
    assert late == t("nl", "commitments.finished", number=1)
    async with app.uow() as uow:
        assert (await uow.commitments.for_team(1))[0].co_owner_ids == []
