"""/healthz and /readyz, apart: a process that is alive is not always one to send traffic to.

/healthz: the process answers (a supervisor restarts it when it does not).
/readyz: the database answers and its schema is at this code's migration head (a load balancer
or Kubernetes sends requests only then; during a rolling upgrade a replica whose code is ahead
of the database waits for the migration job)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.schema_version import heads


@functools.cache
def migration_heads() -> frozenset[str]:
    """The revisions this code's migrations end in (read once: the files do not change), from
    the files themselves: Alembic is imported only when they are not as storage/schema_version.py
    reads them."""
    found = heads()
    if found:
        return found
    from alembic.script import ScriptDirectory

    from storage.migrate import alembic_config

    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readiness(engine: AsyncEngine) -> tuple[bool, dict[str, object]]:
    """Whether to send traffic here, and why not (no values from the database but revisions)."""
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
            try:
                found = await conn.execute(sa.text("SELECT version_num FROM alembic_version"))
                current = frozenset(str(row[0]) for row in found)
            except sa.exc.DBAPIError:  # no alembic_version table: never migrated
                current = frozenset()
    except Exception as exc:  # the point is to say so, not to crash
        return False, {"status": "database unreachable", "error": type(exc).__name__}
    heads = migration_heads()
    if current != heads:
        body: dict[str, object] = {"status": "migrations not at head", "database": sorted(current),
                "code": sorted(heads)}  # fmt: skip
        return False, body
    ready: dict[str, object] = {"status": "ready", "revision": sorted(heads)}
    return True, ready


def readyz(engine: AsyncEngine) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def ready(_request: web.Request) -> web.Response:
        ok, body = await readiness(engine)
        return web.json_response(body, status=200 if ok else 503)

    return ready
