"""Why an enrollment did what it did: the reason it ended, and the problems noted at its steps.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Rows finished before this revision keep NULL: the API derives what their journey version tells.
    with op.batch_alter_table("enrollments") as batch:
        batch.add_column(sa.Column("end_reason", sa.Text(), nullable=True))
    op.create_table(
        "enrollment_problems",
        sa.Column("enrollment_id", sa.String(), nullable=False),
        sa.Column("step_id", sa.String(), nullable=False),
        sa.Column("visit", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(), nullable=False),
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("journey_id", sa.String(), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("occurred_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("enrollment_id", "step_id", "visit", "field", name="pk_enrollment_problems"),
    )
    op.create_index("ix_enrollment_problems_customer_id_occurred_at", "enrollment_problems", ["customer_id", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_enrollment_problems_customer_id_occurred_at", table_name="enrollment_problems")
    op.drop_table("enrollment_problems")
    with op.batch_alter_table("enrollments") as batch:
        batch.drop_column("end_reason")
