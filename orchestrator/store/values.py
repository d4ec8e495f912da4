"""The values the store hands out and takes in: frozen dataclasses, datetimes timezone-aware UTC."""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from orchestrator.language.traits import ProfileFieldError as ProfileFieldError  # defined with the validators that raise it

ENROLLMENT_STATUSES: Final = frozenset({"running", "completed", "converted", "exited", "holdout", "failed", "merged"})
FINISHED_STATUSES: Final = ENROLLMENT_STATUSES - {"running"}

DELIVERY_STATUSES: Final = frozenset({"intent", "sent", "suppressed", "failed"})
DELIVERY_OUTCOMES: Final = DELIVERY_STATUSES - {"intent"}

DEFAULT_CONSENT: Final = {"email": True, "sms": False, "push": True}
"""Consent of a profile nobody has asked: SMS needs express opt-in (TCPA); email and push are opt-out."""


@dataclass(frozen=True)
class Profile:
    """One customer. Reserved identify traits live in fields; everything else is in `traits`."""

    customer_id: str
    email: str | None
    phone: str | None
    """E.164, e.g. +14155552671."""
    push_tokens: tuple[str, ...]
    timezone: str | None
    """An IANA zone name."""
    locale: str | None
    consent: dict[str, bool]
    """Keys email, sms and push."""
    traits: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    def template_context(self) -> dict[str, Any]:
        """What templates and conditions see as `customer`: the traits plus the standard fields.

        Standard fields are always present (None or False when unknown) and win over a trait of
        the same name, so `customer.email` always means the validated address.
        """
        context = _copied(self.traits)
        context.update(
            id=self.customer_id,
            email=self.email,
            phone=self.phone,
            timezone=self.timezone,
            locale=self.locale,
            push_tokens=list(self.push_tokens),
            email_opt_in=bool(self.consent.get("email", False)),
            sms_opt_in=bool(self.consent.get("sms", False)),
            push_opt_in=bool(self.consent.get("push", False)),
        )
        return context


def customer_context(customer_id: str, profile: Profile | None) -> dict[str, Any]:
    """What templates, conditions and the delivery gate see as `customer`; a customer with no profile has no address."""
    if profile is None:
        return {"id": customer_id, "email": None, "phone": None, "timezone": None, "locale": None, "push_tokens": []}
    return profile.template_context()


@dataclass(frozen=True)
class EventRow:
    """One tracked event for `StoreSession.record_events`."""

    message_id: str
    customer_id: str
    name: str
    properties: dict[str, Any]
    timestamp: datetime
    """When it happened (the sender's clock)."""
    received_at: datetime
    """When the API received it."""


@dataclass(frozen=True)
class EnrollmentEnd:
    """How a running enrollment ended: its status, the step it ended at, when, and why (None: no reason told)."""

    enrollment_id: str
    status: str
    step: str | None
    at: datetime
    reason: str | None = None


@dataclass(frozen=True)
class Enrollment:
    """The index row of one enrollment (one customer in one journey version, one Temporal workflow)."""

    enrollment_id: str
    journey_id: str
    version: str
    customer_id: str
    status: str
    """running | completed | converted | exited | holdout | failed | merged"""
    current_step: str | None
    """The step it ended on once finished (None while running: the workflow knows where it is)."""
    entered_at: datetime
    ended_at: datetime | None
    end_reason: str | None = None
    """Why it ended, in the journey file's words (orchestrator/runtime/end_reasons.py); None while running, when
    it completed, and on rows finished before the index kept it."""
    cohort_id: str | None = None
    """The broadcast cohort (the JourneyCohort workflow) it runs in; None: it runs in a workflow of its own, its id."""


@dataclass(frozen=True)
class RunningEnrollment:
    """A running enrollment and the step it rests at (waits, or a held send), as the index and the folded facts say."""

    enrollment_id: str
    customer_id: str
    version: str
    step: str | None
    """None: between two steps now, or its rest is not folded yet."""
    cohort_id: str | None = None
    """The broadcast cohort it runs in (None: a workflow of its own)."""


@dataclass(frozen=True)
class EnrollmentProblem:
    """Something that went wrong at a step without stopping the enrollment: a note for whoever looks at it.

    At most one per (enrollment, step, visit, field): an activity that is retried notes it once.
    Never a rendered value: the expression or template as the journey has it, and the error.
    """

    enrollment_id: str
    step_id: str
    visit: int
    field: str
    """The trait an `update` writes, or the webhook's `url`, `headers.<Name>`, `body`, or `call` (the call itself)."""
    customer_id: str
    journey_id: str
    problem: str
    occurred_at: datetime
    """The journey's clock when the step ran."""


@dataclass(frozen=True)
class DeliveryKey:
    """The ledger key of one delivery: one visit of a send step in one enrollment. The ledger holds at most one row per key."""

    enrollment_id: str
    step_id: str
    visit: int
    """1 on the step's first visit, 2 when the journey comes back to it, and so on (the workflow counts)."""

    def __str__(self) -> str:
        """`<enrollment>:<step>:<visit>`: how the send activity names the delivery to its provider, and a webhook step's Idempotency-Key."""
        return f"{self.enrollment_id}:{self.step_id}:{self.visit}"

    def reference(self) -> str:
        """The opaque id sent along with the message (`message_reference` of the key's text)."""
        return message_reference(str(self))


@dataclass(frozen=True)
class Delivery:
    """A delivery ledger row: at most one per `DeliveryKey` (enrollment, step, visit)."""

    enrollment_id: str
    step_id: str
    visit: int
    channel: str
    status: str
    """intent (claimed, outcome unknown) | sent | suppressed | failed"""
    provider_message_id: str | None
    reason: str | None
    """Why it was suppressed or failed; on an `intent` row, why it is deferred and until when."""
    created_at: datetime
    updated_at: datetime
    customer_id: str | None = None
    journey_id: str | None = None
    category: str | None = None
    """marketing | transactional (None on rows from before delivery controls)."""
    admitted_at: datetime | None = None
    """When the delivery gate let it go (journey clock): from then on it counts towards frequency caps."""
    provider_status: str | None = None
    """The furthest state the provider's webhooks reported (delivered, open, click, bounce, undelivered...), if any."""
    provider_status_at: datetime | None = None

    @property
    def key(self) -> DeliveryKey:
        return DeliveryKey(self.enrollment_id, self.step_id, self.visit)


def message_reference(delivery_key: str) -> str:
    """The opaque id sent along with a message (SendGrid custom_args, FCM data): a hash of the ledger key's text, never PII.

    The ledger stores it (`deliveries.message_ref`), so a provider event that carries it finds its delivery.
    """
    return hashlib.sha256(delivery_key.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class ProviderEvent:
    """One webhook event from a provider, for the provider event log (`StoreSession.record_provider_events`)."""

    provider: str
    """sendgrid | twilio"""
    event_id: str
    """Unique per event at the provider (SendGrid's sg_event_id; Twilio's MessageSid with the status): repeats are dropped."""
    kind: str
    """The provider's own name for it: delivered, open, bounce, undelivered, inbound STOP..."""
    occurred_at: datetime
    received_at: datetime
    customer_id: str | None = None
    enrollment_id: str | None = None
    step_id: str | None = None
    visit: int | None = None
    detail: str | None = None
    """The provider's reason (bounce reason, error code), when it gave one."""


@dataclass(frozen=True)
class ConsentEvidence:
    """Where a profile change comes from: what a consent record it causes says (orchestrator/store/consent.py)."""

    source: str
    """identify | unsubscribe_link | sms_keyword | sendgrid | twilio | journey_update (docs/privacy.md, "Consent records")."""
    evidence: str | None
    """What proves it: the identify call's messageId, the inbound SMS's MessageSid, SendGrid's sg_event_id..."""
    received_at: datetime
    """When it reached us."""
    detail: str | None = None
    """The keyword texted (STOP, START...) or the provider's event name (unsubscribe, spamreport...)."""


@dataclass(frozen=True)
class ConsentRecord:
    """One change of a customer's consent to a channel: the answer to "prove consent" (the profile keeps the state)."""

    customer_id: str
    channel: str
    """email | sms | push"""
    opted_in: bool
    """Whether the channel may carry marketing after this change (for SMS: `sms_opt_in` and no STOP)."""
    source: str
    """ConsentEvidence.source, or number_opt_out (the number had texted STOP) and erased_address (the address had been erased)."""
    evidence: str | None
    detail: str | None
    occurred_at: datetime
    """When the customer gave or withdrew it, by the clock of whoever told us (the identify's timestamp)."""
    recorded_at: datetime
    """When it reached us."""


@dataclass(frozen=True)
class OutboxMessage:
    """A message a provider accepted, as the customer received it: one row of the outbox (orchestrator/store/outbox.py)."""

    customer_id: str
    enrollment_id: str
    journey_id: str
    version: str
    step_id: str
    channel: str
    to: str
    subject: str | None
    body: str
    sent_at: datetime
    id: int | None = None
    """Assigned by the store; None on a message not stored yet."""


_IMMUTABLE = frozenset({str, int, float, bool, type(None)})


def _copied(data: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of JSON data (traits), without `copy.deepcopy`'s memo, which costs more than the copying itself for a small profile."""
    return {key: _copied_value(value) for key, value in data.items()}


def _copied_value(value: Any) -> Any:
    if type(value) is dict:
        return _copied(value)
    if type(value) is list:
        return [_copied_value(item) for item in value]
    return value if type(value) in _IMMUTABLE else copy.deepcopy(value)


FACT_KINDS = ("entered", "reached", "branched", "rested", "message", "provider", "goal", "response", "ended", "moved")
"""What a journey fact records (docs/analytics.md, "Facts")."""


@dataclass(frozen=True)
class JourneyFact:
    """One thing that happened to one enrollment, as analytics and the warehouse stream see it (`journey_facts`).

    `fact_key` is unique within the enrollment, so recording the same fact twice (a retried activity, a
    re-delivered webhook) keeps the first. What each kind sets:

    - entered: nothing more (routing started the enrollment; `occurred_at` is its entry);
    - reached: `step_id` (its first visit only), `name` the path a split gave it ("holdout" for the holdout);
    - rested: `step_id`, `visit`: it blocked there (a wait, a wait_for, a held send, a measurement window);
    - message: `step_id`, `visit`, `name` the channel, `status` sent | suppressed | failed | held, `detail` the reason;
    - provider: `step_id`, `visit`, `name` the channel, `status` delivered | opened | clicked | bounced | failed |
      complained | unsubscribed, `detail` the provider's own event name;
    - goal: `name` the goal's event, `value` its value when the goal declares one;
    - response: `name` the metric's id, `value` the answer, `status` its bucket (promoter, passive, detractor; satisfied...);
    - ended: `step_id` where, `status` completed | converted | exited | holdout | failed, `detail` why;
    - moved: `journey deploy --migrate` moved it onto `version`, waiting at `step_id` there; `name` the version it
      moved from, `detail` the step it waited at in that version. From then on it counts in `version`.
    """

    kind: str
    journey_id: str
    version: str
    enrollment_id: str
    customer_id: str
    fact_key: str
    occurred_at: datetime
    step_id: str | None = None
    visit: int | None = None
    name: str | None = None
    status: str | None = None
    detail: str | None = None
    value: float | None = None


def fact_key(kind: str, step_id: str | None = None, visit: int | None = None, status: str | None = None) -> str:
    """A fact's `fact_key`: its kind and what makes it one of a kind in its enrollment, joined by colons.

    "entered", "reached:<step>", "branched:<step>", "rested:<step>:<visit>", "message:<step>:<visit>:<status>",
    "provider:<step>:<visit>:<status>", "ended", "moved:<step>:<version>": a writer that records the same thing again
    (a retried activity, a repeated webhook) makes the same key, and the store keeps the first.
    """
    return ":".join([kind, *(str(part) for part in (step_id, visit, status) if part is not None)])


@dataclass(frozen=True)
class ProfileChange:
    """One write of a customer's profile, as the profile history keeps it (orchestrator/store/profile_timeline.py)."""

    customer_id: str
    changed_at: datetime
    """The instant it took effect: the call's timestamp, as the profile used it."""
    source: str
    """identify | journey_update | number_opt_out | push_provider | baseline (what retention folded)."""
    changes: dict[str, Any]
    """The keys it set, in identify's vocabulary, with the stored value; None where it removed the key."""
