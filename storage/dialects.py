"""The database's own INSERT (for ON CONFLICT), its dialect imported for that database only:
SQLAlchemy's PostgreSQL dialect costs a process on SQLite 18 ms and 2 MiB at start."""

from __future__ import annotations

from typing import Any


def insert_for(dialect: str) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert
    from sqlalchemy.dialects import sqlite

    return sqlite.insert
