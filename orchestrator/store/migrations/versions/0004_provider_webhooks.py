"""Provider webhooks: the log of provider events (deduplicated), and what the ledger needs to match them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

TIMESTAMP = sa.DateTime(timezone=True)
BACKFILL_BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("message_ref", sa.String(), nullable=True))
        batch.add_column(sa.Column("provider_status", sa.String(), nullable=True))
        batch.add_column(sa.Column("provider_status_at", TIMESTAMP, nullable=True))
    op.create_index("ix_deliveries_message_ref", "deliveries", ["message_ref"])
    op.create_index("ix_deliveries_provider_message_id", "deliveries", ["provider_message_id"])
    op.create_index("ix_profiles_phone", "profiles", ["phone"])
    op.create_table(
        "provider_events",
        sa.Column("provider", sa.String(), nullable=False),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("customer_id", sa.String(), nullable=True),
        sa.Column("enrollment_id", sa.String(), nullable=True),
        sa.Column("step_id", sa.String(), nullable=True),
        sa.Column("visit", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("occurred_at", TIMESTAMP, nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("provider", "event_id", name="pk_provider_events"),
    )
    op.create_index("ix_provider_events_customer_id_occurred_at", "provider_events", ["customer_id", "occurred_at"])
    op.create_index("ix_provider_events_enrollment_id_step_id_visit", "provider_events", ["enrollment_id", "step_id", "visit"])
    _backfill_message_refs()


def _backfill_message_refs() -> None:
    """Rows written before this revision get their reference, so events for mail already sent still match.

    Computed here in Python (SQLite has no SHA-256), in the same way as `orchestrator.store.values.message_reference`,
    which is not imported: a migration must keep doing what it did when it was written.
    """
    connection = op.get_bind()
    deliveries = sa.table(
        "deliveries",
        sa.column("enrollment_id", sa.String()),
        sa.column("step_id", sa.String()),
        sa.column("visit", sa.Integer()),
        sa.column("message_ref", sa.String()),
    )
    key = (deliveries.c.enrollment_id, deliveries.c.step_id, deliveries.c.visit)
    while True:
        rows = connection.execute(sa.select(*key).where(deliveries.c.message_ref.is_(None)).limit(BACKFILL_BATCH)).all()
        for enrollment_id, step_id, visit in rows:
            reference = hashlib.sha256(f"{enrollment_id}:{step_id}:{visit}".encode()).hexdigest()[:32]
            connection.execute(
                sa.update(deliveries)
                .where((key[0] == enrollment_id) & (key[1] == step_id) & (key[2] == visit))
                .values(message_ref=reference)
            )
        if len(rows) < BACKFILL_BATCH:
            return


def downgrade() -> None:
    op.drop_index("ix_provider_events_enrollment_id_step_id_visit", table_name="provider_events")
    op.drop_index("ix_provider_events_customer_id_occurred_at", table_name="provider_events")
    op.drop_table("provider_events")
    op.drop_index("ix_profiles_phone", table_name="profiles")
    op.drop_index("ix_deliveries_provider_message_id", table_name="deliveries")
    op.drop_index("ix_deliveries_message_ref", table_name="deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("provider_status_at")
        batch.drop_column("provider_status")
        batch.drop_column("message_ref")
