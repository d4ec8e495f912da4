"""Twilio status callbacks: what became of an SMS we sent (sent, delivered, undelivered, failed).

The callback names the message by its SID, which the ledger recorded as the
provider message id. `delivered`, `undelivered` and `failed` become customer
events (`sms_delivered`...) carrying the journey and step; the other states
are logged only. A carrier error saying the number cannot receive SMS flags
it undeliverable; error 21610 means the number texted STOP to Twilio itself,
which counts as a STOP here too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orchestrator.routing.calls import IdentifyCall, TrackCall
from orchestrator.store import StoreSession
from orchestrator.store.values import ConsentEvidence, ProviderEvent
from orchestrator.webhooks.errors import PayloadError
from orchestrator.webhooks.plan import MessageOutcome, NumberOptOut, StatusUpdate, WebhookPlan, further_than
from orchestrator.webhooks.twilio_inbound import PROVIDER, stop_traits

CUSTOMER_EVENTS = {"delivered": "sms_delivered", "undelivered": "sms_undelivered", "failed": "sms_failed"}
PROGRESS = {
    "accepted": 1,
    "scheduled": 1,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "read": 5,
    "undelivered": 6,
    "failed": 6,
    "canceled": 6,
}
OUTCOMES = {"delivered": "delivered", "read": "opened", "undelivered": "failed", "failed": "failed"}
"""Twilio status -> the `provider` fact of the message (docs/analytics.md); `read` is a WhatsApp read receipt.
The states on the way (queued, sending, sent...) make none."""
UNREACHABLE_NUMBER_ERRORS = frozenset({"21211", "21614", "30005", "30006"})
"""Invalid 'To' number, not a mobile number, unknown handset, landline or unreachable carrier: retrying cannot help."""
OPTED_OUT_ERROR = "21610"
"""Twilio refused the message because the recipient replied STOP earlier."""


@dataclass(frozen=True)
class StatusCallback:
    message_sid: str
    status: str
    error_code: str | None
    to: str | None


def parse_status(form: Mapping[str, str]) -> StatusCallback:
    problems = [(name, "is required") for name in ("MessageSid", "MessageStatus") if not form.get(name)]
    if problems:
        raise PayloadError(problems)
    return StatusCallback(form["MessageSid"], form["MessageStatus"].lower(), form.get("ErrorCode") or None, form.get("To") or None)


def plan_status(session: StoreSession, callback: StatusCallback, received_at: datetime) -> WebhookPlan:
    """What one status callback changes (Twilio sends one per state change; a repeat is dropped by its SID and state)."""
    plan = WebhookPlan()
    event_id = f"{callback.message_sid}:{callback.status}"
    delivery = session.delivery_for_message(provider_message_id=callback.message_sid)
    customer_id = delivery.customer_id if delivery else None
    plan.log.append(
        ProviderEvent(
            provider=PROVIDER,
            event_id=event_id,
            kind=callback.status,
            occurred_at=received_at,  # Twilio's callbacks carry no time of their own
            received_at=received_at,
            customer_id=customer_id,
            enrollment_id=delivery.enrollment_id if delivery else None,
            step_id=delivery.step_id if delivery else None,
            visit=delivery.visit if delivery else None,
            detail=f"error {callback.error_code}" if callback.error_code else None,
        )
    )
    if session.logged_provider_events(PROVIDER, [event_id]):
        return plan  # applied already: see plan_events in sendgrid_events.py
    if callback.error_code == OPTED_OUT_ERROR and callback.to:
        plan.numbers.append(NumberOptOut(callback.to, f"twilio error {OPTED_OUT_ERROR}", received_at))
    if delivery is None:
        return plan
    if callback.status in PROGRESS:
        plan.statuses.append(StatusUpdate(delivery, callback.status, received_at, further_than(PROGRESS, callback.status)))
    if callback.status in OUTCOMES:
        plan.outcomes.append(MessageOutcome(delivery, OUTCOMES[callback.status], callback.status, received_at))
    if customer_id is None:
        return plan
    profile = session.get_profile(customer_id)
    same_number = profile is not None and (callback.to is None or profile.phone == callback.to)
    traits: dict[str, Any] = {}
    if profile is not None and same_number and callback.error_code == OPTED_OUT_ERROR:
        traits = stop_traits(profile, f"twilio error {OPTED_OUT_ERROR}", received_at)
    elif profile is not None and same_number and callback.error_code in UNREACHABLE_NUMBER_ERRORS:
        traits = {} if profile.traits.get("phone_undeliverable") else {"phone_undeliverable": True}
    if traits:
        consent = ConsentEvidence(PROVIDER, event_id, received_at, f"error {callback.error_code}")
        plan.calls.append(IdentifyCall(customer_id, traits, f"{PROVIDER}:{event_id}:profile", received_at, received_at, consent))
    name = CUSTOMER_EVENTS.get(callback.status)
    if name is not None:
        properties: dict[str, Any] = {
            "journey_id": delivery.journey_id,
            "step_id": delivery.step_id,
            "channel": "sms",
            "provider": PROVIDER,
            "provider_event": callback.status,
        }
        if callback.error_code:
            properties["error_code"] = callback.error_code
        plan.calls.append(TrackCall(customer_id, name, properties, f"{PROVIDER}:{event_id}", received_at, received_at))
    return plan
