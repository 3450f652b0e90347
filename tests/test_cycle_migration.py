"""Migration 0008 puts a unique key on (series, occurrence). A database from before it may hold
two sessions for one occurrence (two processes prepared the next one at once): the migration
makes them one — an extra draft goes with its rounds, an extra session that ran keeps its
content and only loses its claim — and from then on a second one cannot be stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from storage.db import create_engine
from storage.migrate import upgrade_async
from tests.conftest import database_of_its_own

WHEN = "2027-03-30 09:00:00"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        return
    request.getfixturevalue("postgres_url")  # skips (or fails in CI) without PostgreSQL
    with database_of_its_own("coulisse_cycle") as url:
        yield url


def _session(id_: int, status: str, starts: str) -> str:
    return (
        "INSERT INTO sessions (id, team_id, title, question, format, created_by, locale, "
        "anonymous, vote_budget, status, starts_at, series_id, created_at) VALUES "
        f"({id_}, 1, 'W', 'Q', 'custom', 1, 'nl', true, 3, '{status}', '{starts}', 1, "
        f"'{starts}')"
    )


def _round(id_: int, session_id: int) -> str:
    return (
        "INSERT INTO rounds (id, session_id, position, kind, name, categories, pillar, status) "
        f"VALUES ({id_}, {session_id}, 1, 'checkin', 'checkin', '[]', '', 'pending')"
    )


async def test_duplicate_occurrences_are_made_one_then_refused(empty_url: str) -> None:
    await upgrade_async(empty_url, "0007")
    engine = create_engine(empty_url)
    async with engine.begin() as conn:
        for sql in (
            "INSERT INTO workspaces (id, platform, external_id, locale, timezone) "
            "VALUES (1, 'console', 'ws', 'nl', 'Europe/Amsterdam')",
            "INSERT INTO people (id, workspace_id, platform_id, display_name, organisation, "
            "discipline, locale, timezone, quiet_start, quiet_end, nudges_paused, erased, "
            "holiday_country, holiday_region) VALUES (1, 1, 'sanne', 'Sanne', '', '', 'nl', "
            "'Europe/Amsterdam', '18:00:00', '08:30:00', false, false, '', '')",
            "INSERT INTO teams (id, workspace_id, channel_id, name, assistant) "
            "VALUES (1, 1, 'noord', 'noord', true)",
            "INSERT INTO series (id, team_id, title, format, rrule, timezone) "
            "VALUES (1, 1, 'W', 'custom', 'x', 'Europe/Amsterdam')",
            _session(1, "closed", "2027-03-23 09:00:00"),
            _session(2, "draft", WHEN),  # prepared by one process …
            _session(3, "draft", WHEN),  # … and by another: this one goes
            _session(4, "closed", "2027-04-06 09:00:00"),
            _session(5, "open", "2027-04-06 09:00:00"),  # it ran too: kept, without the claim
            _session(6, "draft", "2027-04-06 09:00:00"),  # a draft beside them: goes
            _round(1, 2),
            _round(2, 3),
            _round(3, 4),
            _round(4, 5),
            _round(5, 6),
        ):
            await conn.execute(sa.text(sql))
    await engine.dispose()

    await upgrade_async(empty_url, "head")

    engine = create_engine(empty_url)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(sa.text("SELECT id, status, occurrence FROM sessions ORDER BY id"))
        ).all()
        rounds = (await conn.execute(sa.text("SELECT session_id FROM rounds ORDER BY id"))).all()
    assert [(r[0], r[1], r[2] is not None) for r in rows] == [
        (1, "closed", True),
        (2, "draft", True),
        (4, "closed", True),
        (5, "open", False),
    ]
    assert [r[0] for r in rounds] == [2, 4, 5]
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO sessions (team_id, title, question, format, locale, anonymous, "
                    "vote_budget, status, series_id, occurrence, mode) VALUES (1, 'W', 'Q', "
                    f"'custom', 'nl', true, 3, 'draft', 1, '{WHEN}', 'live')"
                )
            )
    await engine.dispose()
