"""Anonymous visitors merged into known customers: the `identities` table, and the `merged` end of an enrollment.

An anonymous profile is an ordinary profile under the id `anonymous:<anonymousId>`; when an identify, track or
alias call ties it to a known customer, its rows move to that customer and one `identities` row records the
merge (docs/api.md, "Anonymous visitors"). Where both had an enrollment running in one journey, the younger one
ends with status `merged`. Nothing existing changes: no profile was anonymous before this revision.

Revision ID: 0015
Revises: 0014
Create Date: 2027-02-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision: str | None = "0014"
branch_labels: str | None = None
depends_on: str | None = None

TIMESTAMP = sa.DateTime(timezone=True)
STATUSES = "'running', 'completed', 'converted', 'exited', 'holdout', 'failed'"


def upgrade() -> None:
    op.create_table(
        "identities",
        sa.Column("anonymous_id", sa.String(), nullable=False),
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("merged_at", TIMESTAMP, nullable=False),
        sa.Column("message_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("anonymous_id", name="pk_identities"),
    )
    op.create_index("ix_identities_customer_id", "identities", ["customer_id"])
    _statuses(f"{STATUSES}, 'merged'")


def downgrade() -> None:
    op.execute("UPDATE enrollments SET status = 'exited' WHERE status = 'merged'")
    _statuses(STATUSES)
    op.drop_index("ix_identities_customer_id", table_name="identities")
    op.drop_table("identities")


def _statuses(allowed: str) -> None:
    # op.f: the name is final (see 0001); on SQLite the batch copies the table with the new constraint.
    with op.batch_alter_table("enrollments") as batch:
        batch.drop_constraint(op.f("ck_enrollments_status"), type_="check")
        batch.create_check_constraint(op.f("ck_enrollments_status"), f"status IN ({allowed})")
