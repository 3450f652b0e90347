"""Intake: what a platform delivered, kept before it is acknowledged and until it is handled

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.tables

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "intake",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("platform", sa.String(length=24), nullable=False),
        sa.Column("event", storage.tables.JSON, nullable=False),
        sa.Column("received_at", storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("worker", sa.String(length=120), nullable=False),
        sa.Column("lease_until", storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake")),
        sa.UniqueConstraint("key", name=op.f("uq_intake_key")),
    )
    op.create_index(op.f("ix_intake_lease_until"), "intake", ["lease_until"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_intake_lease_until"), table_name="intake")
    op.drop_table("intake")
