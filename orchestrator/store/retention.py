"""Retention: old events, message contents and ended enrollments (with their journey facts) deleted in batches.

What is kept and for how long is the deployment's choice (`RetentionPolicy`, from JOURNEY_RETENTION_*,
docs/privacy.md "Retention"); `journey prune` and `journey dev`'s schedule run the batches
(orchestrator/host/retention.py). Each batch is one short transaction, so a batch never holds the
database for long. An ended enrollment's journey facts go with it, once folded into the journey's
counts (orchestrator/store/fold.py): the batch folds first, so a report counts pruned enrollments as
it did before. Erasure folds the same way before it deletes (orchestrator/store/erasure.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, or_, select

from orchestrator.store.fold import FoldQueries
from orchestrator.store.schema import (
    deliveries,
    enrollment_problems,
    enrollment_summaries,
    enrollments,
    events,
    journey_facts,
    outbox_messages,
    provider_events,
    utc,
)


@dataclass(frozen=True)
class RetentionPolicy:
    """How long each kind of row is kept; None: for good."""

    events: timedelta | None
    """Identify and track calls, by when they were received; and the profile history's changes, by when they took
    effect, folded into one baseline per customer (orchestrator/store/profile_history.py)."""
    messages: timedelta | None
    """The outbox: what each message said, by when it was sent (the ledger keeps that it was)."""
    enrollments: timedelta | None
    """Ended enrollments, by when they ended, with their ledger rows, problems, provider events and journey facts."""


class RetentionQueries(FoldQueries):
    """Batches of deletion; the journey facts folded into counts before any goes."""

    def prune_events(self, before: datetime, limit: int) -> int:
        """Delete up to `limit` events received before `before`; how many."""
        query = select(events.c.message_id).where(events.c.received_at < utc(before, "before")).limit(limit)
        batch = list(self._conn.execute(query).scalars())
        if batch:
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
        """Delete up to `limit` enrollments that ended before `before`, with their ledger rows, problems, provider events,
        folded journey facts and summaries; how many."""
        ended = (enrollments.c.status != "running") & (enrollments.c.ended_at < utc(before, "before"))
        batch = list(self._conn.execute(select(enrollments.c.enrollment_id).where(ended).limit(limit)).scalars())
        if batch:
            self.fold_facts()
            self.delete_folded_facts(journey_facts.c.enrollment_id.in_(batch))
            for table in (deliveries, enrollment_problems, provider_events, enrollment_summaries, enrollments):
                self._conn.execute(delete(table).where(table.c.enrollment_id.in_(batch)))
        return len(batch)

    def delete_folded_facts(self, which: ColumnElement[bool]) -> int:
        """Delete the facts `which` selects that are folded already (one still unreadable stays to be folded); how many."""
        position = self.folded_position()
        folded = or_(
            journey_facts.c.xact < position.xact,
            and_(journey_facts.c.xact == position.xact, journey_facts.c.id <= position.fact_id),
        )
        return int(self._conn.execute(delete(journey_facts).where(which, folded)).rowcount or 0)
