"""Event routing: which journeys an identify or track call enrolls the customer in, which enrollments it reaches.

The design (docs/architecture.md, "Finding enrollments") is an index table:
the SQL store knows every enrollment by customer, so the API decides
everything in one database transaction that holds the customer's lock, and
talks to Temporal only for events some active journey listens to. The
Temporal calls happen inside that transaction: if one fails, the transaction
rolls back and the caller answers 5xx, so an event is either fully applied or
not recorded at all. Every Temporal call is idempotent (deterministic workflow
ids, de-duplicated message ids), so a client retry after an ambiguous failure
is safe.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from jinja2 import TemplateError

from orchestrator import ir
from orchestrator.runtime.contracts import EnrollmentInput, EventMessage
from orchestrator.store import Store, StoreSession
from orchestrator.templating import evaluate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrackCall:
    customer_id: str
    event: str
    properties: dict[str, Any]
    message_id: str
    timestamp: datetime
    received_at: datetime


@dataclass(frozen=True)
class IdentifyCall:
    customer_id: str
    traits: dict[str, Any]
    message_id: str
    timestamp: datetime
    received_at: datetime


@dataclass
class RoutingOutcome:
    """What one call did, for logs and for the API's answer."""

    duplicate: bool = False
    enrolled: list[str] = field(default_factory=list)
    signalled: list[str] = field(default_factory=list)


class TemporalGateway(Protocol):
    """The two Temporal calls routing makes; both idempotent and blocking until Temporal has them durably."""

    def start_enrollment(self, start: EnrollmentInput, journey: ir.Journey) -> None: ...

    def signal(self, enrollment_id: str, event: EventMessage) -> bool:
        """False when the enrollment has already ended (nothing to deliver)."""
        ...


def customer_key(customer_id: str) -> str:
    """An opaque, stable key for a customer in workflow ids: ids can be e-mail addresses, which must not leak."""
    return hashlib.sha256(customer_id.encode()).hexdigest()[:20]


def enrollment_id(journey_id: str, customer_id: str, number: int) -> str:
    return f"{journey_id}-{customer_key(customer_id)}-{number}"


class JourneyCatalog:
    """Active journeys and old versions, cached: an enrollment signals on behalf of the version it pinned."""

    def __init__(self) -> None:
        self._versions: dict[tuple[str, str], ir.Journey] = {}
        self._active: list[ir.Journey] = []
        self._listened: frozenset[str] = frozenset()

    def refresh(self, session: StoreSession) -> None:
        self._active = session.active_journeys()
        for journey in self._active:
            self._versions[(journey.id, journey.version)] = journey
        self._listened = frozenset(name for journey in self._active for name in journey.events)

    @property
    def active(self) -> list[ir.Journey]:
        return self._active

    def listens_to(self, event: str) -> bool:
        """Whether any active journey can react to `event`: the cheap test that keeps other events away from Temporal."""
        return event in self._listened

    def version(self, session: StoreSession, journey_id: str, version: str) -> ir.Journey | None:
        key = (journey_id, version)
        if key not in self._versions:
            found = session.journey_version(journey_id, version)
            if found is None:
                return None
            self._versions[key] = found
        return self._versions[key]


class Router:
    def __init__(self, store: Store, gateway: TemporalGateway, catalog: JourneyCatalog | None = None) -> None:
        self.store = store
        self.gateway = gateway
        self.catalog = catalog or JourneyCatalog()
        with store.session() as session:
            self.catalog.refresh(session)

    def track(self, call: TrackCall) -> RoutingOutcome:
        outcome = RoutingOutcome()
        with self.store.session(lock_customer=call.customer_id) as session:
            if not session.record_event(call.message_id, call.customer_id, call.event, call.properties, call.timestamp, call.received_at):
                outcome.duplicate = True
                return outcome
            if not self.catalog.listens_to(call.event):
                return outcome
            profile = session.get_profile(call.customer_id)
            if profile is None:
                _, profile = session.identify(call.customer_id, {}, call.received_at)
            message = EventMessage(call.message_id, call.event, dict(call.properties), call.timestamp.isoformat())
            self._deliver(session, call.customer_id, message, outcome)
            context = profile.template_context()
            for journey in self.catalog.active:
                trigger = journey.trigger
                if isinstance(trigger, ir.EventTrigger) and trigger.event == call.event and _holds(trigger.where, context, call.properties):
                    self._enroll(session, journey, call.customer_id, context, message, call.received_at, outcome)
        return outcome

    def identify(self, call: IdentifyCall) -> RoutingOutcome:
        """Upsert the profile; enroll in segment journeys whose condition it starts to match."""
        outcome = RoutingOutcome()
        with self.store.session(lock_customer=call.customer_id) as session:
            if not session.record_event(call.message_id, call.customer_id, "identify", call.traits, call.timestamp, call.received_at):
                outcome.duplicate = True
                return outcome
            before, after = session.identify(call.customer_id, call.traits, call.timestamp)
            old = before.template_context() if before else None
            new = after.template_context()
            for journey in self.catalog.active:
                trigger = journey.trigger
                if not isinstance(trigger, ir.SegmentTrigger):
                    continue
                if _holds(trigger.condition, new, {}) and not (old is not None and _holds(trigger.condition, old, {})):
                    self._enroll(session, journey, call.customer_id, new, None, call.received_at, outcome)
        return outcome

    def enroll(self, journey: ir.Journey, customer_id: str, at: datetime) -> RoutingOutcome:
        """Enroll one customer if entry rules allow (broadcasts use this for each matching profile)."""
        outcome = RoutingOutcome()
        with self.store.session(lock_customer=customer_id) as session:
            profile = session.get_profile(customer_id)
            if profile is not None:
                self._enroll(session, journey, customer_id, profile.template_context(), None, at, outcome)
        return outcome

    def _deliver(self, session: StoreSession, customer_id: str, message: EventMessage, outcome: RoutingOutcome) -> None:
        for enrollment in session.enrollments_for(customer_id, running_only=True):
            journey = self.catalog.version(session, enrollment.journey_id, enrollment.version)
            if journey is None or message.name not in journey.events:
                continue
            if self.gateway.signal(enrollment.enrollment_id, message):
                outcome.signalled.append(enrollment.enrollment_id)

    def _enroll(
        self,
        session: StoreSession,
        journey: ir.Journey,
        customer_id: str,
        context: dict[str, Any],
        trigger: EventMessage | None,
        now: datetime,
        outcome: RoutingOutcome,
    ) -> None:
        if not _holds(journey.entry.audience, context, trigger.properties if trigger else {}):
            return
        running = [e for e in session.enrollments_for(customer_id, running_only=True) if e.journey_id == journey.id]
        if running:
            return  # never in the same journey twice at once
        count, last_entered = session.enrollment_count(journey.id, customer_id)
        entry = journey.entry
        if count and entry.re_entry == "never":
            return
        waited = last_entered is None or now >= last_entered + timedelta(seconds=entry.re_entry_after_seconds or 0)
        if count and entry.re_entry == "after" and not waited:
            return
        new_id = enrollment_id(journey.id, customer_id, count + 1)
        session.start_enrollment(new_id, journey.id, journey.version, customer_id, now)
        self.gateway.start_enrollment(EnrollmentInput(journey.to_dict(), customer_id, new_id, trigger), journey)
        outcome.enrolled.append(new_id)


def _holds(expression: str | None, customer: dict[str, Any], event: dict[str, Any]) -> bool:
    if expression is None:
        return True
    try:
        return bool(evaluate(expression, {"customer": customer, "event": event, "journey": {}}))
    except (TemplateError, TypeError, ValueError, ArithmeticError) as exc:
        log.info("condition %r is false: %s", expression, exc)
        return False
