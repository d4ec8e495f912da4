"""Broadcast cohorts: the cohort an enrollment runs in, the cohorts of each broadcast run, and the runs themselves.

A broadcast page enrolls its customers into one workflow (a cohort) instead of one each; the index keeps which cohort
each member runs in (routing signals events to it there), and the runs and their cohorts are what a broadcast's
progress is counted from (orchestrator/store/broadcasts.py). Existing rows keep NULL: they run in workflows of their own.

Revision ID: 0014
Revises: 0013
Create Date: 2027-02-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision: str | None = "0013"
branch_labels: str | None = None
depends_on: str | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("enrollments") as batch:
        batch.add_column(sa.Column("cohort_id", sa.String(), nullable=True))
    op.create_index("ix_enrollments_cohort_id", "enrollments", ["cohort_id"])
    op.create_table(
        "broadcast_runs",
        sa.Column("run_key", sa.String(), nullable=False),
        sa.Column("journey_id", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("profiles_at_start", sa.BigInteger(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("last_customer", sa.String(), nullable=True),
        sa.Column("paged_at", TIMESTAMP, nullable=True),
        sa.Column("cancelled_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("run_key", name="pk_broadcast_runs"),
    )
    op.create_index("ix_broadcast_runs_journey_id_started_at", "broadcast_runs", ["journey_id", "started_at"])
    op.create_table(
        "broadcast_cohorts",
        sa.Column("cohort_id", sa.String(), nullable=False),
        sa.Column("run_key", sa.String(), nullable=False),
        sa.Column("journey_id", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("page", sa.Integer(), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("cohort_id", name="pk_broadcast_cohorts"),
    )
    op.create_index("ix_broadcast_cohorts_run_key_page", "broadcast_cohorts", ["run_key", "page"])


def downgrade() -> None:
    op.drop_index("ix_broadcast_cohorts_run_key_page", table_name="broadcast_cohorts")
    op.drop_table("broadcast_cohorts")
    op.drop_index("ix_broadcast_runs_journey_id_started_at", table_name="broadcast_runs")
    op.drop_table("broadcast_runs")
    op.drop_index("ix_enrollments_cohort_id", table_name="enrollments")
    with op.batch_alter_table("enrollments") as batch:
        batch.drop_column("cohort_id")
