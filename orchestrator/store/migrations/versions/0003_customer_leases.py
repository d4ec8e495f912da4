"""Customer leases: routing serializes one customer's calls without holding a database lock across Temporal calls.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("customer_locks") as batch:
        batch.add_column(sa.Column("holder", sa.String(), nullable=True))
        batch.add_column(sa.Column("held_until", TIMESTAMP, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customer_locks") as batch:
        batch.drop_column("held_until")
        batch.drop_column("holder")
