"""Event routing: which journeys an identify or track call enrolls the customer in, which enrollments it reaches.

The design (docs/architecture.md, "Finding enrollments") is an index table:
the SQL store knows every enrollment by customer, so the API decides
everything in one database transaction that holds the customers' locks, and
talks to Temporal only for events some journey listens to.

A transaction runs in two phases. First every store read and write of the
calls, in order, while the Temporal calls they need are only planned (a
`StartCall` or `SignalCall` each); a store refusal (a bad trait value) aborts
here, before anything reached Temporal. Then the planned calls are made, each
customer's in order, still inside the transaction: if one fails, the
transaction rolls back and the caller answers 5xx, so an event is either fully
applied or not recorded at all. Deferring the calls changes no decision: the
only answer Temporal gives that routing uses ("that enrollment has already
ended") changes nothing in the store. Every Temporal call is idempotent
(deterministic workflow ids, de-duplicated message ids), so a client retry
after an ambiguous failure is safe.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from jinja2 import TemplateError

from orchestrator import ir
from orchestrator.runtime.contracts import EnrollmentInput, EventMessage
from orchestrator.store import EventRow, ProfileFieldError, Store, StoreSession
from orchestrator.templating import evaluate

log = logging.getLogger(__name__)

ENTRY_EVENT = "journey_entry"
"""The event `Router.enroll(..., message_id=...)` records, so that a retried broadcast page enrolls nobody twice."""


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


Call = TrackCall | IdentifyCall


@dataclass
class RoutingOutcome:
    """What one call did, for logs and for the API's answer."""

    duplicate: bool = False
    enrolled: list[str] = field(default_factory=list)
    signalled: list[str] = field(default_factory=list)


class CallRejected(ValueError):
    """The store refused call number `index` of a batch (a bad trait value): nothing of the batch was applied."""

    def __init__(self, index: int, error: ProfileFieldError) -> None:
        super().__init__(f"call {index}: {error}")
        self.index = index
        self.error = error


class TemporalUnavailable(RuntimeError):
    """Temporal did not confirm a call: the caller must not report the event as accepted."""


# --- the Temporal side ----------------------------------------------------------


@dataclass(frozen=True)
class StartCall:
    """Start the workflow of a new enrollment."""

    customer_id: str
    start: EnrollmentInput
    journey: ir.Journey


@dataclass(frozen=True)
class SignalCall:
    """Deliver an event to a running enrollment."""

    customer_id: str
    enrollment_id: str
    event: EventMessage


TemporalCall = StartCall | SignalCall


class TemporalGateway(Protocol):
    """The Temporal calls routing makes: idempotent, and blocking until Temporal has them durably."""

    def execute(self, calls: Sequence[TemporalCall]) -> list[bool]:
        """Make `calls`; one customer's strictly in the given order, different customers' possibly at once.

        Returns one flag per call: True when the enrollment was started (or existed) or the event
        delivered, False when a signalled enrollment had already ended (nothing to deliver).
        Raises TemporalUnavailable when any call is not confirmed.
        """
        ...


# --- ids ------------------------------------------------------------------------


def customer_key(customer_id: str) -> str:
    """An opaque, stable key for a customer in workflow ids: ids can be e-mail addresses, which must not leak."""
    return hashlib.sha256(customer_id.encode()).hexdigest()[:20]


def enrollment_id(journey_id: str, customer_id: str, number: int) -> str:
    return f"{journey_id}-{customer_key(customer_id)}-{number}"


# --- the catalog ----------------------------------------------------------------


@dataclass(frozen=True)
class CatalogSnapshot:
    """The active journeys at one refresh, and every event name routing must look at."""

    active: tuple[ir.Journey, ...] = ()
    listened: frozenset[str] = frozenset()


class JourneyCatalog:
    """Active journeys and old versions, cached: an enrollment signals on behalf of the version it pinned.

    Thread-safe for readers: a refresh builds a new snapshot and swaps it in with one assignment,
    so a call routed during a refresh sees the old catalog or the new one, never a mix.
    """

    def __init__(self) -> None:
        self._versions: dict[tuple[str, str], ir.Journey] = {}
        self._lock = threading.Lock()
        self._snapshot = CatalogSnapshot()

    def refresh(self, session: StoreSession) -> None:
        active = tuple(session.active_journeys())
        with self._lock:
            for journey in active:
                self._versions.setdefault((journey.id, journey.version), journey)
            known = list(self._versions.values())
        # Versions no longer active may still have running enrollments waiting for their events,
        # so their events stay listened: the catalog knows every version this process has seen.
        listened = frozenset(name for journey in known for name in journey.events)
        self._snapshot = CatalogSnapshot(active, listened)

    @property
    def snapshot(self) -> CatalogSnapshot:
        return self._snapshot

    @property
    def active(self) -> list[ir.Journey]:
        return list(self._snapshot.active)

    def listens_to(self, event: str) -> bool:
        """Whether any journey can react to `event`: the cheap test that keeps other events away from Temporal."""
        return event in self._snapshot.listened

    def version(self, session: StoreSession, journey_id: str, version: str) -> ir.Journey | None:
        key = (journey_id, version)
        known = self._versions.get(key)
        if known is not None:
            return known
        found = session.journey_version(journey_id, version)
        if found is not None:
            with self._lock:
                self._versions.setdefault(key, found)
        return found


# --- the router -----------------------------------------------------------------


@dataclass
class _Plan:
    """The Temporal calls a transaction needs, in order, and whose outcome each one completes."""

    calls: list[TemporalCall] = field(default_factory=list)
    owners: list[RoutingOutcome] = field(default_factory=list)

    def add(self, call: TemporalCall, owner: RoutingOutcome) -> None:
        self.calls.append(call)
        self.owners.append(owner)


class Router:
    """Applies identify and track calls to the store and to Temporal. Thread-safe: one per process, shared.

    Every method blocks (store transaction, then Temporal calls through the gateway); call them
    from worker threads, never from the event loop that drives the gateway's client.
    """

    def __init__(self, store: Store, gateway: TemporalGateway, catalog: JourneyCatalog | None = None) -> None:
        self.store = store
        self.gateway = gateway
        self.catalog = catalog or JourneyCatalog()
        self.refresh_catalog()

    def refresh_catalog(self) -> CatalogSnapshot:
        """Re-read the active journeys (another process may have deployed): one short read transaction."""
        with self.store.session() as session:
            self.catalog.refresh(session)
        return self.catalog.snapshot

    def track(self, call: TrackCall) -> RoutingOutcome:
        return self.apply([call])[0]

    def identify(self, call: IdentifyCall) -> RoutingOutcome:
        """Upsert the profile; enroll in segment journeys whose condition it starts to match.

        Raises ProfileFieldError (nothing written) when a trait value cannot be stored.
        """
        try:
            return self.apply([call])[0]
        except CallRejected as rejected:
            raise rejected.error from None

    def apply(self, calls: Sequence[Call]) -> list[RoutingOutcome]:
        """Apply identify and track calls in order, all or nothing, in one transaction; one outcome per call.

        Tracks of events no journey listens to are only recorded, in one bulk insert: they change
        nothing else, so their place in the order does not matter and they never reach Temporal.
        Everything else is routed in order under the locks of its customers (taken in sorted
        order, so two batches cannot deadlock). Raises CallRejected if the store refuses a call,
        TemporalUnavailable if Temporal does not confirm a call; nothing is applied in both cases.
        """
        if not calls:
            return []
        catalog = self.catalog.snapshot
        outcomes = [RoutingOutcome() for _ in calls]
        quiet = [i for i, call in enumerate(calls) if isinstance(call, TrackCall) and call.event not in catalog.listened]
        quiet_set = set(quiet)
        routed = [i for i in range(len(calls)) if i not in quiet_set]
        if not routed:
            with self.store.session() as session:
                self._record_quiet(session, calls, quiet, outcomes)
            return outcomes
        customers = sorted({calls[i].customer_id for i in routed})
        plan = _Plan()
        with self.store.session(lock_customer=customers[0]) as session:
            for customer_id in customers[1:]:
                session.lock_customer(customer_id)
            self._record_quiet(session, calls, quiet, outcomes)
            for i in routed:
                call = calls[i]
                try:
                    if isinstance(call, TrackCall):
                        self._route_track(session, catalog, call, outcomes[i], plan)
                    else:
                        self._route_identify(session, catalog, call, outcomes[i], plan)
                except ProfileFieldError as exc:
                    raise CallRejected(i, exc) from exc
            self._execute(plan)
        return outcomes

    def enroll(self, journey: ir.Journey, customer_id: str, at: datetime, *, message_id: str | None = None) -> RoutingOutcome:
        """Enroll one existing customer if entry rules allow (broadcasts use this for each matching profile).

        With `message_id`, the decision is recorded as a `journey_entry` event under that id, and a
        repeated id (a retried broadcast page) is a duplicate that does nothing.
        """
        outcome = RoutingOutcome()
        plan = _Plan()
        with self.store.session(lock_customer=customer_id) as session:
            profile = session.get_profile(customer_id)
            if profile is None:
                return outcome
            if message_id is not None:
                properties = {"journey": journey.id, "version": journey.version}
                if not session.record_event(message_id, customer_id, ENTRY_EVENT, properties, at, at):
                    outcome.duplicate = True
                    return outcome
            self._enroll(session, journey, customer_id, profile.template_context(), None, at, outcome, plan)
            self._execute(plan)
        return outcome

    # --- inside the transaction ---------------------------------------------------

    @staticmethod
    def _record_quiet(session: StoreSession, calls: Sequence[Call], quiet: Iterable[int], outcomes: list[RoutingOutcome]) -> None:
        rows: list[tuple[int, EventRow]] = []
        for i in quiet:
            call = calls[i]
            assert isinstance(call, TrackCall)
            rows.append((i, EventRow(call.message_id, call.customer_id, call.event, call.properties, call.timestamp, call.received_at)))
        if not rows:
            return
        new = session.record_events([row for _, row in rows])
        for i, row in rows:
            if row.message_id in new:
                new.discard(row.message_id)  # a repeated id within the batch: the first one counts
            else:
                outcomes[i].duplicate = True

    def _route_track(self, session: StoreSession, catalog: CatalogSnapshot, call: TrackCall, outcome: RoutingOutcome, plan: _Plan) -> None:
        if not session.record_event(call.message_id, call.customer_id, call.event, call.properties, call.timestamp, call.received_at):
            outcome.duplicate = True
            return
        profile = session.get_profile(call.customer_id)
        if profile is None:
            _, profile = session.identify(call.customer_id, {}, call.received_at)
        message = EventMessage(call.message_id, call.event, dict(call.properties), call.timestamp.isoformat())
        self._deliver(session, call.customer_id, message, outcome, plan)
        context = profile.template_context()
        for journey in catalog.active:
            trigger = journey.trigger
            if isinstance(trigger, ir.EventTrigger) and trigger.event == call.event and _holds(trigger.where, context, call.properties):
                self._enroll(session, journey, call.customer_id, context, message, call.received_at, outcome, plan)

    def _route_identify(
        self, session: StoreSession, catalog: CatalogSnapshot, call: IdentifyCall, outcome: RoutingOutcome, plan: _Plan
    ) -> None:
        if not session.record_event(call.message_id, call.customer_id, "identify", call.traits, call.timestamp, call.received_at):
            outcome.duplicate = True
            return
        before, after = session.identify(call.customer_id, call.traits, call.timestamp)
        old = before.template_context() if before else None
        new = after.template_context()
        for journey in catalog.active:
            trigger = journey.trigger
            if not isinstance(trigger, ir.SegmentTrigger):
                continue
            if _holds(trigger.condition, new, {}) and not (old is not None and _holds(trigger.condition, old, {})):
                self._enroll(session, journey, call.customer_id, new, None, call.received_at, outcome, plan)

    def _deliver(self, session: StoreSession, customer_id: str, message: EventMessage, outcome: RoutingOutcome, plan: _Plan) -> None:
        for enrollment in session.enrollments_for(customer_id, running_only=True):
            journey = self.catalog.version(session, enrollment.journey_id, enrollment.version)
            if journey is None or message.name not in journey.events:
                continue
            plan.add(SignalCall(customer_id, enrollment.enrollment_id, message), outcome)

    def _enroll(
        self,
        session: StoreSession,
        journey: ir.Journey,
        customer_id: str,
        context: dict[str, Any],
        trigger: EventMessage | None,
        now: datetime,
        outcome: RoutingOutcome,
        plan: _Plan,
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
        plan.add(StartCall(customer_id, EnrollmentInput(journey.to_dict(), customer_id, new_id, trigger), journey), outcome)
        outcome.enrolled.append(new_id)

    def _execute(self, plan: _Plan) -> None:
        """The second phase: make the planned Temporal calls (the transaction is still open)."""
        if not plan.calls:
            return
        confirmed = self.gateway.execute(plan.calls)
        for call, owner, done in zip(plan.calls, plan.owners, confirmed, strict=True):
            if isinstance(call, SignalCall) and done:
                owner.signalled.append(call.enrollment_id)


def _holds(expression: str | None, customer: dict[str, Any], event: dict[str, Any]) -> bool:
    if expression is None:
        return True
    try:
        return bool(evaluate(expression, {"customer": customer, "event": event, "journey": {}}))
    except (TemplateError, TypeError, ValueError, ArithmeticError) as exc:
        log.info("condition %r is false: %s", expression, exc)
        return False
