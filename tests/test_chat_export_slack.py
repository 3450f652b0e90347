"""`/coulisse export` over real HTTP: a signed slash command in, the file uploaded to the
coordinator's DM through the fake Slack Web API, pseudonymised; refusals for everyone else."""

from __future__ import annotations

import asyncio
import io

import docx

from tests.conftest import SlackStack, eventually
from tests.test_slack import assert_known_to_the_spec, modal

# Slack ids and names that must never appear in an export.
COORDINATOR, AHMED, FLEUR = "USANNE01", "UAHMED02", "UFLEUR03"
NAMES = {COORDINATOR: "sanne.devries", AHMED: "ahmed.elamrani", FLEUR: "fleur.jansen"}


async def _session_with_a_commitment(stack: SlackStack) -> None:
    s, api = stack.slack, stack.api
    await s.command(COORDINATOR, "new", user_name=NAMES[COORDINATOR])
    await s.submit(
        COORDINATOR,
        await modal(stack, 1),
        {"title": "Noord: samen grip", "question": "Hoe voorkomen we wachttijden?",
         "format": "retro", "language": "nl", "members": [AHMED, FLEUR]},
    )  # fmt: skip
    await eventually(lambda: "staat klaar" in api.texts("chat.postEphemeral"))
    await s.command(COORDINATOR, "start", user_name=NAMES[COORDINATOR])
    await eventually(lambda: len(api.of("conversations.open")) == 3)  # the session runs
    await s.command(AHMED, "commit", user_name=NAMES[AHMED])
    await s.submit(
        AHMED,
        await modal(stack, 2),
        {"text": "Eén intake proberen", "due": "2099-02-01", "mode": "co_create"},
    )
    await eventually(lambda: "genoteerd" in api.texts("chat.postEphemeral"))
    await s.command(FLEUR, "status", user_name=NAMES[FLEUR])


def _words_of(document: docx.document.Document) -> str:
    cells = [c.text for table in document.tables for row in table.rows for c in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


async def test_a_coordinator_gets_the_word_file_in_their_dm_once(slack_stack: SlackStack) -> None:
    s, api = slack_stack.slack, slack_stack.api
    await _session_with_a_commitment(slack_stack)
    # Slack retries a slash command it did not hear back from in time: same trigger, one file.
    for _ in range(2):
        await s.command(COORDINATOR, "export docx", trigger_id="trigger-export")
    await eventually(lambda: "rechtstreeks" in api.texts("chat.postEphemeral"))
    await eventually(lambda: len(api.of("files.completeUploadExternal")) == 1)
    await asyncio.sleep(0.5)  # time for a second upload, were there one
    assert len(api.of("files.completeUploadExternal")) == 1

    asked = api.of("files.getUploadURLExternal")[-1]
    assert asked["filename"] == "summary.docx" and int(asked["length"]) == len(api.uploads[-1])
    done = api.of("files.completeUploadExternal")[-1]
    assert done["channel_id"] == f"D{COORDINATOR}"  # the coordinator's DM, not the channel
    assert done["files"][0]["title"] == "Samenvatting: Noord: samen grip"

    document = docx.Document(io.BytesIO(api.uploads[-1]))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert any("Noord: samen grip" in h for h in headings)
    words = _words_of(document)
    assert "Eén intake proberen" in words  # the commitment is there, its owner is not
    for user, name in NAMES.items():
        assert user not in words and name not in words
    assert_known_to_the_spec(slack_stack)


async def test_participants_and_unknown_formats_get_a_polite_no(slack_stack: SlackStack) -> None:
    s, api = slack_stack.slack, slack_stack.api
    await _session_with_a_commitment(slack_stack)
    await s.command(AHMED, "export")
    await eventually(lambda: "coördinator" in api.texts("chat.postEphemeral"))
    await s.command(COORDINATOR, "exporteer xls")
    await eventually(lambda: "pdf, docx, html, md, csv, json" in api.texts("chat.postEphemeral"))
    await s.command(COORDINATOR, "exporteer reeks")
    await eventually(lambda: "niet bij een reeks" in api.texts("chat.postEphemeral"))
    await asyncio.sleep(0.3)
    assert api.of("files.getUploadURLExternal") == []
    async with slack_stack.app.uow() as uow:
        assert [m for m in await uow.outbox.pending() if m.kind == "export"] == []
