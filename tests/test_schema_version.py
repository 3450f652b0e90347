"""Start-up skips Alembic only when the database is at the newest migration; anything else
(a new database, one a migration behind) still goes through Alembic."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from bot.clock import ManualClock
from bot.wiring import build
from storage.db import create_engine
from storage.migrate import alembic_config
from storage.schema_version import heads, up_to_date


def test_the_newest_revisions_are_the_ones_alembic_finds() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert heads() == frozenset(script.get_heads()) and len(heads()) == 1


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/new.db"
    url: str = request.getfixturevalue("empty_postgres")
    return url


async def version_of(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            found = await connection.execute(sa.text("SELECT version_num FROM alembic_version"))
            return list(found.scalars())
    finally:
        await engine.dispose()


async def test_a_database_behind_is_migrated_and_one_at_head_is_left(
    empty_database: str, clock: ManualClock
) -> None:
    (head,) = heads()
    engine = create_engine(empty_database)
    try:
        assert not await up_to_date(engine)  # nothing there yet
        app = await build(empty_database, clock)  # so Alembic creates the schema
        await app.close()
        assert await up_to_date(engine) and await version_of(empty_database) == [head]
        async with engine.begin() as connection:  # as if a newer release had a migration more
            await connection.execute(sa.text("UPDATE alembic_version SET version_num = '0001'"))
        assert not await up_to_date(engine)
    finally:
        await engine.dispose()
    with pytest.raises(sa.exc.SQLAlchemyError):  # 0002's table exists: Alembic itself ran
        await build(empty_database, clock)
