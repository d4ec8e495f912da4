"""Journey facts: recorded in the transaction of what they record, once each, and read back in order (docs/analytics.md, "Facts").

Order. The fold (orchestrator/store/fold.py) and the stream (`GET /v1/facts`) read the log from a
position and must never skip a fact. On SQLite writers are serialized, so ids are handed out in
commit order and "after the last id" is enough (the table is AUTOINCREMENT: a deleted newest
fact's id is not handed out again). On PostgreSQL ids come from a sequence when a row is inserted,
and transactions commit in any order: a fact with id 7 may commit after one with id 9 has been
read, and "id > 9" would skip it for good. So each fact carries its writing transaction's id
(`xact`, `pg_current_xact_id()`), readers take only facts of transactions older than every
transaction still in flight (`pg_snapshot_xmin(pg_current_snapshot())`: all of those have ended,
and no later transaction gets an older id), and order by (xact, id). A fact becomes readable when
the oldest transaction that was open when it was written has ended: a report lags a long
transaction, never loses a fact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Row, Text, cast, func, literal, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from orchestrator.store.prepared import Prepared
from orchestrator.store.queries import Queries
from orchestrator.store.schema import journey_facts, utc
from orchestrator.store.values import FACT_KINDS, JourneyFact

PUBLIC_FACT_COLUMNS = tuple(column for column in journey_facts.c if column.name not in ("id", "xact"))
"""What a reader outside the store gets of a fact: every column but the two that order the log."""


@dataclass(frozen=True, order=True)
class FactPosition:
    """A place in the log, between facts: after the fact (xact, fact_id). `FactPosition()` is before the first."""

    xact: int = 0
    fact_id: int = 0

    @property
    def cursor(self) -> str:
        """The position as the stream's opaque cursor."""
        return f"{self.xact}-{self.fact_id}"

    @classmethod
    def from_cursor(cls, cursor: str) -> FactPosition:
        """The position a cursor names; ValueError if it is not one."""
        xact, dash, fact_id = cursor.partition("-")
        if not dash or not xact.isdigit() or not fact_id.isdigit():
            raise ValueError(f"{cursor!r} is not a cursor this API gave")
        return cls(int(xact), int(fact_id))


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

    def facts_after(self, position: FactPosition, limit: int, columns: Sequence[Any] = ()) -> list[Row[Any]]:
        """Up to `limit` facts after `position`, in the log's order, each with its `xact` and `id` after `columns`
        (default: every column); only facts no transaction in flight can precede (see the module's docstring)."""
        query = select(*(columns or journey_facts.c), journey_facts.c.xact.label("position_xact"), journey_facts.c.id.label("position_id"))
        if self._dialect == "postgresql":
            # A row comparison: PostgreSQL seeks the (xact, id) index to it (an OR of the two parts would scan).
            last = tuple_(literal(position.xact, BigInteger), literal(position.fact_id, BigInteger))
            query = query.where(tuple_(journey_facts.c.xact, journey_facts.c.id) > last)
            query = query.where(journey_facts.c.xact < self._oldest_transaction_in_flight())
            return list(self._conn.execute(query.order_by(journey_facts.c.xact, journey_facts.c.id).limit(limit)))
        # SQLite: every xact is 0, and the id alone seeks the primary key (SQLite would not seek the index by both).
        return list(self._conn.execute(query.where(journey_facts.c.id > position.fact_id).order_by(journey_facts.c.id).limit(limit)))

    def _oldest_transaction_in_flight(self) -> Any:
        return cast(cast(func.pg_snapshot_xmin(func.pg_current_snapshot()), Text), BigInteger)

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


_WRITING_TRANSACTION = {
    # xid8 has no cast to bigint but through text; it is 64 bits (epoch and xid), so it never wraps.
    "postgresql": cast(cast(func.pg_current_xact_id(), Text), BigInteger),
    "sqlite": literal(0, BigInteger),
}
_APPEND = {
    dialect: Prepared(insert(journey_facts).values(xact=_WRITING_TRANSACTION[dialect]).on_conflict_do_nothing())
    for dialect, insert in (("sqlite", sqlite.insert), ("postgresql", postgresql.insert))
}
"""INSERT ... ON CONFLICT DO NOTHING: a fact recorded again (same enrollment and key) keeps the first; `xact` is
the writing transaction's (see "Order" above)."""
