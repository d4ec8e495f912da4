"""Two versions of a cart journey and helpers for the tests that move enrollments between them.

v2 doubles the first wait, rewords the first message and replaces `last_call` (1 day) with
`final_call` (3 days): enrollments waiting at `nap` can move, those at `last_call` cannot
unless a mapping names `final_call` for it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio.client import WorkflowHandle

from orchestrator import ir
from orchestrator.runtime.contracts import STATUS_QUERY, EnrollmentStatus, MoveRequest
from orchestrator.store import JourneyFact, Store
from tests.runtime.support import START, Harness, journey

V1_TEXT = """
    id: cart
    name: Cart
    trigger: {event: checkout_started}
    exit_on: [bought]
    steps:
      - id: nap
        wait: 1d
      - id: remind
        send: {channel: email, subject: "v1: your cart", body: "x"}
      - id: last_call
        wait: 1d
      - id: nudge
        send: {channel: email, subject: "v1: last call", body: "x"}
    """
V2_TEXT = """
    id: cart
    name: Cart
    trigger: {event: checkout_started}
    exit_on: [bought]
    steps:
      - id: nap
        wait: 2d
      - id: remind
        send: {channel: email, subject: "v2: your cart is waiting", body: "x"}
      - id: final_call
        wait: 3d
      - id: nudge
        send: {channel: email, subject: "v2: last call", body: "x"}
    """
V1, V2 = journey(V1_TEXT), journey(V2_TEXT)
QUIET = 'exit_on: [bought]\n    settings: {quiet_hours: {from: "21:00", to: "08:00"}}'


def move(to: ir.Journey, **mapping: str) -> MoveRequest:
    return MoveRequest(to.to_dict(), to.version, dict(mapping))


async def waiting_at(handle: WorkflowHandle[Any, Any], step: str) -> None:
    """Once the enrollment is blocked at `step` (the query answers from the last completed task)."""
    for _ in range(200):
        status: EnrollmentStatus = await handle.query(STATUS_QUERY, result_type=EnrollmentStatus)
        if status.step == step:
            return
    raise AssertionError(f"never reached {step}")


async def enrolled(h: Harness, customer: str, flow: ir.Journey = V1, start: datetime = START) -> WorkflowHandle[Any, Any]:
    """`customer` enrolled in `flow` as routing does it: the index row and the `entered` fact, then the workflow."""
    h.identify(customer, {"email": f"{customer}@example.com"})
    enrollment_id = f"cart-{customer}"
    with h.store.session() as session:
        session.start_enrollment(enrollment_id, flow.id, flow.version, customer, start)
        session.record_facts([JourneyFact("entered", flow.id, flow.version, enrollment_id, customer, "entered", start)])
    return await h.enroll(flow, customer, enrollment_id=enrollment_id, start=start)


def index_version(store: Store, enrollment_id: str) -> str:
    with store.read() as session:
        row = session.enrollment(enrollment_id)
    assert row is not None
    return row.version


