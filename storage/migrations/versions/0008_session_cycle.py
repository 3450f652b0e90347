"""The session cycle: live or async, a series' occurrence (unique per series), the map a
session kept at its close, and what a series does on a holiday

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

Existing sessions of a series get their start time as their occurrence. Two sessions for the
same occurrence (two processes planned the next one at once) are made one before the unique key
is created: an extra draft is deleted with its rounds; an extra session that already ran keeps
its content and loses only its claim on the occurrence.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.tables

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN and a unique index: on SQLite a batch would rebuild the tables, and
    # dropping the old `series` or `sessions` would null or cascade what refers to them.
    op.add_column(
        "sessions", sa.Column("mode", sa.String(length=8), nullable=False, server_default="live")
    )
    op.add_column(
        "sessions",
        sa.Column("occurrence", storage.tables.UTCDateTime(timezone=True), nullable=True),
    )
    op.add_column("sessions", sa.Column("map_snapshot", storage.tables.JSON, nullable=True))
    op.add_column(
        "series",
        sa.Column("on_holiday", sa.String(length=8), nullable=False, server_default="move"),
    )
    op.add_column(
        "series", sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true())
    )
    op.add_column("series", sa.Column("round_days", sa.Integer(), nullable=True))
    bind = op.get_bind()
    # A session with a start time and a round plan ran by the clock: async.
    bind.execute(
        sa.text(
            "UPDATE sessions SET mode = 'async' WHERE starts_at IS NOT NULL AND EXISTS "
            "(SELECT 1 FROM rounds WHERE rounds.session_id = sessions.id "
            "AND rounds.closes_at IS NOT NULL AND rounds.status = 'pending')"
        )
    )
    bind.execute(
        sa.text(
            "UPDATE sessions SET occurrence = starts_at "
            "WHERE series_id IS NOT NULL AND starts_at IS NOT NULL"
        )
    )
    _dedupe(bind)
    op.create_index(
        "uq_sessions_series_occurrence", "sessions", ["series_id", "occurrence"], unique=True
    )


def _dedupe(bind: sa.Connection) -> None:
    rows = bind.execute(
        sa.text(
            "SELECT id, series_id, occurrence, status FROM sessions "
            "WHERE series_id IS NOT NULL AND occurrence IS NOT NULL ORDER BY id"
        )
    ).all()
    groups: dict[tuple[object, object], list[tuple[int, str]]] = {}
    for session_id, series_id, occurrence, status in rows:
        groups.setdefault((series_id, occurrence), []).append((session_id, status))
    for members in groups.values():
        if len(members) < 2:
            continue
        # Keep the one that got furthest (a running or closed session), else the first.
        ran = [m for m in members if m[1] != "draft"]
        keep = (ran or members)[0][0]
        for session_id, status in members:
            if session_id == keep:
                continue
            if status == "draft":
                _delete_draft(bind, session_id)
            else:
                bind.execute(
                    sa.text("UPDATE sessions SET occurrence = NULL WHERE id = :id"),
                    {"id": session_id},
                )


def _delete_draft(bind: sa.Connection, session_id: int) -> None:
    """A draft holds only its planned rounds (and, rarely, drafted suggestions)."""
    params = {"id": session_id}
    for table in ("contributions", "votes", "themes"):
        bind.execute(
            sa.text(
                f"DELETE FROM {table} WHERE round_id IN "  # fixed table names
                "(SELECT id FROM rounds WHERE session_id = :id)"
            ),
            params,
        )
    for table in ("rounds", "suggestions", "assist_usage", "actors", "forces", "commitments"):
        bind.execute(sa.text(f"DELETE FROM {table} WHERE session_id = :id"), params)
    bind.execute(sa.text("UPDATE links SET session_id = NULL WHERE session_id = :id"), params)
    bind.execute(sa.text("DELETE FROM sessions WHERE id = :id"), params)


def downgrade() -> None:
    op.drop_index("uq_sessions_series_occurrence", table_name="sessions")
    # Sessions that did not take place were closed ones before.
    op.execute(sa.text("UPDATE sessions SET status = 'closed' WHERE status = 'not_held'"))
    for table, column in (
        ("sessions", "map_snapshot"),
        ("sessions", "occurrence"),
        ("sessions", "mode"),
        ("series", "round_days"),
        ("series", "active"),
        ("series", "on_holiday"),
    ):
        op.drop_column(table, column)
