"""Consent records: every change of a customer's consent, with where it came from and the evidence.

Revision ID: 0008
Revises: 0007
Create Date: 2027-01-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

TIMESTAMP = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Profiles changed before this revision have no records: their `*_opt_in` says the state, not its history.
    op.create_table(
        "consent_records",
        sa.Column("id", ID, nullable=False, autoincrement=True),
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("opted_in", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("evidence", sa.String(), nullable=True),
        sa.Column("detail", sa.String(), nullable=True),
        sa.Column("occurred_at", TIMESTAMP, nullable=False),
        sa.Column("recorded_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_consent_records"),
    )
    # Unique: a replayed call whose message id the events table no longer holds (pruned) records nothing twice.
    op.create_index(
        "ix_consent_records_customer_id_channel_source_evidence",
        "consent_records",
        ["customer_id", "channel", "source", "evidence"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("ix_consent_records_customer_id_channel_source_evidence", table_name="consent_records")
    op.drop_table("consent_records")
