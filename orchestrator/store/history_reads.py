"""What a backtest reads of the recorded past, in bulk: customers' events, consent, capped sends and earlier entries.

A backtest (orchestrator/simulation/backtest.py) replays a journey over every customer's recorded history
in a window. It walks one customer at a time, so memory holds one customer (or one chunk of them), however
many there are: one stream ordered by customer drives the walk (the events of the window, or for a broadcast
every customer's profile history, `profile_history.py`), and the rest is read for each chunk of customers
with `IN (...)` lists, so the walk never depends on the database ordering customer ids as Python does.

Same statements on SQLite and PostgreSQL. The events come in the order the enrollment's events are
replayed in: by the sender's timestamp, then message id (as `events_for`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Select, select

from orchestrator.store.consent import consent_record
from orchestrator.store.enrollments import _enrollment
from orchestrator.store.gate_facts import ADMITTED_MARKETING
from orchestrator.store.profile_history import CUSTOMERS_PER_QUERY, STREAM_ROWS
from orchestrator.store.queries import Queries
from orchestrator.store.schema import consent_records, deliveries, enrollments, events, utc
from orchestrator.store.values import ConsentRecord, Enrollment, EventRow

CapSend = tuple[str, str, datetime]
"""(customer id, journey id, admitted_at) of a delivery that holds a slot under the caps."""


class HistoryQueries(Queries):
    """Bulk reads of the recorded past for a backtest: read them in a `Store.read()` session."""

    def events_between(
        self, since: datetime, until: datetime, customer_ids: Collection[str] | None = None, names: Collection[str] | None = None
    ) -> Iterator[EventRow]:
        """The recorded calls (tracked events, `identify` rows with their traits) whose timestamp is in [since, until],
        customer by customer (each customer's rows together), oldest first within a customer; only `customer_ids`' if given,
        only those named `names` if given. Streamed `STREAM_ROWS` rows at a time."""
        query = (
            select(events)
            .where((events.c.timestamp >= utc(since, "since")) & (events.c.timestamp <= utc(until, "until")))
            .order_by(events.c.customer_id, events.c.timestamp, events.c.message_id)
        )
        if names is not None:
            query = query.where(events.c.name.in_(sorted(names)))
        for chunk in _chunks(query, events.c.customer_id, customer_ids):
            rows = self._conn.execute(chunk.execution_options(stream_results=True, yield_per=STREAM_ROWS))
            for row in rows:
                yield EventRow(row.message_id, row.customer_id, row.name, row.properties, row.timestamp, row.received_at)

    def consent_records_of(self, customer_ids: Collection[str], until: datetime) -> list[ConsentRecord]:
        """The consent records of `customer_ids` that took effect until `until`, customer by customer, oldest first."""
        query = (
            select(consent_records)
            .where(consent_records.c.occurred_at <= utc(until, "until"))
            .order_by(consent_records.c.customer_id, consent_records.c.occurred_at, consent_records.c.id)
        )
        chunks = _chunks(query, consent_records.c.customer_id, customer_ids)
        return [consent_record(row) for chunk in chunks for row in self._conn.execute(chunk)]

    def capped_sends_of(self, customer_ids: Collection[str], since: datetime, until: datetime) -> list[CapSend]:
        """The deliveries of `customer_ids` that hold a slot under the caps (the gate's rule, `gate_facts.ADMITTED_MARKETING`),
        admitted in [since, until], customer by customer, oldest first."""
        columns = (deliveries.c.customer_id, deliveries.c.journey_id, deliveries.c.admitted_at)
        query = (
            select(*columns)
            .where(ADMITTED_MARKETING & (deliveries.c.admitted_at <= utc(until, "until")))
            .order_by(deliveries.c.customer_id, deliveries.c.admitted_at)
        )
        params = {"sends_since": utc(since, "since")}
        return [
            (row.customer_id, row.journey_id or "", row.admitted_at)
            for chunk in _chunks(query, deliveries.c.customer_id, customer_ids)
            for row in self._conn.execute(chunk, params)
        ]

    def entries_before(self, journey_ids: Sequence[str], customer_ids: Collection[str], before: datetime) -> list[Enrollment]:
        """The enrollments of `customer_ids` in the journeys `journey_ids` (any version) that entered before `before`,
        customer by customer, oldest first: the entries a re-entry rule looks back at."""
        query = (
            select(enrollments)
            .where(enrollments.c.journey_id.in_(list(journey_ids)) & (enrollments.c.entered_at < utc(before, "before")))
            .order_by(enrollments.c.customer_id, enrollments.c.entered_at)
        )
        return [_enrollment(row) for chunk in _chunks(query, enrollments.c.customer_id, customer_ids) for row in self._conn.execute(chunk)]


def _chunks(query: Select[Any], column: Any, customer_ids: Collection[str] | None) -> Iterator[Select[Any]]:
    """`query` for every customer (None), or once per `CUSTOMERS_PER_QUERY` of `customer_ids` (well under SQLite's bound parameters)."""
    if customer_ids is None:
        yield query
        return
    wanted = sorted(set(customer_ids))
    for start in range(0, len(wanted), CUSTOMERS_PER_QUERY):
        yield query.where(column.in_(wanted[start : start + CUSTOMERS_PER_QUERY]))


CHUNK_CUSTOMERS: Final = CUSTOMERS_PER_QUERY
"""Customers a backtest reads together: one `IN (...)` list for each of their other reads."""
