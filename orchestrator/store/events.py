"""Tracked events: recorded once per message id, one at a time or in batches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select

from orchestrator.store.queries import Queries
from orchestrator.store.schema import events, utc
from orchestrator.store.values import EventRow

EVENT_BATCH = 500
"""Rows per statement where the store writes or reads many at once (ids in an IN list, rows in a VALUES clause):
3,000 bound parameters, far under SQLite's 32,766."""


class EventQueries(Queries):
    """The `events` table, de-duplicated by message id (a retried API call records nothing twice)."""

    def record_event(
        self, message_id: str, customer_id: str, name: str, properties: dict[str, Any], timestamp: datetime, received_at: datetime
    ) -> bool:
        """Record one event; False (and nothing written) if this message id was recorded before."""
        row = EventRow(message_id, customer_id, name, properties, timestamp, received_at)
        return self._insert_new(self._insert(events).values(_event_values(row)).on_conflict_do_nothing(index_elements=["message_id"]))

    def record_events(self, rows: Sequence[EventRow]) -> set[str]:
        """Record a batch; returns the message ids that were new (a repeated id counts once, first row wins)."""
        unique: dict[str, dict[str, Any]] = {}
        for row in rows:
            unique.setdefault(row.message_id, _event_values(row))
        if not unique:
            return set()
        # One statement with the rows as parameters, not the rows in a VALUES clause: SQLAlchemy compiles the statement
        # once for good and packs the rows into multi-row INSERTs itself ("insertmanyvalues"); a VALUES clause of
        # hundreds of rows was compiled anew on every call, which cost a broadcast page's entry far more than the insert.
        statement = self._insert(events).on_conflict_do_nothing(index_elements=["message_id"]).returning(events.c.message_id)
        return set(self._conn.execute(statement, list(unique.values())).scalars())

    def events_for(self, customer_id: str) -> list[EventRow]:
        """The customer's recorded calls (identify traits too), oldest first by the sender's clock."""
        query = select(events).where(events.c.customer_id == customer_id).order_by(events.c.timestamp, events.c.message_id)
        return [
            EventRow(row.message_id, row.customer_id, row.name, dict(row.properties), row.timestamp, row.received_at)
            for row in self._conn.execute(query)
        ]


def _event_values(row: EventRow) -> dict[str, Any]:
    return {
        "message_id": row.message_id,
        "customer_id": row.customer_id,
        "name": row.name,
        "properties": dict(row.properties) if isinstance(row.properties, Mapping) else row.properties,
        "timestamp": utc(row.timestamp, "timestamp"),
        "received_at": utc(row.received_at, "received_at"),
    }
