"""Intake: a delivery handled but not yet answered keeps its replies, so that a worker killed
between the commit and the reply leaves them for the intake tick to send

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.tables

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("intake", sa.Column("replies", storage.tables.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("intake") as batch:
        batch.drop_column("replies")
