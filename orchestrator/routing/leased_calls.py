"""Applying a routed call under its customers' leases: plan, make the Temporal calls, commit.

The router (orchestrator/routing/router.py) decides what a call does, as a `Route`: a function that
reads and writes the call's effects in a store session and plans the Temporal calls they need. This
module runs a route so that the store and Temporal stay in step (docs/architecture.md, "Finding
enrollments"): `LeasedCalls.apply` takes the customers' leases and runs the route once to plan (its
writes rolled back), makes the planned calls with no transaction open, then runs it again to commit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from orchestrator.metrics import ENROLLMENTS_STARTED, LEASE_WAIT_SECONDS
from orchestrator.routing.calls import CohortStartCall, EndCall, RoutingOutcome, SignalCall, StartCall, TemporalCall, TemporalGateway
from orchestrator.routing.lease import LEASE_TTL, LEASE_WAIT, CustomerBusy, LocalCustomerLocks, give_up_on, new_holder
from orchestrator.store import Store, StoreSession

log = logging.getLogger(__name__)


@dataclass
class Plan:
    """The Temporal calls a transaction needs, in order, and whose outcome each one completes."""

    calls: list[TemporalCall] = field(default_factory=list)
    owners: list[RoutingOutcome] = field(default_factory=list)

    def add(self, call: TemporalCall, owner: RoutingOutcome) -> None:
        self.calls.append(call)
        self.owners.append(owner)


Route = Callable[[StoreSession], tuple[Plan, list[RoutingOutcome]]]
"""Reads and writes a call's effects in a session and plans its Temporal calls; run once to plan, once to commit."""

MAX_REPLANS = 3
"""How many times a commit may find calls it still has to make before the call is refused (retry later)."""


class LeasedCalls:
    """Runs routes under customers' leases for one process (its lease holder); thread-safe, one per router."""

    def __init__(self, store: Store, gateway: TemporalGateway) -> None:
        self.store = store
        self.gateway = gateway
        self.local_locks = LocalCustomerLocks()
        """One customer's calls queue here within the process; the leases order them across processes."""
        self.holder = new_holder()

    def apply(self, customers: list[str], route: Route) -> list[RoutingOutcome]:
        """Run `route` under the customers' leases: plan, make the Temporal calls, then commit.

        1. Plan: in a short transaction, take the leases and run `route` inside a savepoint that is
           rolled back (only the leases are committed). Nothing for Temporal: the transaction keeps
           everything and the call is done.
        2. Make the planned calls; no database transaction is open meanwhile.
        3. Commit: in a short transaction, run `route` again and keep what it writes, releasing the
           leases. Every writer that could change what `route` decides waits for the leases
           (`store.session(lock_customer=...)`), so the plan repeats; should it now need a call
           that was not made (a writer skipped the lock), that call is made before committing.
        Any failure releases the leases and writes nothing else.
        """
        with self.local_locks.hold(customers):
            plan, outcomes = self.plan(customers, route)
            if not plan.calls:
                return outcomes
            try:
                return self._call_and_commit(customers, route, plan)
            except BaseException:
                self.release(customers)
                raise

    def plan(self, customers: list[str], route: Route, *, commit: bool = False) -> tuple[Plan, list[RoutingOutcome]]:
        """Take the leases and run `route`: with calls to make, its writes are rolled back (unless `commit`) and the
        leases kept; without, its writes are committed and the leases released."""
        began = time.monotonic()
        deadline = began + LEASE_WAIT.total_seconds()
        pause = 0.005
        waited = False
        while True:
            with self.store.session() as session:
                with session.savepoint() as taking:
                    taken = self._take(session, customers)
                    if not taken:
                        taking.rollback()  # the leases it took of a batch's customers before the one in the way
                if taken:
                    if waited:
                        LEASE_WAIT_SECONDS.observe(time.monotonic() - began)
                    with session.savepoint() as savepoint:
                        plan, outcomes = route(session)
                        if not plan.calls:
                            session.release_leases(customers, self.holder)
                        elif not commit:
                            savepoint.rollback()
                    return plan, outcomes
                held_until = session.leased_until(customers, self.holder)
            # Another process holds a lease: it releases it within a Temporal round trip, or it died and the lease expires.
            if held_until is not None:
                try:
                    give_up_on(held_until, deadline)
                except CustomerBusy:
                    LEASE_WAIT_SECONDS.observe(time.monotonic() - began)  # waited in vain: the call is refused customer_busy
                    raise
            waited = True
            time.sleep(pause)
            pause = min(pause * 2, 0.25)

    def _call_and_commit(self, customers: list[str], route: Route, plan: Plan) -> list[RoutingOutcome]:
        made: dict[tuple[str, ...], bool] = {}
        pending = plan.calls
        for _ in range(MAX_REPLANS):
            made.update(zip(map(call_key, pending), self.gateway.execute(pending), strict=True))
            with self.store.session() as session:
                if not self._take(session, customers):
                    raise CustomerBusy("this call's lease expired while Temporal answered; retry it")
                with session.savepoint() as savepoint:
                    plan, outcomes = route(session)
                    pending = [call for call in plan.calls if call_key(call) not in made]
                    if pending:
                        savepoint.rollback()
                        continue
                    session.release_leases(customers, self.holder)
            # Committed: only now do the enrollments it started count (a failed commit started none that routing knows of).
            _warn_of_orphans(made, plan)
            for call, owner in zip(plan.calls, plan.owners, strict=True):
                if isinstance(call, SignalCall) and made[call_key(call)]:
                    owner.signalled.append(call.enrollment_id)
                elif isinstance(call, StartCall):
                    ENROLLMENTS_STARTED.labels(call.journey.id).inc()
            return outcomes
        raise CustomerBusy("the customer's enrollments kept changing while the call was applied; retry it")

    def _take(self, session: StoreSession, customers: list[str]) -> bool:
        now = datetime.now(UTC)
        return session.take_leases(customers, self.holder, now, now + LEASE_TTL)

    def release(self, customers: list[str]) -> None:
        try:
            with self.store.session() as session:
                session.release_leases(customers, self.holder)
        except Exception:  # the lease expires on its own; the original error is what the caller must see
            log.warning("could not release the leases of %d customer(s); they expire in %s", len(customers), LEASE_TTL, exc_info=True)


def call_key(call: TemporalCall) -> tuple[str, ...]:
    """What makes two planned calls the same call: the enrollment, and for a signal the event's message id."""
    if isinstance(call, StartCall):
        return ("start", call.start.enrollment_id)
    if isinstance(call, CohortStartCall):
        return ("start", call.start.cohort_id)
    if isinstance(call, EndCall):
        return ("end", call.enrollment_id)
    return ("signal", call.enrollment_id, call.event.message_id)


def _warn_of_orphans(made: dict[tuple[str, ...], bool], plan: Plan) -> None:
    """Log workflows that were started but that the commit no longer wants: only a writer skipping the customer's lock causes that."""
    wanted = {call_key(call) for call in plan.calls}
    for key in made:
        if key[0] == "start" and key not in wanted:
            log.warning("enrollment %s was started but its customer changed before it was recorded: it runs unindexed", key[1])
