"""Journey facts: what happened in the journeys, in the order it was recorded, for analytics and the warehouse.

Revision ID: 0011
Revises: 0010
Create Date: 2027-01-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None

TIMESTAMP = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Enrollments from before this revision have no facts: analytics counts what ran after it.
    op.create_table(
        "journey_facts",
        sa.Column("id", ID, nullable=False, autoincrement=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("journey_id", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("enrollment_id", sa.String(), nullable=False),
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("fact_key", sa.String(), nullable=False),
        sa.Column("step_id", sa.String(), nullable=True),
        sa.Column("visit", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("occurred_at", TIMESTAMP, nullable=False),
        sa.Column("recorded_at", TIMESTAMP, nullable=False),
        # The writing transaction's id on PostgreSQL (0 on SQLite): with `id`, the order facts are folded and streamed in.
        sa.Column("xact", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_journey_facts"),
        # SQLite: ids never reused, even after the newest facts are deleted, so a reader's last id stays behind every new one.
        sqlite_autoincrement=True,
    )
    op.create_index("ix_journey_facts_enrollment_id_fact_key", "journey_facts", ["enrollment_id", "fact_key"], unique=True)
    op.create_index("ix_journey_facts_xact_id", "journey_facts", ["xact", "id"])
    # A customer's facts go with an erasure and appear in their export, found without scanning every journey's log.
    op.create_index("ix_journey_facts_customer_id", "journey_facts", ["customer_id"])


def downgrade() -> None:
    op.drop_index("ix_journey_facts_customer_id", table_name="journey_facts")
    op.drop_index("ix_journey_facts_xact_id", table_name="journey_facts")
    op.drop_index("ix_journey_facts_enrollment_id_fact_key", table_name="journey_facts")
    op.drop_table("journey_facts")
