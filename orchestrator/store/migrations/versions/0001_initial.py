"""The whole store: profiles, events, journeys, enrollment index, delivery ledger, outbox.

Revision ID: 0001
Revises:
Create Date: 2025-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# Types spelled out here rather than imported from schema.py: a migration is history and must not
# change when the current table definitions do.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "customer_locks",
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name="pk_customer_locks"),
    )
    op.create_table(
        "profiles",
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=True),
        sa.Column("phone", sa.String(), nullable=True),
        sa.Column("push_tokens", JSON, nullable=False),
        sa.Column("timezone", sa.String(), nullable=True),
        sa.Column("locale", sa.String(), nullable=True),
        sa.Column("email_opt_in", sa.Boolean(), nullable=False),
        sa.Column("sms_opt_in", sa.Boolean(), nullable=False),
        sa.Column("push_opt_in", sa.Boolean(), nullable=False),
        sa.Column("traits", JSON, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name="pk_profiles"),
    )
    op.create_table(
        "events",
        sa.Column("message_id", sa.String(), nullable=False),
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("properties", JSON, nullable=False),
        sa.Column("timestamp", TIMESTAMP, nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("message_id", name="pk_events"),
    )
    op.create_index("ix_events_customer_id_timestamp", "events", ["customer_id", "timestamp"])
    op.create_table(
        "journeys",
        sa.Column("journey_id", sa.String(), nullable=False),
        sa.Column("active_version", sa.String(), nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("journey_id", name="pk_journeys"),
    )
    op.create_table(
        "journey_versions",
        sa.Column("journey_id", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("ir", sa.Text(), nullable=False),
        sa.Column("deployed_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(["journey_id"], ["journeys.journey_id"], name="fk_journey_versions_journey_id_journeys"),
        sa.PrimaryKeyConstraint("journey_id", "version", name="pk_journey_versions"),
    )
    op.create_table(
        "enrollments",
        sa.Column("enrollment_id", sa.String(), nullable=False),
        sa.Column("journey_id", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("current_step", sa.String(), nullable=True),
        sa.Column("entered_at", TIMESTAMP, nullable=False),
        sa.Column("ended_at", TIMESTAMP, nullable=True),
        # op.f marks the name final: Alembic applies schema.py's naming convention, whose check
        # pattern contains the constraint name, so a plain name would become ck_enrollments_ck_enrollments_status.
        sa.CheckConstraint(
            "status IN ('running', 'completed', 'converted', 'exited', 'holdout', 'failed')",
            name=op.f("ck_enrollments_status"),
        ),
        sa.PrimaryKeyConstraint("enrollment_id", name="pk_enrollments"),
    )
    op.create_index("ix_enrollments_customer_id_status", "enrollments", ["customer_id", "status"])
    op.create_index("ix_enrollments_journey_id_customer_id_entered_at", "enrollments", ["journey_id", "customer_id", "entered_at"])
    op.create_table(
        "deliveries",
        sa.Column("enrollment_id", sa.String(), nullable=False),
        sa.Column("step_id", sa.String(), nullable=False),
        sa.Column("visit", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("provider_message_id", sa.String(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint("status IN ('intent', 'sent', 'suppressed', 'failed')", name=op.f("ck_deliveries_status")),
        sa.PrimaryKeyConstraint("enrollment_id", "step_id", "visit", name="pk_deliveries"),
    )
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("enrollment_id", sa.String(), nullable=False),
        sa.Column("journey_id", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("step_id", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("to_address", sa.String(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sent_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_outbox_messages"),
    )
    op.create_index("ix_outbox_messages_customer_id_sent_at_id", "outbox_messages", ["customer_id", "sent_at", "id"])


def downgrade() -> None:
    for table in ("outbox_messages", "deliveries", "enrollments", "journey_versions", "journeys", "events", "profiles", "customer_locks"):
        op.drop_table(table)
