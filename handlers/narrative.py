"""The narrative paragraph of the municipality's summary, and what the assistant cost.

The paragraph is the template text made from the team's figures, unless the team chose a draft
of the assistant. Both go into `build_summary` as optional keys.
"""

from __future__ import annotations

from typing import Any

from handlers.model import Session, SuggestionStatus
from handlers.ports import UnitOfWork
from prompts.catalog import t

THEMES_NAMED = 3


def template_narrative(lang: str, summary: dict[str, Any]) -> str:
    loops = summary.get("loops", [])
    commitments = summary.get("commitments", [])
    themes = [th for th in summary.get("themes", []) if th.get("votes")] or summary.get(
        "themes", []
    )
    return " ".join(
        t(
            lang,
            "assist.narrative_template",
            question=summary["session"]["question"],
            people=summary["participants"]["total"],
            contributions=sum(r["contribution_count"] for r in summary.get("rounds", [])),
            themes=themes[:THEMES_NAMED],
            loops=len(loops),
            reinforcing=sum(1 for lp in loops if lp.get("kind") == "reinforcing"),
            commitments=len(commitments),
            done=sum(1 for c in commitments if c.get("status") == "done"),
        ).split()
    )


async def assistance_parts(
    uow: UnitOfWork, session: Session, lang: str, summary: dict[str, Any]
) -> dict[str, Any]:
    """The `narrative` and `assistance` keys of the summary."""
    assert session.id is not None
    chosen = [
        s
        for s in await uow.assistance.suggestions(session.id)
        if s.kind == "narrative" and s.status == SuggestionStatus.CONFIRMED
    ]
    if chosen:
        narrative = {"text": str(chosen[-1].payload["text"]), "drafted_by": "assistant"}
    else:
        narrative = {"text": template_narrative(lang, summary), "drafted_by": "template"}
    usage = await uow.assistance.usage(session.id)
    return {
        "narrative": narrative,
        "assistance": {
            "calls": usage.calls if usage else 0,
            "prompt_tokens": usage.prompt_tokens if usage else 0,
            "completion_tokens": usage.completion_tokens if usage else 0,
        },
    }
