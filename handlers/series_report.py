"""The summary of a recurring series: each session's summary plus follow-through over time.

Follow-through counts, per session, what became of the commitments made in it (as of `today`):
done, on track, stuck, released, overdue (past the due date and not finished), or not yet
reported. One set of pseudonyms spans the whole export, so an owner is the same across sessions.
"""

from __future__ import annotations

from datetime import date

from handlers.loops import Bounds
from handlers.model import CommitmentStatus, Series, Session, SessionStatus
from handlers.ports import UnitOfWork
from handlers.pseudonyms import Pseudonyms
from handlers.reports import build_summary, scrubber_for
from handlers.summary import CommitmentSummary, FollowThrough, SeriesInfo, SeriesSummary

FOLLOW_THROUGH = ("done", "on_track", "stuck", "released", "overdue", "open")


def follow_through_of(commitments: tuple[CommitmentSummary, ...], today: date) -> dict[str, int]:
    counts = dict.fromkeys(FOLLOW_THROUGH, 0)
    for c in commitments:
        status = CommitmentStatus(c.status)
        if status in (CommitmentStatus.DONE, CommitmentStatus.RELEASED, CommitmentStatus.STUCK):
            key = status.value
        elif date.fromisoformat(c.due_date) < today:
            key = "overdue"
        elif status == CommitmentStatus.IN_PROGRESS:
            key = "on_track"
        else:
            key = "open"
        counts[key] += 1
    return counts


async def build_series_summary(
    uow: UnitOfWork,
    series: Series,
    today: date,
    lang: str | None = None,
    bounds: Bounds | None = None,
    *,
    with_names: bool = False,
) -> SeriesSummary | None:
    """None when no session of the series has started yet."""
    held = sorted(
        (
            s
            for s in await uow.sessions.for_team(series.team_id)
            # Held ones only: a session nobody took part in has no figures to show.
            if s.series_id == series.id and s.status in (SessionStatus.OPEN, SessionStatus.CLOSED)
        ),
        key=lambda s: (held_on(s, today), s.id or 0),
    )
    if not held:
        return None
    lang = lang or held[0].locale
    pseudonyms = Pseudonyms(lang)
    sessions = tuple(
        [
            await build_summary(uow, s, lang, bounds, with_names=with_names, pseudonyms=pseudonyms)
            for s in held
        ]
    )
    return SeriesSummary(
        series=SeriesInfo(
            id=series.id,
            title=(await scrubber_for(uow, held[-1], lang))(series.title),
            format=series.format,
            language=lang,
            sessions=len(sessions),
            as_of=today.isoformat(),
        ),
        follow_through=tuple(
            FollowThrough(
                session=summary.session.id,
                title=summary.session.title,
                date=held_on(s, today).isoformat(),
                **follow_through_of(summary.commitments, today),
            )
            for s, summary in zip(held, sessions, strict=True)
        ),
        sessions=sessions,
    )


def held_on(session: Session, today: date) -> date:
    when = session.starts_at or session.created_at
    return when.date() if when is not None else today
