"""Outbox leases name their worker: a restarted process takes its own rows back at once

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The worker's stable name (host and instance), and which start of it holds the lease.
    op.add_column("outbox", sa.Column("leased_by", sa.String(length=255), nullable=True))
    op.add_column("outbox", sa.Column("lease_run", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("lease_run")
        batch.drop_column("leased_by")
