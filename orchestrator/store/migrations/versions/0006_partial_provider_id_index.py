"""The ledger's index of provider message ids holds only rows that have one.

Every send's claim is written before the provider call, without an id, and so are
suppressed, deferred and failed sends: each used to add an entry (NULL) to this
index, one more B-tree page written per claim. Webhooks look rows up by an id,
never by its absence, so the partial index serves them as before.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

INDEX = "ix_deliveries_provider_message_id"
PROVIDER_ID_SET = sa.text("provider_message_id IS NOT NULL")


def upgrade() -> None:
    op.drop_index(INDEX, table_name="deliveries")
    op.create_index(INDEX, "deliveries", ["provider_message_id"], sqlite_where=PROVIDER_ID_SET, postgresql_where=PROVIDER_ID_SET)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="deliveries")
    op.create_index(INDEX, "deliveries", ["provider_message_id"])
