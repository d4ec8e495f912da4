"""SendGrid event webhook payloads: read them, and plan what each event changes.

An event finds its delivery through the `journey_message_id` custom arg our
messages carry (SendGrid copies custom args into every event), or else through
`sg_message_id`, whose first part is the X-Message-Id the ledger recorded.
Matched events become customer events (`email_opened`...) carrying the journey
and step the message belonged to; hard bounces and spam reports flag the
address undeliverable; unsubscribes and spam reports revoke email marketing
consent (recorded with the sg_event_id as evidence, orchestrator/store/consent.py). Events we
cannot match are logged and change nothing else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from orchestrator.routing.calls import IdentifyCall, TrackCall
from orchestrator.store import Profile, StoreSession
from orchestrator.store.values import ConsentEvidence, Delivery, ProviderEvent
from orchestrator.webhooks.errors import PayloadError
from orchestrator.webhooks.plan import MessageOutcome, StatusUpdate, WebhookPlan, further_than

PROVIDER = "sendgrid"
REFERENCE_ARG = "journey_message_id"
"""The custom arg activities/providers/sendgrid_email.py puts on every message."""

CUSTOMER_EVENTS = {
    "delivered": "email_delivered",
    "open": "email_opened",
    "click": "email_clicked",
    "bounce": "email_bounced",
    "dropped": "email_dropped",
    "unsubscribe": "email_unsubscribed",
    "group_unsubscribe": "email_unsubscribed",
    "spamreport": "email_spam_reported",
}
"""SendGrid event -> the customer event journeys see. `processed` and `deferred` are transient: logged only."""

PROGRESS = {
    "processed": 1,
    "deferred": 2,
    "delivered": 3,
    "open": 4,
    "click": 5,
    "unsubscribe": 6,
    "group_unsubscribe": 6,
    "bounce": 7,
    "dropped": 7,
    "spamreport": 8,
}
"""How far along a message is: the ledger keeps the furthest state (events arrive out of order)."""

OUTCOMES = {
    "delivered": "delivered",
    "open": "opened",
    "click": "clicked",
    "bounce": "bounced",
    "dropped": "failed",
    "spamreport": "complained",
    "unsubscribe": "unsubscribed",
    "group_unsubscribe": "unsubscribed",
}
"""SendGrid event -> the `provider` fact of the message (docs/analytics.md). `processed` and `deferred` are on the way: none."""

SOFT_BOUNCE = "blocked"
"""A bounce event's `type`: `bounce` is a hard bounce (the address does not exist), `blocked` a temporary refusal."""


@dataclass(frozen=True)
class SendGridEvent:
    event: str
    event_id: str
    occurred_at: datetime
    email: str | None
    reference: str | None
    message_id: str | None
    """The X-Message-Id part of sg_message_id."""
    fields: dict[str, Any]
    """The whole event, for the optional details (reason, url, type...)."""

    @property
    def hard_bounce(self) -> bool:
        return self.event == "bounce" and self.fields.get("type") != SOFT_BOUNCE


def parse_events(body: bytes) -> list[SendGridEvent]:
    """The events of a webhook body (a JSON array of objects); PayloadError names every bad field."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise PayloadError([("body", f"is not valid JSON: {exc}")]) from None
    except RecursionError:
        # The parser recurses once per level; SendGrid's events are two levels deep.
        raise PayloadError([("body", "is nested too deeply to be SendGrid events")]) from None
    if not isinstance(data, list):
        raise PayloadError([("body", "must be a JSON array of SendGrid events")])
    problems: list[tuple[str, str]] = []
    events: list[SendGridEvent] = []
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            problems.append((f"[{i}]", "must be a JSON object"))
            continue
        before = len(problems)
        name, event_id, timestamp = item.get("event"), item.get("sg_event_id"), item.get("timestamp")
        if not isinstance(name, str) or not name:
            problems.append((f"[{i}].event", "is required: the event type, e.g. 'delivered'"))
        if not isinstance(event_id, str) or not event_id:
            problems.append((f"[{i}].sg_event_id", "is required: a non-empty string"))
        if not isinstance(timestamp, int) or isinstance(timestamp, bool) or timestamp < 0:
            problems.append((f"[{i}].timestamp", "is required: a Unix time in seconds"))
        for optional in ("email", "sg_message_id", REFERENCE_ARG):
            if item.get(optional) is not None and not isinstance(item[optional], str):
                problems.append((f"[{i}].{optional}", "must be a string"))
        if len(problems) > before:
            continue
        sg_message_id = item.get("sg_message_id") or ""
        events.append(
            SendGridEvent(
                event=str(name),
                event_id=str(event_id),
                occurred_at=datetime.fromtimestamp(int(timestamp), UTC),
                email=item.get("email") or None,
                reference=item.get(REFERENCE_ARG) or None,
                message_id=sg_message_id.split(".", 1)[0] or None,
                fields=item,
            )
        )
    if problems:
        raise PayloadError(problems)
    return events


def plan_events(session: StoreSession, events: list[SendGridEvent], received_at: datetime) -> WebhookPlan:
    """What `events` change, read from the store in `session` (nothing is written here).

    An event already in the provider event log, or earlier in `events`, changes nothing but its
    (ignored) log row: it was applied whole, and planning it again against today's profile could
    undo what happened since (a customer who opted in again after an unsubscribe).
    """
    plan = WebhookPlan()
    applied = session.logged_provider_events(PROVIDER, [event.event_id for event in events])
    for event in events:
        delivery = session.delivery_for_message(reference=event.reference, provider_message_id=event.message_id)
        customer_id = delivery.customer_id if delivery is not None else None
        plan.log.append(
            ProviderEvent(
                provider=PROVIDER,
                event_id=event.event_id,
                kind=event.event,
                occurred_at=event.occurred_at,
                received_at=received_at,
                customer_id=customer_id,
                enrollment_id=delivery.enrollment_id if delivery else None,
                step_id=delivery.step_id if delivery else None,
                visit=delivery.visit if delivery else None,
                detail=_detail(event),
            )
        )
        if delivery is None or event.event_id in applied:
            continue
        applied.add(event.event_id)
        if event.event in PROGRESS:
            plan.statuses.append(StatusUpdate(delivery, event.event, event.occurred_at, further_than(PROGRESS, event.event)))
        if event.event in OUTCOMES:
            plan.outcomes.append(MessageOutcome(delivery, OUTCOMES[event.event], event.event, event.occurred_at))
        if customer_id is None:
            continue  # a ledger row from before deliveries knew their customer
        profile = session.get_profile(customer_id)
        traits = _profile_changes(event, profile)
        if traits:
            consent = ConsentEvidence(PROVIDER, event.event_id, received_at, event.event)
            message_id = f"{PROVIDER}:{event.event_id}:profile"
            plan.calls.append(IdentifyCall(customer_id, traits, message_id, event.occurred_at, received_at, consent))
        name = CUSTOMER_EVENTS.get(event.event)
        if name is not None:
            properties = _properties(event, delivery)
            plan.calls.append(TrackCall(customer_id, name, properties, f"{PROVIDER}:{event.event_id}", event.occurred_at, received_at))
    return plan


def _profile_changes(event: SendGridEvent, profile: Profile | None) -> dict[str, Any]:
    if profile is None:
        return {}
    if event.event in ("unsubscribe", "group_unsubscribe"):
        return {"email_opt_in": False} if profile.consent.get("email") else {}
    if event.hard_bounce or event.event == "spamreport":
        # Only the address the message went to: a customer who has changed address since starts clean.
        same_address = event.email is None or (profile.email or "").lower() == event.email.lower()
        if not same_address:
            return {}
        changes: dict[str, Any] = {} if profile.traits.get("email_undeliverable") else {"email_undeliverable": True}
        if event.event == "spamreport" and profile.consent.get("email"):
            changes["email_opt_in"] = False  # a complaint withdraws consent to marketing, as an unsubscribe does
        return changes
    return {}


def _properties(event: SendGridEvent, delivery: Delivery) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "journey_id": delivery.journey_id,
        "step_id": delivery.step_id,
        "channel": "email",
        "provider": PROVIDER,
        "provider_event": event.event,
    }
    extra = {
        "url": event.fields.get("url") if event.event == "click" else None,
        "reason": event.fields.get("reason"),
        "bounce_type": event.fields.get("type") if event.event == "bounce" else None,
        "machine_open": event.fields.get("sg_machine_open") if event.event == "open" else None,
    }
    properties.update({k: v for k, v in extra.items() if v is not None})
    return properties


def _detail(event: SendGridEvent) -> str | None:
    parts = [str(event.fields[k]) for k in ("type", "status", "reason", "response") if event.fields.get(k) not in (None, "")]
    return "; ".join(parts)[:500] or None
