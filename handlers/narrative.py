"""The narrative paragraph of the municipality's summary, and what the assistant cost.

The paragraph is the template text made from the team's figures, unless the team chose a draft
of the assistant. Both go into `build_summary` as its optional sections.
"""

from __future__ import annotations

from handlers.model import Session, SuggestionStatus, id_of
from handlers.ports import UnitOfWork
from handlers.summary import Assistance, Narrative, Summary
from prompts.catalog import t

THEMES_NAMED = 3


def template_narrative(lang: str, summary: Summary) -> str:
    loops = summary.loops
    commitments = summary.commitments
    themes = [th for th in summary.themes if th.votes] or list(summary.themes)
    return " ".join(
        t(
            lang,
            "assist.narrative_template",
            question=summary.session.question,
            people=summary.participants.total,
            contributions=sum(r.contribution_count for r in summary.rounds),
            themes=themes[:THEMES_NAMED],
            loops=len(loops),
            reinforcing=sum(1 for lp in loops if lp.kind == "reinforcing"),
            commitments=len(commitments),
            done=sum(1 for c in commitments if c.status == "done"),
        ).split()
    )


async def assistance_parts(
    uow: UnitOfWork, session: Session, lang: str, summary: Summary
) -> tuple[Narrative, Assistance]:
    """The `narrative` and `assistance` sections of the summary."""
    session_id = id_of(session)
    chosen = [
        s
        for s in await uow.assistance.suggestions(session_id)
        if s.kind == "narrative" and s.status == SuggestionStatus.CONFIRMED
    ]
    if chosen:
        narrative = Narrative(str(chosen[-1].payload["text"]), "assistant")
    else:
        narrative = Narrative(template_narrative(lang, summary), "template")
    usage = await uow.assistance.usage(session_id)
    return narrative, Assistance(
        calls=usage.calls if usage else 0,
        prompt_tokens=usage.prompt_tokens if usage else 0,
        completion_tokens=usage.completion_tokens if usage else 0,
    )
