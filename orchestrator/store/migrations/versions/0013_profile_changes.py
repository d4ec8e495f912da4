"""Profile changes: each write of a profile's traits, so that the profile as it was at any instant can be rebuilt.

Each profile that exists already gets one baseline change: what it holds now, in effect from its `updated_at`
(its last write). From then on it is rebuilt exactly; before, nothing was recorded, so such a customer did not
exist yet as far as the history knows (docs/privacy.md, "Profile history").

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
BACKFILL_BATCH = 1000


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
    _baselines_of_existing_profiles()


def _baselines_of_existing_profiles() -> None:
    """One baseline change per existing profile, in pages of BACKFILL_BATCH profiles in customer id order.

    The baseline's changes are worked out here as `orchestrator.store.profile_timeline.state_changes` does (traits, then
    the fields the profile has; consent aside), which is not imported: a migration must keep doing what it did when
    it was written.
    """
    connection = op.get_bind()
    profiles = sa.table(
        "profiles",
        sa.column("customer_id", sa.String()),
        *(sa.column(name, sa.String()) for name in ("email", "phone", "timezone", "locale")),
        sa.column("push_tokens", JSON_DATA),
        sa.column("traits", JSON_DATA),
        sa.column("updated_at", TIMESTAMP),
    )
    changes = sa.table(
        "profile_changes",
        sa.column("customer_id", sa.String()),
        sa.column("changed_at", TIMESTAMP),
        sa.column("source", sa.String()),
        sa.column("changes", JSON_DATA),
    )
    after = ""
    while True:
        page = connection.execute(
            sa.select(profiles).where(profiles.c.customer_id > after).order_by(profiles.c.customer_id).limit(BACKFILL_BATCH)
        ).all()
        if not page:
            return
        rows = []
        for profile in page:
            fields = {name: getattr(profile, name) for name in ("email", "phone", "timezone", "locale")}
            state = {**profile.traits, **{name: value for name, value in fields.items() if value is not None}}
            if profile.push_tokens:
                state["push_tokens"] = list(profile.push_tokens)
            rows.append({"customer_id": profile.customer_id, "changed_at": profile.updated_at, "source": "baseline", "changes": state})
        connection.execute(sa.insert(changes), rows)
        after = page[-1].customer_id


def downgrade() -> None:
    op.drop_index("ix_profile_changes_changed_at", table_name="profile_changes")
    op.drop_index("ix_profile_changes_customer_id_id", table_name="profile_changes")
    op.drop_table("profile_changes")
