"""Event routing: which journeys an identify or track call enrolls the customer in, which enrollments it reaches.

The design (docs/architecture.md, "Finding enrollments") is an index table:
the SQL store knows every enrollment by customer, so the API decides
everything from the store, and talks to Temporal only for events some journey
listens to. Whether a call enters the customer into a journey is the entry
rules' decision (orchestrator/routing/entry.py), asked for every active journey.

A routed call is applied under its customers' leases (orchestrator/routing/lease.py)
in three steps (orchestrator/routing/leased_calls.py). Plan: one short transaction runs every store read and write of
the calls, in order, and only plans the Temporal calls they need (a
`StartCall` or `SignalCall` each), then rolls those writes back; a store
refusal (a bad trait value) aborts here, before anything reached Temporal.
Call: the planned calls are made, each customer's in order, with no database
transaction open. Commit: a second short transaction runs the same reads and
writes again and keeps them. If a Temporal call fails nothing is recorded and
the caller answers 5xx, so an event is either fully applied or not at all.
Every Temporal call is idempotent (deterministic workflow ids, de-duplicated
message ids), so a client retry after an ambiguous failure is safe.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from orchestrator import ir
from orchestrator.metrics import ENROLLMENTS_STARTED
from orchestrator.privacy.keyed_hash import HashSecret
from orchestrator.routing.broadcast_page import ENTRY_EVENT, BroadcastPage, enroll_members
from orchestrator.routing.calls import (
    AliasCall,
    Call,
    CallRejected,
    CohortStartCall,
    IdentifyCall,
    RoutingOutcome,
    SignalCall,
    StartCall,
    TemporalGateway,
    TrackCall,
)
from orchestrator.routing.catalog import CatalogSnapshot, JourneyCatalog
from orchestrator.routing.customer_enrollments import CustomerEnrollments
from orchestrator.routing.entry import Broadcast, Cause, Identified, Tracked, decide
from orchestrator.routing.lease import CustomerBeingErased, CustomerBusy
from orchestrator.routing.leased_calls import LeasedCalls, Plan
from orchestrator.routing.measurement import MeasuredEvent, facts_at_ingest
from orchestrator.routing.merge import MAX_REROUTES, Rerouted, check_current, leased_customers, merge_for_call
from orchestrator.runtime.contracts import INTERPRETER_REVISION, EnrollmentInput, EventMessage
from orchestrator.runtime.ids import CustomerKeys, enrollment_id
from orchestrator.store import EventRow, ProfileFieldError, Store, StoreSession
from orchestrator.store.identities import as_current
from orchestrator.store.values import ConsentEvidence

log = logging.getLogger(__name__)


class Router:
    """Applies identify and track calls to the store and to Temporal. Thread-safe: one per process, shared.

    Every method blocks (store transactions, then Temporal calls through the gateway); call them
    from worker threads, never from the event loop that drives the gateway's client.
    """

    def __init__(
        self, store: Store, gateway: TemporalGateway, catalog: JourneyCatalog | None = None, *, hash_secret: HashSecret
    ) -> None:
        """`hash_secret` keys the ids of the enrollments it starts: every process that routes must have the same one."""
        self.store = store
        self.keys = CustomerKeys(hash_secret)
        self.catalog = catalog or JourneyCatalog()
        self._leased = LeasedCalls(store, gateway)
        self.refresh_catalog()

    @property
    def gateway(self) -> TemporalGateway:
        return self._leased.gateway

    @gateway.setter
    def gateway(self, gateway: TemporalGateway) -> None:
        self._leased.gateway = gateway

    def refresh_catalog(self) -> CatalogSnapshot:
        """Re-read the active journeys (another process may have deployed): one short read transaction."""
        with self.store.read() as session:
            self.catalog.refresh(session)
        return self.catalog.snapshot

    def track(self, call: TrackCall) -> RoutingOutcome:
        return self.apply([call])[0]

    def identify(self, call: IdentifyCall) -> RoutingOutcome:
        """Upsert the profile (merging the anonymous one the call names); enroll in segment journeys whose condition it starts to match.

        Raises ProfileFieldError (nothing written) when a trait value cannot be stored, MergeRefused when the call
        ties an anonymous id to a customer other than the one it merged into.
        """
        try:
            return self.apply([call])[0]
        except CallRejected as rejected:
            raise rejected.error from None

    def apply(self, calls: Sequence[Call]) -> list[RoutingOutcome]:
        """Apply identify, track and alias calls in order, all or nothing; one outcome per call.

        Tracks of events no journey listens to nor measures are only recorded, in one bulk insert: they
        change nothing else, so their place in the order does not matter and they never reach Temporal.
        Everything else is routed in order under the leases of its customers, an anonymous visitor's
        reaching the customer they merged into (orchestrator/routing/merge.py). Raises CallRejected
        if the store refuses a call, MergeRefused if a call ties an anonymous id to another customer than
        the one it merged into, TemporalUnavailable if Temporal does not confirm a call, CustomerBusy if a
        customer's lease stays taken; nothing is applied in all four cases.
        """
        for _ in range(MAX_REROUTES):
            try:
                return self._apply(calls)
            except Rerouted:
                continue  # a visitor of the calls merged meanwhile: read who they are now, and plan again
        raise CustomerBusy("the customers of this call kept merging while it was applied; retry it")

    def _apply(self, calls: Sequence[Call]) -> list[RoutingOutcome]:
        if not calls:
            return []
        catalog = self.catalog.snapshot
        quiet = [i for i, call in enumerate(calls) if _only_recorded(call, catalog)]
        quiet_set = set(quiet)
        routed = [i for i in range(len(calls)) if i not in quiet_set]
        if not routed:
            outcomes = [RoutingOutcome() for _ in calls]
            with self.store.session() as session:
                self._record_quiet(session, calls, quiet, outcomes)
            return outcomes
        # Who the routed calls' visitors are now decides the leases; the quiet ones are read in the transaction that records them.
        calls = list(calls)
        for i, call in zip(routed, as_current(self.store, [calls[i] for i in routed]), strict=True):
            calls[i] = call

        def route(session: StoreSession) -> tuple[Plan, list[RoutingOutcome]]:
            plan, outcomes = Plan(), [RoutingOutcome() for _ in calls]
            self._record_quiet(session, calls, quiet, outcomes)
            for i in routed:
                call = calls[i]
                check_current(session, call)
                try:
                    if isinstance(call, TrackCall):
                        self._route_track(session, catalog, i, call, outcomes[i], plan)
                    else:
                        self._route_identify(session, catalog, i, call, outcomes[i], plan)
                except ProfileFieldError as exc:
                    raise CallRejected(i, exc) from exc
            return plan, outcomes

        return self._leased.apply(leased_customers([calls[i] for i in routed]), route)

    def enroll(self, journey: ir.Journey, customer_id: str, at: datetime, *, message_id: str | None = None) -> RoutingOutcome:
        """Enroll one existing customer if entry rules allow (broadcasts use this for each matching profile).

        With `message_id`, the decision is recorded as a `journey_entry` event under that id, and a
        repeated id (a retried broadcast page) is a duplicate that does nothing.
        """

        def route(session: StoreSession) -> tuple[Plan, list[RoutingOutcome]]:
            plan, outcome = Plan(), RoutingOutcome()
            _refuse_if_being_erased(session, customer_id)
            profile = session.get_profile(customer_id)
            if profile is None:
                return plan, [outcome]
            if message_id is not None:
                properties = {"journey": journey.id, "version": journey.version}
                if not session.record_event(message_id, customer_id, ENTRY_EVENT, properties, at, at):
                    outcome.duplicate = True
                    return plan, [outcome]
            known = CustomerEnrollments(session, customer_id)
            self._enroll(journey, Broadcast(), known, profile.template_context(), None, at, outcome, plan)
            return plan, [outcome]

        return self._leased.apply([customer_id], route)[0]

    def enroll_page(self, journey: ir.Journey, customer_ids: Sequence[str], at: datetime, run_key: str, page: int) -> list[RoutingOutcome]:
        """Enroll the customers of a broadcast page the entry rules admit into one cohort; one outcome per customer.

        One transaction takes the page's leases and decides every customer as `enroll` does (the decision recorded
        as a `journey_entry` event under `broadcast:<run>:<customer>`, so a repeated one is a duplicate that does
        nothing), indexes those admitted with the cohort's id and their `entered` facts, and records the cohort;
        it commits with the leases kept. One Temporal call starts the cohort with them as members (its id: the
        journey, the run and `page`, so a retried page starts nothing twice), and a second transaction releases
        the leases. Decided once, not planned and repeated as `enroll` is: what the page writes only adds rows,
        and its retry starts the cohort from them (`enroll_members`). Should the start fail, the leases are kept
        for the retry (they expire in LEASE_TTL): meanwhile the members' events wait rather than reach no cohort.
        No profile, or an erasure under way: skipped, as nobody to enroll.
        """
        customers = list(dict.fromkeys(customer_ids))
        page_of = BroadcastPage(journey, run_key, page, at)

        def route(session: StoreSession) -> tuple[Plan, list[RoutingOutcome]]:
            plan = Plan()
            outcomes, start = enroll_members(session, page_of, customers, self.keys, self.catalog.encoded(journey))
            if start is not None:
                plan.add(CohortStartCall(start, journey), outcomes[start.members[0].customer_id])
            return plan, [outcomes[customer] for customer in customers]

        if not customers:
            return []
        with self._leased.local_locks.hold(customers):
            plan, outcomes = self._leased.plan(customers, route, commit=True)
            if plan.calls:
                self.gateway.execute(plan.calls)
                # The members this call admitted, not the cohort's: a retried page starts its cohort again (Temporal keeps
                # the first) and must count none twice. A page whose first start failed is counted by neither attempt.
                ENROLLMENTS_STARTED.labels(journey.id).inc(sum(len(outcome.enrolled) for outcome in outcomes))
                with self.store.session() as session:
                    session.release_leases(customers, self._leased.holder)
        by_customer = dict(zip(customers, outcomes, strict=True))
        return [by_customer[customer] for customer in customer_ids]

    # --- inside the transaction ---------------------------------------------------

    @staticmethod
    def _record_quiet(session: StoreSession, calls: Sequence[Call], quiet: Iterable[int], outcomes: list[RoutingOutcome]) -> None:
        rows: list[tuple[int, EventRow]] = []
        # Who the visitors are, read again in this transaction: one may have merged since the calls were read.
        now = session.current_customers({calls[i].customer_id for i in quiet})
        for i in quiet:
            call = calls[i]
            assert isinstance(call, TrackCall)
            customer_id = now[call.customer_id]
            rows.append((i, EventRow(call.message_id, customer_id, call.event, call.properties, call.timestamp, call.received_at)))
        if not rows:
            return
        new = session.record_events([row for _, row in rows])
        for i, row in rows:
            if row.message_id in new:
                new.discard(row.message_id)  # a repeated id within the batch: the first one counts
            else:
                outcomes[i].duplicate = True

    def _route_track(
        self, session: StoreSession, catalog: CatalogSnapshot, index: int, call: TrackCall, outcome: RoutingOutcome, plan: Plan
    ) -> None:
        _refuse_if_being_erased(session, call.customer_id, call.anonymous_id)
        if not session.record_event(call.message_id, call.customer_id, call.event, call.properties, call.timestamp, call.received_at):
            outcome.duplicate = True
            return
        if call.anonymous_id is not None:
            merge_for_call(session, index, call, outcome, plan.add)
        profile = session.get_profile(call.customer_id)
        if profile is None:
            _, profile = session.identify(call.customer_id, {}, call.received_at)
        known = CustomerEnrollments(session, call.customer_id)
        message = EventMessage(call.message_id, call.event, dict(call.properties), call.timestamp.isoformat())
        self._deliver(session, known, message, outcome, plan)
        context, tracked = profile.template_context(), Tracked(call.event, call.properties)
        # Before entry: the event that enrolls the customer is neither the new enrollment's goal nor its answer.
        self._measure(session, catalog, call, context, known)
        for journey in catalog.active:
            self._enroll(journey, tracked, known, context, message, call.received_at, outcome, plan)

    def _route_identify(
        self,
        session: StoreSession,
        catalog: CatalogSnapshot,
        index: int,
        call: IdentifyCall | AliasCall,
        outcome: RoutingOutcome,
        plan: Plan,
    ) -> None:
        """An identify, or an alias: an identify that merges and sets no trait."""
        _refuse_if_being_erased(session, call.customer_id, call.anonymous_id)
        traits, name = (call.traits, "identify") if isinstance(call, IdentifyCall) else ({}, "alias")
        if not session.record_event(call.message_id, call.customer_id, name, traits, call.timestamp, call.received_at):
            outcome.duplicate = True
            return
        before = merged = None
        if call.anonymous_id is not None:
            # The segments it enters are those the merged profile matches and neither profile did before the merge.
            before, merged = session.get_profile(call.customer_id), session.get_profile(call.anonymous_id)
            merge_for_call(session, index, call, outcome, plan.add)
        consent = call.consent if isinstance(call, IdentifyCall) else None
        evidence = consent or ConsentEvidence("identify", call.message_id, call.received_at)
        stored, after = session.identify(call.customer_id, traits, call.timestamp, evidence)
        before = before if call.anonymous_id is not None else stored
        identified = Identified(*(profile.template_context() if profile else None for profile in (before, merged)))
        new = after.template_context()
        known = CustomerEnrollments(session, call.customer_id)
        for journey in catalog.active:
            self._enroll(journey, identified, known, new, None, call.received_at, outcome, plan)

    def _deliver(
        self, session: StoreSession, known: CustomerEnrollments, message: EventMessage, outcome: RoutingOutcome, plan: Plan
    ) -> None:
        for enrollment in known.running():
            journey = self.catalog.version(session, enrollment.journey_id, enrollment.version)
            if journey is None or message.name not in journey.events:
                continue
            plan.add(SignalCall(known.customer_id, enrollment.enrollment_id, message, enrollment.cohort_id), outcome)

    def _measure(
        self, session: StoreSession, catalog: CatalogSnapshot, call: TrackCall, customer: dict[str, Any], known: CustomerEnrollments
    ) -> None:
        """Record the goals the event reaches and the answers it gives, in this transaction (orchestrator/routing/measurement.py)."""
        journeys = catalog.measured.get(call.event)
        if not journeys:
            return
        measuring = [e for e in known.all() if e.journey_id in journeys]
        if not measuring:
            return
        event = MeasuredEvent(call.customer_id, call.event, call.properties, call.timestamp)
        facts = facts_at_ingest(event, customer, measuring, lambda e: self.catalog.version(session, e.journey_id, e.version))
        session.record_facts(facts)

    def _enroll(
        self,
        journey: ir.Journey,
        cause: Cause,
        known: CustomerEnrollments,
        customer: dict[str, Any],
        trigger: EventMessage | None,
        now: datetime,
        outcome: RoutingOutcome,
        plan: Plan,
    ) -> None:
        """Start an enrollment in `journey` if the entry rules (orchestrator/routing/entry.py) let `cause` enter the customer."""
        decision = decide(journey, cause, customer, lambda: known.past_entries(journey.id), now)
        if not decision.enter:
            return
        # Computed, not read: a new enrollment's id is a function of the customer, the journey and the entry's number,
        # so a retried call starts the same workflow (REJECT_DUPLICATE makes the second start a no-op). Running
        # enrollments are reached through the ids the index stored, whatever key they were started under.
        key = self.keys.key(known.customer_id)
        new_id = enrollment_id(journey.id, key, decision.number)
        known.start(new_id, journey, now)
        start = EnrollmentInput(self.catalog.encoded(journey), known.customer_id, new_id, trigger, revision=INTERPRETER_REVISION)
        plan.add(StartCall(known.customer_id, start, journey, key), outcome)
        outcome.enrolled.append(new_id)


def _refuse_if_being_erased(session: StoreSession, *customer_ids: str | None) -> None:
    """Under the customers' leases: an erasure wrote its tombstone under the same lease, so no call slips between."""
    for customer_id in customer_ids:
        if customer_id is not None and session.being_erased(customer_id):
            raise CustomerBeingErased("this customer is being erased; a call sent once it is done starts a new profile")


def _only_recorded(call: Call, catalog: CatalogSnapshot) -> bool:
    """A track no journey listens to nor measures, that merges no one: recorded, nothing more."""
    return isinstance(call, TrackCall) and call.anonymous_id is None and not catalog.routed(call.event)
