"""Opt-outs of phone numbers: a STOP is about the number that texted it, profile or not.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "number_opt_outs",
        sa.Column("phone", sa.String(), nullable=False),
        sa.Column("keyword", sa.String(), nullable=False),
        sa.Column("opted_out_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("phone", name="pk_number_opt_outs"),
    )


def downgrade() -> None:
    op.drop_table("number_opt_outs")
