"""A theme keeps every category of the answers merged into it (Start, Stop, …): room for them

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("themes", schema=None) as batch_op:
        batch_op.alter_column(
            "category",
            existing_type=sa.String(length=64),
            type_=sa.String(length=255),
            existing_nullable=False,
        )


def downgrade() -> None:
    # Only the first category fits back in 64 characters.
    op.execute(
        sa.text("UPDATE themes SET category = substr(category, 1, instr(category || ',', ',') - 1)")
        if op.get_bind().dialect.name == "sqlite"
        else sa.text("UPDATE themes SET category = split_part(category, ',', 1)")
    )
    with op.batch_alter_table("themes", schema=None) as batch_op:
        batch_op.alter_column(
            "category",
            existing_type=sa.String(length=255),
            type_=sa.String(length=64),
            existing_nullable=False,
        )
