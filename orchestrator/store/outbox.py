"""The outbox: every message a provider accepted, as the customer received it (the sandbox's inbox, the API's log)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from orchestrator.store.prepared import Prepared
from orchestrator.store.queries import Queries
from orchestrator.store.schema import outbox_messages, utc
from orchestrator.store.values import OutboxMessage


class OutboxQueries(Queries):
    """The `outbox_messages` table: written with the ledger's `sent`, in the same transaction."""

    def add_outbox_message(self, message: OutboxMessage) -> None:
        values = outbox_row(message)
        _INSERT_OUTBOX.run(self._conn, values)

    def messages_for(self, customer_id: str) -> list[OutboxMessage]:
        """What the customer received, oldest first (ties in the order they were stored)."""
        query = (
            select(outbox_messages)
            .where(outbox_messages.c.customer_id == customer_id)
            .order_by(outbox_messages.c.sent_at, outbox_messages.c.id)
        )
        return [
            OutboxMessage(
                customer_id=row.customer_id,
                enrollment_id=row.enrollment_id,
                journey_id=row.journey_id,
                version=row.version,
                step_id=row.step_id,
                channel=row.channel,
                to=row.to_address,
                subject=row.subject,
                body=row.body,
                sent_at=row.sent_at,
                id=row.id,
            )
            for row in self._conn.execute(query)
        ]


_INSERT_OUTBOX = Prepared(outbox_messages.insert())
"""Run by every send, hence prepared (orchestrator/store/prepared.py)."""


def outbox_row(message: OutboxMessage) -> dict[str, Any]:
    """The `outbox_messages` row of a sent message (one send, or a batch's bulk insert)."""
    return {
        "customer_id": message.customer_id,
        "enrollment_id": message.enrollment_id,
        "journey_id": message.journey_id,
        "version": message.version,
        "step_id": message.step_id,
        "channel": message.channel,
        "to_address": message.to,
        "subject": message.subject,
        "body": message.body,
        "sent_at": utc(message.sent_at, "sent_at"),
    }
