"""Journey facts: recorded in the transaction of what they record, once each (docs/analytics.md, "Facts")."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from orchestrator.store.prepared import Prepared
from orchestrator.store.queries import Queries
from orchestrator.store.schema import journey_facts, utc
from orchestrator.store.values import FACT_KINDS, JourneyFact


class JourneyFactQueries(Queries):
    """The `journey_facts` table: appended to by routing, the workflow's activities and the provider webhooks."""

    def record_facts(self, facts: Sequence[JourneyFact], *, now: datetime | None = None) -> None:
        """Append `facts`; one already recorded (same enrollment and `fact_key`) is kept as it was."""
        if not facts:
            return
        recorded_at = utc(now, "now") if now is not None else datetime.now(UTC)
        rows = [_row(fact, recorded_at) for fact in facts]
        # Prepared, one row at a time: the send path records a fact with each outcome, and a statement through
        # `Connection.execute` would cost it more Python than the insert itself (orchestrator/store/prepared.py).
        append = _APPEND[self._dialect]
        for row in rows:
            append.run(self._conn, row)

    def facts_for(self, customer_id: str) -> list[JourneyFact]:
        """The customer's journey facts, in the order they were recorded (the export's list)."""
        query = select(journey_facts).where(journey_facts.c.customer_id == customer_id).order_by(journey_facts.c.id)
        return [
            JourneyFact(
                kind=row.kind,
                journey_id=row.journey_id,
                version=row.version,
                enrollment_id=row.enrollment_id,
                customer_id=row.customer_id,
                fact_key=row.fact_key,
                occurred_at=row.occurred_at,
                step_id=row.step_id,
                visit=row.visit,
                name=row.name,
                status=row.status,
                detail=row.detail,
                value=row.value,
            )
            for row in self._conn.execute(query)
        ]


def _row(fact: JourneyFact, recorded_at: datetime) -> dict[str, object]:
    if fact.kind not in FACT_KINDS:
        raise ValueError(f"{fact.kind!r} is not a journey fact; use one of {', '.join(FACT_KINDS)}")
    return {
        "kind": fact.kind,
        "journey_id": fact.journey_id,
        "version": fact.version,
        "enrollment_id": fact.enrollment_id,
        "customer_id": fact.customer_id,
        "fact_key": fact.fact_key,
        "step_id": fact.step_id,
        "visit": fact.visit,
        "name": fact.name,
        "status": fact.status,
        "detail": fact.detail,
        "value": fact.value,
        "occurred_at": utc(fact.occurred_at, "occurred_at"),
        "recorded_at": recorded_at,
    }


_APPEND = {
    dialect: Prepared(insert(journey_facts).on_conflict_do_nothing())
    for dialect, insert in (("sqlite", sqlite.insert), ("postgresql", postgresql.insert))
}
"""INSERT ... ON CONFLICT DO NOTHING: a fact recorded again (same enrollment and key) keeps the first."""
