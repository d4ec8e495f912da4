"""Retention: old events, message contents and ended enrollments deleted in batches, counted into daily counts first.

What is kept and for how long is the deployment's choice (`RetentionPolicy`, from JOURNEY_RETENTION_*,
docs/privacy.md "Retention"); `journey prune` and `journey dev`'s schedule run the batches
(orchestrator/host/retention.py). Each batch is one short transaction that counts the rows it is about
to delete into `daily_counts` (per UTC day, never a customer) and deletes them, so analytics keeps its
totals and a batch never holds the database for long. Erasure counts a customer's rows the same way
before it deletes them (orchestrator/store/erasure.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, delete, func, literal, select

from orchestrator.store.queries import Queries
from orchestrator.store.schema import (
    daily_counts,
    deliveries,
    enrollment_problems,
    enrollments,
    events,
    outbox_messages,
    provider_events,
    utc,
)


@dataclass(frozen=True)
class RetentionPolicy:
    """How long each kind of row is kept; None: for good."""

    events: timedelta | None
    """Identify and track calls, by when they were received."""
    messages: timedelta | None
    """The outbox: what each message said, by when it was sent (the ledger keeps that it was)."""
    enrollments: timedelta | None
    """Ended enrollments, by when they ended, with their ledger rows, problems and provider events."""


class RetentionQueries(Queries):
    """Batches of deletion, each counted into `daily_counts` first."""

    def prune_events(self, before: datetime, limit: int) -> int:
        """Delete up to `limit` events received before `before`; how many."""
        query = select(events.c.message_id).where(events.c.received_at < utc(before, "before")).limit(limit)
        batch = list(self._conn.execute(query).scalars())
        if batch:
            self.count_events(events.c.message_id.in_(batch))
            self._conn.execute(delete(events).where(events.c.message_id.in_(batch)))
        return len(batch)

    def prune_messages(self, before: datetime, limit: int) -> int:
        """Delete up to `limit` outbox rows sent before `before`; how many."""
        query = select(outbox_messages.c.id).where(outbox_messages.c.sent_at < utc(before, "before")).limit(limit)
        batch = list(self._conn.execute(query).scalars())
        if batch:
            self._conn.execute(delete(outbox_messages).where(outbox_messages.c.id.in_(batch)))
        return len(batch)

    def prune_enrollments(self, before: datetime, limit: int) -> int:
        """Delete up to `limit` enrollments that ended before `before`, with their ledger rows, problems and provider events."""
        ended = (enrollments.c.status != "running") & (enrollments.c.ended_at < utc(before, "before"))
        batch = list(self._conn.execute(select(enrollments.c.enrollment_id).where(ended).limit(limit)).scalars())
        if batch:
            self.count_enrollments(enrollments.c.enrollment_id.in_(batch))
            self.count_deliveries(deliveries.c.enrollment_id.in_(batch))
            for table in (deliveries, enrollment_problems, provider_events, enrollments):
                self._conn.execute(delete(table).where(table.c.enrollment_id.in_(batch)))
        return len(batch)

    def count_events(self, which: ColumnElement[bool]) -> None:
        """Add the events `which` selects to the daily counts, by day received and name."""
        self._count("event", events.c.received_at, which, name=events.c.name)

    def count_enrollments(self, which: ColumnElement[bool]) -> None:
        """Add the enrollments `which` selects, by day entered, journey and status."""
        self._count("enrollment", enrollments.c.entered_at, which, journey=enrollments.c.journey_id, status=enrollments.c.status)

    def count_deliveries(self, which: ColumnElement[bool]) -> None:
        """Add the ledger rows `which` selects, by day claimed, journey, step, channel and status/provider status."""
        status = deliveries.c.status + literal("/") + func.coalesce(deliveries.c.provider_status, literal(""))
        self._count(
            "delivery",
            deliveries.c.created_at,
            which,
            journey=func.coalesce(deliveries.c.journey_id, literal("")),
            step=deliveries.c.step_id,
            name=deliveries.c.channel,
            status=status,
        )

    def _count(
        self, kind: str, at: Any, which: ColumnElement[bool], *, journey: Any = None, step: Any = None, name: Any = None, status: Any = None
    ) -> None:
        empty = literal("", String)
        parts = [self._day(at), literal(kind, String)] + [part if part is not None else empty for part in (journey, step, name, status)]
        grouped = select(*parts, func.count()).where(which).group_by(*parts)
        columns = ["day", "kind", "journey_id", "step_id", "name", "status", "count"]
        statement = self._insert(daily_counts).from_select(columns, grouped)
        keys = [daily_counts.c[name] for name in columns[:-1]]
        added = {"count": daily_counts.c.count + statement.excluded["count"]}
        self._conn.execute(statement.on_conflict_do_update(index_elements=keys, set_=added))

    def _day(self, at: Any) -> Any:
        """The UTC day of a timestamp column, YYYY-MM-DD: SQLite stores UTC text, PostgreSQL timestamptz."""
        if self._dialect == "sqlite":
            return func.substr(at, 1, 10)
        return func.to_char(func.timezone("UTC", at), "YYYY-MM-DD")
