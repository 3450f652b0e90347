"""Whether a database's schema is at the newest migration, found without Alembic.

`coulisse serve` migrates on every start, and nearly always there is nothing to do; Alembic
with Mako costs about 11 MiB and a good part of the start just to find that out. The newest
revisions are read from the migration files here, the database's from `alembic_version`; only
when they differ (or either cannot be read) does the caller run Alembic, which then decides.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

VERSIONS = Path(__file__).parent / "migrations" / "versions"
_REVISION = re.compile(r"^revision\s*(?::[^=]*)?=\s*[\"']([^\"']+)[\"']", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\s*(?::[^=]*)?=(.*)$", re.MULTILINE)
_QUOTED = re.compile(r"[\"']([^\"']+)[\"']")


@cache
def heads() -> frozenset[str]:
    """The revisions no other revision builds on; empty when a file is not one this reads."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in VERSIONS.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN_REVISION.search(source)
        if revision is None or down is None:
            return frozenset()
        revisions.add(revision.group(1))
        parents.update(_QUOTED.findall(down.group(1)))
    return frozenset(revisions - parents)


async def up_to_date(engine: AsyncEngine) -> bool:
    wanted = heads()
    if not wanted:
        return False
    try:
        async with engine.connect() as connection:
            found = await connection.execute(text("SELECT version_num FROM alembic_version"))
            return set(found.scalars()) == wanted
    except SQLAlchemyError:  # no such table: a database never migrated
        return False
