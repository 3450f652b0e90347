"""`build_summary` gives typed sections; their `as_dict` is the JSON export and fits the schema."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import jsonschema
import pytest

from bot.clock import ManualClock
from bot.export.files import render, schema
from bot.wiring import App
from handlers.model import Session
from handlers.reports import build_summary
from handlers.summary import CommitmentSummary, Summary
from tests.driver import Driver, started_session


async def small_session(app: App, clock: ManualClock) -> Summary:
    """Answers, a causal map with two loops, a commitment acting on one, a check-in."""
    d = Driver(app, organisations={"Sanne": "gemeente", "Ahmed": "wijkteam"})
    await started_session(d, fmt="custom", rounds="start-stop-continue causal commit")
    await d.cmd("Fleur", "add", "stop: dubbele intakes")
    await d.cmd("Joost", "add", "start: samen lunchen")
    await d.cmd("Sanne", "next")
    await d.cmd(
        "Ahmed",
        "add",
        "wachtlijst -> +druk op huisarts; druk op huisarts -> +wachtlijst; "
        "wachtlijst -> +extra hulp; extra hulp -> -wachtlijst",
    )
    await d.cmd("Sanne", "next")
    due = (clock.now() + timedelta(days=7)).date().isoformat()
    assert "genoteerd" in await d.form(
        "Fleur", "commit", text="Samen triëren", due=due, mode="co-produce", focus="R1"
    )
    await d.action("Fleur", "checkin", "1:in_progress")
    async with app.uow() as uow:
        session = await uow.get(Session, 1)
        assert session is not None
        return await build_summary(uow, session)


async def test_the_typed_summary_validates_and_a_broken_one_does_not(
    app: App, clock: ManualClock
) -> None:
    summary = await small_session(app, clock)
    assert summary.loops and summary.causal_links and summary.commitments[0].check_ins
    data = summary.as_dict()
    validator = jsonschema.Draft7Validator(schema())
    validator.validate(data)
    assert list(data) == [f.name for f in dataclasses.fields(Summary)]
    # The JSON export is exactly this data.
    assert json.loads(render(summary, "json", "nl")) == data

    # The check can fail: a required key missing, a value the schema does not allow.
    missing = {k: v for k, v in data.items() if k != "loops_truncated"}
    with pytest.raises(jsonschema.ValidationError, match="loops_truncated"):
        validator.validate(missing)
    first = summary.commitments[0]
    wrong: CommitmentSummary = dataclasses.replace(first, mode="whenever")
    broken = dataclasses.replace(summary, commitments=(wrong, *summary.commitments[1:]))
    with pytest.raises(jsonschema.ValidationError, match="whenever"):
        validator.validate(broken.as_dict())
    with pytest.raises(jsonschema.ValidationError):
        render(broken, "json", "nl")  # an export that does not fit the schema is refused
