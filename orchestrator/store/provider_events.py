"""The provider event log: what SendGrid and Twilio reported by webhook, each event once."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import select

from orchestrator.store.events import EVENT_BATCH
from orchestrator.store.queries import Queries
from orchestrator.store.schema import provider_events, utc
from orchestrator.store.values import ProviderEvent


class ProviderEventQueries(Queries):
    """The `provider_events` table, keyed by (provider, the provider's event id): a redelivered webhook logs nothing twice."""

    def record_provider_events(self, rows: Sequence[ProviderEvent]) -> set[tuple[str, str]]:
        """Log provider events; returns the (provider, event id) pairs that were new (a repeat, even within `rows`, is dropped)."""
        unique: dict[tuple[str, str], dict[str, Any]] = {}
        for row in rows:
            unique.setdefault(
                (row.provider, row.event_id),
                {
                    "provider": row.provider,
                    "event_id": row.event_id,
                    "kind": row.kind,
                    "customer_id": row.customer_id,
                    "enrollment_id": row.enrollment_id,
                    "step_id": row.step_id,
                    "visit": row.visit,
                    "detail": row.detail,
                    "occurred_at": utc(row.occurred_at, "occurred_at"),
                    "received_at": utc(row.received_at, "received_at"),
                },
            )
        if not unique:
            return set()
        new: set[tuple[str, str]] = set()
        values = list(unique.values())
        for start in range(0, len(values), EVENT_BATCH):
            statement = (
                self._insert(provider_events)
                .values(values[start : start + EVENT_BATCH])
                .on_conflict_do_nothing()
                .returning(provider_events.c.provider, provider_events.c.event_id)
            )
            new.update((provider, event_id) for provider, event_id in self._conn.execute(statement))
        return new

    def logged_provider_events(self, provider: str, event_ids: Collection[str]) -> set[str]:
        """Which of `event_ids` the log already holds for `provider`: events whose effects were applied already."""
        wanted = list(dict.fromkeys(event_ids))
        found: set[str] = set()
        for start in range(0, len(wanted), EVENT_BATCH):
            query = select(provider_events.c.event_id).where(
                provider_events.c.provider == provider, provider_events.c.event_id.in_(wanted[start : start + EVENT_BATCH])
            )
            found.update(self._conn.execute(query).scalars())
        return found

    def provider_events_for(self, customer_id: str) -> list[ProviderEvent]:
        """What providers reported about the customer's messages and texted from their number, oldest first."""
        query = (
            select(provider_events)
            .where(provider_events.c.customer_id == customer_id)
            .order_by(provider_events.c.occurred_at, provider_events.c.provider, provider_events.c.event_id)
        )
        return [
            ProviderEvent(
                provider=row.provider,
                event_id=row.event_id,
                kind=row.kind,
                occurred_at=row.occurred_at,
                received_at=row.received_at,
                customer_id=row.customer_id,
                enrollment_id=row.enrollment_id,
                step_id=row.step_id,
                visit=row.visit,
                detail=row.detail,
            )
            for row in self._conn.execute(query)
        ]
