"""Delivery controls: the ledger knows whose delivery it is, its category, and when it took a slot under the caps.

Revision ID: 0002
Revises: 0001
Create Date: 2026-03-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("customer_id", sa.String(), nullable=True))
    op.add_column("deliveries", sa.Column("journey_id", sa.String(), nullable=True))
    op.add_column("deliveries", sa.Column("category", sa.String(), nullable=True))
    op.add_column("deliveries", sa.Column("admitted_at", TIMESTAMP, nullable=True))
    op.create_index("ix_deliveries_customer_id_admitted_at", "deliveries", ["customer_id", "admitted_at"])
    # Older rows: whose they are, from the enrollment index, so GET /v1/customers/{id}/deliveries lists them.
    # They have no admitted_at, so they do not count towards caps (caps count from this upgrade on).
    op.execute(
        "UPDATE deliveries SET"
        " customer_id = (SELECT e.customer_id FROM enrollments e WHERE e.enrollment_id = deliveries.enrollment_id),"
        " journey_id = (SELECT e.journey_id FROM enrollments e WHERE e.enrollment_id = deliveries.enrollment_id)"
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_customer_id_admitted_at", table_name="deliveries")
    for column in ("admitted_at", "category", "journey_id", "customer_id"):
        with op.batch_alter_table("deliveries") as batch:
            batch.drop_column(column)
