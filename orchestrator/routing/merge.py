"""Routing calls that name an anonymous visitor: which customer they reach, and the merge a call with both ids makes.

A call with only an `anonymousId` is about the anonymous profile `anonymous:<anonymousId>`; once that profile
has merged into a known customer, it is about that customer (`as_current`, read before the leases are
taken, checked under them: a merge committed in between makes the router plan again, `Rerouted`). A track
that is only recorded takes no lease: who its visitor is, is read in the transaction that records it.

A call with both ids (identify, track, alias) merges the anonymous profile into the known customer
before anything else of the call is applied, under both customers' leases, in the router's transaction
(orchestrator/store/identities.py says what moves). The enrollments the merge ended (the younger of two in
one journey, now `merged` in the index) are ended in Temporal by the plan's `EndCall`s, before the commit:
as for every routed call, a failure leaves nothing recorded, and the retried call makes the same merge
and the same calls (ending an ended workflow is a no-op). A merge the same call made before, or another call
with the same two ids, changes nothing; an anonymous id already merged into another customer refuses the call
(`MergeRefused`, the API's 409), and nothing of a batch holding it is applied.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from orchestrator.routing.calls import Call, EndCall, MergeRefused, RoutingOutcome, TemporalCall
from orchestrator.store import StoreSession
from orchestrator.store.identities import MergeConflict, is_anonymous, merge_identity

MAX_REROUTES = 3
"""How many times the router reads who the calls' visitors are before refusing the call (retry later): merges are final, so
a second reading is always the last one needed."""


class Rerouted(RuntimeError):
    """An anonymous id of the calls merged after they were read and before their leases were taken: plan them again."""


def leased_customers(calls: Sequence[Call]) -> list[str]:
    """The customers whose leases applying `calls` takes: those they are about, and the anonymous profiles they merge."""
    customers = {call.customer_id for call in calls}
    customers.update(call.anonymous_id for call in calls if call.anonymous_id is not None)
    return sorted(customers)


def check_current(session: StoreSession, call: Call) -> None:
    """Under the call's leases: raise Rerouted if its anonymous customer merged since `as_current` read it."""
    if is_anonymous(call.customer_id) and session.current_customer(call.customer_id) != call.customer_id:
        raise Rerouted(call.message_id)


def merge_for_call(
    session: StoreSession, index: int, call: Call, outcome: RoutingOutcome, plan: Callable[[TemporalCall, RoutingOutcome], None]
) -> None:
    """Merge the anonymous profile `call` names into its customer (module docstring); raises MergeRefused on a conflict."""
    assert call.anonymous_id is not None
    try:
        merged = merge_identity(session, call.anonymous_id, call.customer_id, call.message_id, call.received_at)
    except MergeConflict as conflict:
        raise MergeRefused(index, conflict) from conflict
    for enrollment in merged.ended:
        plan(EndCall(call.customer_id, enrollment.enrollment_id, enrollment.cohort_id), outcome)
