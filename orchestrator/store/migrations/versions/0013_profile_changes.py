"""Profile changes: each write of a profile's traits, so that the profile as it was at any instant can be rebuilt.

Profiles written before this revision have no history: their changes start with the first write after it
(a backtest over an earlier window sees such a customer only from then; docs/privacy.md, "Profile history").

Revision ID: 0013
Revises: 0012
Create Date: 2027-01-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0013"
down_revision: str | None = "0012"
branch_labels: str | None = None
depends_on: str | None = None

TIMESTAMP = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DATA = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "profile_changes",
        sa.Column("id", ID, nullable=False, autoincrement=True),
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("changed_at", TIMESTAMP, nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("changes", JSON_DATA, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_profile_changes"),
    )
    # A customer's changes in arrival order: rebuilding their profile, the backtest's bulk read, export, erasure.
    op.create_index("ix_profile_changes_customer_id_id", "profile_changes", ["customer_id", "id"])
    # Retention finds the changes that fell out of its window without scanning the history.
    op.create_index("ix_profile_changes_changed_at", "profile_changes", ["changed_at"])


def downgrade() -> None:
    op.drop_index("ix_profile_changes_changed_at", table_name="profile_changes")
    op.drop_index("ix_profile_changes_customer_id_id", table_name="profile_changes")
    op.drop_table("profile_changes")
