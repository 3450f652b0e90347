"""A double click counts once by time, not by a clock bucket: the same person, button and
message again within two seconds has no second effect, wherever the second falls; after that
it is a new click."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import ManualClock
from bot.wiring import App
from handlers.messages import ActionTaken
from tests.driver import Driver, started_session


async def at_the_vote(d: Driver) -> int:
    """A retro at its vote round, with themes; the vote round's id."""
    await started_session(d)
    await d.cmd("Sanne", "next")
    for who, text in [("Ahmed", "stop: lange overleggen"), ("Fleur", "start: één intake")]:
        await d.cmd(who, "add", text)
    await d.cmd("Sanne", "next")
    await d.cmd("Sanne", "next")
    async with d.app.uow() as uow:
        return next(r.id or 0 for r in await uow.sessions.rounds(1) if r.kind.value == "vote")


async def test_the_same_click_within_two_seconds_counts_once(app: App, clock: ManualClock) -> None:
    d = Driver(app)
    vote_round = await at_the_vote(d)
    # Begin just before an even second: 1.9 and 2.3 fell in two 2-second buckets before.
    clock.advance(timedelta(seconds=1.9))
    counted = []
    for step in (0.0, 0.4, 1.5, 0.6):  # at 0, 0.4, 1.9 (within 2 s of the first), 2.5
        clock.advance(timedelta(seconds=step))
        event = ActionTaken("vote", f"{vote_round}:1", d.actor("Ahmed"), d.place,
                            "test:click:ahmed:vote:1:msg1", clicked_at=clock.now())  # fmt: skip
        counted.append(not (await app.coulisse.handle(event)).duplicate)
    assert counted == [True, False, False, True]
    async with app.uow() as uow:
        dots = sum(v.dots for v in await uow.sessions.votes(vote_round))
    assert dots == 2
