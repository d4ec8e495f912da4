"""Journey counts: the facts folded per day, each enrollment's summary, and the fold's position; daily_counts goes.

0010's daily_counts counted pruned and erased rows by a definition of its own; the fold's counts
(journey_day_counts) are the one definition now, and retention and erasure fold the facts before
they delete anything (docs/analytics.md, "Facts"). Nothing read daily_counts.

Revision ID: 0012
Revises: 0011
Create Date: 2027-01-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.drop_table("daily_counts")
    op.create_table(
        "fold_position",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("xact", sa.BigInteger(), nullable=False),
        sa.Column("fact_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fold_position"),
    )
    op.create_table(
        "enrollment_summaries",
        sa.Column("enrollment_id", sa.String(), nullable=False),
        sa.Column("journey_id", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("entered_at", TIMESTAMP, nullable=True),
        sa.Column("cohort_day", sa.String(), nullable=True),
        sa.Column("converted", sa.Boolean(), nullable=False),
        sa.Column("arms", sa.String(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("enrollment_id", name="pk_enrollment_summaries"),
    )
    op.create_index(
        "ix_enrollment_summaries_journey_id_version_cohort_day", "enrollment_summaries", ["journey_id", "version", "cohort_day"]
    )
    op.create_index("ix_enrollment_summaries_journey_id_customer_id", "enrollment_summaries", ["journey_id", "customer_id"])
    op.create_index("ix_enrollment_summaries_customer_id", "enrollment_summaries", ["customer_id"])
    keys = ("journey_id", "version", "day", "measure", "step_id", "name", "status", "detail")
    op.create_table(
        "journey_day_counts",
        *(sa.Column(key, sa.String(), nullable=False) for key in keys),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("total_of_squares", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(*keys, name="pk_journey_day_counts"),
    )


def downgrade() -> None:
    op.drop_table("journey_day_counts")
    op.drop_index("ix_enrollment_summaries_customer_id", table_name="enrollment_summaries")
    op.drop_index("ix_enrollment_summaries_journey_id_customer_id", table_name="enrollment_summaries")
    op.drop_index("ix_enrollment_summaries_journey_id_version_cohort_day", table_name="enrollment_summaries")
    op.drop_table("enrollment_summaries")
    op.drop_table("fold_position")
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
