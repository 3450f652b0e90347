"""Redaction knows platform ids only from the adapters' declarations, and takes known ids out
as whole words."""

from __future__ import annotations

from bot.slack.ids import SLACK_IDS
from bot.teams.ids import TEAMS_IDS
from handlers import redact
from handlers.redact import ID, PlatformIds, pseudonymise, unnamed


def test_every_platforms_ids_are_taken_out() -> None:
    text = "Vraag <@U0ABC1234> of 29:1a2bC3d4E5f6 en a:1XyZabcdEFGH; <!here> kijk mee"
    out = pseudonymise(text, None)
    assert "U0ABC1234" not in out and "29:1a2b" not in out and "a:1Xy" not in out
    assert "<!here>" not in out and "kijk mee" in out


def test_without_the_declarations_the_core_knows_no_platform_id() -> None:
    saved = dict(redact._PLATFORMS)
    try:
        redact._PLATFORMS.clear()
        assert "U0ABC1234" in pseudonymise("U0ABC1234 belt", None)
        redact.register("slack", SLACK_IDS)
        assert "U0ABC1234" not in pseudonymise("U0ABC1234 belt", None)
    finally:
        redact._PLATFORMS.clear()
        redact._PLATFORMS.update(saved)
    assert isinstance(TEAMS_IDS, PlatformIds)


def test_a_known_id_is_a_whole_word_not_part_of_one() -> None:
    # The console's id for "Sam" is "sam": "samenwerking" keeps its letters.
    assert unnamed("Sam vraagt om samenwerking", None, ["sam"], "[naam]") == (
        "[naam] vraagt om samenwerking"
    )
    assert pseudonymise("dank sam, samen verder", None, ["sam"]) == f"dank {ID}, samen verder"
