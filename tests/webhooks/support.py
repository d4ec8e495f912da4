"""Seeding the store with what a journey's send leaves behind, and reading back what webhooks changed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from orchestrator.routing.calls import SignalCall, TemporalCall, TemporalUnavailable
from orchestrator.store import Delivery, Profile, Store
from orchestrator.store.schema import events, provider_events
from orchestrator.store.values import DeliveryKey

JOURNEY = "reminder_opened"
TWILIO_TOKEN = "twilio-auth-token-for-tests"
PUBLIC_URL = "https://journeys.shop.example"
AT = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)

OPEN_WAITER = """
id: reminder_opened
name: Reminder, then wait for the open
trigger: {event: checkout_started}
steps:
  - id: reminder
    send: {channel: email, subject: "Your cart", body: "<p>Still there.</p>"}
  - id: opened
    wait_for: {event: email_opened, within: 2d, timeout_next: nudge}
    next: end
  - id: nudge
    send: {channel: sms, body: "Your cart is waiting"}
"""
"""Listens to email_opened, so the router signals its running enrollments with it."""


class RecordingGateway:
    """Temporal stand-in: records every call and confirms it, or refuses all while `down`."""

    def __init__(self) -> None:
        self.calls: list[TemporalCall] = []
        self.down = False

    def execute(self, calls: Sequence[TemporalCall]) -> list[bool]:
        if self.down:
            raise TemporalUnavailable("Temporal is down (test)")
        self.calls.extend(calls)
        return [True] * len(calls)

    def signals(self) -> list[SignalCall]:
        return [call for call in self.calls if isinstance(call, SignalCall)]


@dataclass(frozen=True)
class Sent:
    """One message a journey sent: whose, from which enrollment and step, under which ids."""

    customer_id: str
    enrollment_id: str
    step_id: str
    channel: str
    provider_message_id: str

    @property
    def reference(self) -> str:
        """The custom arg the SendGrid provider puts on the message (the same function it calls)."""
        return DeliveryKey(self.enrollment_id, self.step_id, 1).reference()


def customer(store: Store, customer_id: str, **traits: Any) -> None:
    with store.session() as session:
        session.identify(customer_id, traits, AT)


def sent(store: Store, customer_id: str, step_id: str, channel: str, provider_message_id: str) -> Sent:
    """A running enrollment of the journey and its `step_id` delivery, sent with `provider_message_id`."""
    enrollment_id = f"{JOURNEY}-{customer_id}-1"
    key = DeliveryKey(enrollment_id, step_id, 1)
    with store.session() as session:
        (journey,) = session.active_journeys()
        session.start_enrollment(enrollment_id, JOURNEY, journey.version, customer_id, AT)
        session.claim_delivery(key, channel, AT, customer_id=customer_id, journey_id=JOURNEY, category="marketing")
        session.mark_delivery(key, "sent", AT, provider_message_id=provider_message_id)
    return Sent(customer_id, enrollment_id, step_id, channel, provider_message_id)


def delivery(store: Store, message: Sent) -> Delivery:
    with store.session() as session:
        (found,) = [d for d in session.deliveries_for(message.customer_id) if d.step_id == message.step_id]
    return found


def profile(store: Store, customer_id: str) -> Profile:
    with store.session() as session:
        found = session.get_profile(customer_id)
    assert found is not None
    return found


def event_properties(store: Store, message_id: str) -> dict[str, Any] | None:
    """The name and properties of the customer event recorded under `message_id`, if one was."""
    with store.engine.connect() as connection:
        row = connection.execute(select(events.c.name, events.c.properties).where(events.c.message_id == message_id)).first()
    return None if row is None else {"name": row.name, **row.properties}


def provider_event_count(store: Store) -> int:
    with store.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(provider_events)).scalar_one())


def provider_facts(store: Store, customer_id: str) -> list[tuple[str, str | None, str | None]]:
    """The `provider` journey facts of the customer's messages: (fact key, status, the provider's own name)."""
    with store.read() as session:
        return [(f.fact_key, f.status, f.detail) for f in session.facts_for(customer_id) if f.kind == "provider"]
