"""Daily counts: what analytics keeps of the rows that retention prunes (and erasure deletes), with no customer in them.

Revision ID: 0010
Revises: 0009
Create Date: 2027-01-14
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "daily_counts",
        sa.Column("day", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("journey_id", sa.String(), nullable=False),
        sa.Column("step_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "kind", "journey_id", "step_id", "name", "status", name="pk_daily_counts"),
    )


def downgrade() -> None:
    op.drop_table("daily_counts")
