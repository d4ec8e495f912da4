"""What moving an enrollment onto a newer journey version writes: its index row's version, and the `moved` fact.

Both in one transaction, under the customer's lock (as an enrollment's end is: a router may be
delivering the customer's event by the index row right now), so the index and the counts never
disagree on which version the enrollment runs. Idempotent: a retried activity finds the row moved
already and the fact recorded (same key), and writes nothing again.
"""

from __future__ import annotations

from datetime import UTC, datetime

from activities.current_customer import current_request
from orchestrator.runtime.contracts import MovedRequest
from orchestrator.store import JourneyFact, Store
from orchestrator.store.values import fact_key


def record_move(store: Store, request: MovedRequest) -> None:
    """Write the move `request` describes (the workflow continues as new on the new version right after)."""
    request = current_request(store, request)
    with store.session(lock_customer=request.customer_id) as session:
        session.move_enrollment(request.enrollment_id, request.from_version, request.version)
        if session.erased_recently(request.customer_id, datetime.now(UTC)):
            return  # the erasure deleted the customer's facts: a late write must not bring one back
        moved = JourneyFact(
            kind="moved",
            journey_id=request.journey_id,
            version=request.version,
            enrollment_id=request.enrollment_id,
            customer_id=request.customer_id,
            fact_key=fact_key("moved", request.step, None, request.version),
            occurred_at=datetime.fromisoformat(request.at),
            step_id=request.step,
            name=request.from_version,
            detail=request.from_step,
        )
        session.record_facts([moved])
