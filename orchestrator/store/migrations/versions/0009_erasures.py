"""Erasure: the audit of every erasure (the tombstone while it runs), and the suppression entries of erased addresses.

Revision ID: 0009
Revises: 0008
Create Date: 2027-01-13
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None

TIMESTAMP = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "erasures",
        sa.Column("id", ID, nullable=False, autoincrement=True),
        sa.Column("customer_hash", sa.String(), nullable=False),
        sa.Column("requested_by", sa.String(), nullable=False),
        sa.Column("requested_at", TIMESTAMP, nullable=False),
        sa.Column("completed_at", TIMESTAMP, nullable=True),
        sa.Column("guard_until", TIMESTAMP, nullable=True),
        sa.Column("removed", JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_erasures"),
    )
    op.create_index("ix_erasures_customer_hash", "erasures", ["customer_hash"])
    op.create_table(
        "suppressions",
        sa.Column("address_hash", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("suppressed_at", TIMESTAMP, nullable=False),
        sa.Column("stop_keyword", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("address_hash", name="pk_suppressions"),
    )


def downgrade() -> None:
    op.drop_table("suppressions")
    op.drop_index("ix_erasures_customer_hash", table_name="erasures")
    op.drop_table("erasures")
