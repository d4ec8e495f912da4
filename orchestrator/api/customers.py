"""GET /v1/customers/{id}/messages, /deliveries and /journeys: what a customer received, what was held back, where they are.

Ids may contain `/` or `@` (send them URL-encoded). Running enrollments are asked
where they are through the workflow's `status` query, after the store's
transaction has ended (a slow Temporal must not hold the database), with a
short timeout: an enrollment that does not answer shows `current_step: null`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from orchestrator import ir
from orchestrator.api.answers import CustomerDeliveries, CustomerJourneys, CustomerMessages, DeliveryView, EnrollmentView, MessageView
from orchestrator.api.errors import ApiError
from orchestrator.api.state import ApiRuntime, runtime
from orchestrator.store import Enrollment, StoreSession

router = APIRouter(prefix="/v1/customers", tags=["customers"])

Runtime = Annotated[ApiRuntime, Depends(runtime)]

_UNKNOWN = {404: {"description": "No such customer (no identify, and no event any journey listens to)."}}


@router.get("/{customer_id:path}/messages", response_model=CustomerMessages, responses=_UNKNOWN)
def messages(customer_id: str, api: Runtime) -> CustomerMessages:
    """Every message the customer received (the sandbox provider's outbox), oldest first."""
    with api.store.read() as session:
        _require_known(session, customer_id)
        sent = session.messages_for(customer_id)
    return CustomerMessages(customer_id=customer_id, messages=[MessageView.of(m) for m in sent])


@router.get("/{customer_id:path}/deliveries", response_model=CustomerDeliveries, responses=_UNKNOWN)
def deliveries(customer_id: str, api: Runtime) -> CustomerDeliveries:
    """The delivery log: every send a journey attempted, sent or not, with the reason it was suppressed or deferred."""
    with api.store.read() as session:
        _require_known(session, customer_id)
        rows = session.deliveries_for(customer_id)
    return CustomerDeliveries(customer_id=customer_id, deliveries=[DeliveryView.of(d) for d in rows])


@router.get("/{customer_id:path}/journeys", response_model=CustomerJourneys, responses=_UNKNOWN)
def journeys(customer_id: str, api: Runtime) -> CustomerJourneys:
    """The customer's enrollments, oldest first, with the step each running one is at."""
    with api.store.read() as session:
        _require_known(session, customer_id)
        enrollments = session.enrollments_for(customer_id)
        exits = {e.enrollment_id: _exit_reason(api, session, e) for e in enrollments if e.status == "exited"}
    running = [e.enrollment_id for e in enrollments if e.status == "running"]
    answers = api.gateway.query_status(running, api.settings.status_query_timeout)
    views = []
    for enrollment in enrollments:
        if enrollment.status == "running":
            status = answers.get(enrollment.enrollment_id)
            step = status.step if status is not None else None
        else:
            step = enrollment.current_step
        views.append(EnrollmentView.of(enrollment, step, exits.get(enrollment.enrollment_id)))
    return CustomerJourneys(customer_id=customer_id, journeys=views)


def _exit_reason(api: ApiRuntime, session: StoreSession, enrollment: Enrollment) -> str | None:
    """The `reason` of the exit step an enrollment ended at, read from the version it ran (the index keeps the step)."""
    journey = api.router.catalog.version(session, enrollment.journey_id, enrollment.version)
    step = next((s for s in journey.steps if s.id == enrollment.current_step), None) if journey else None
    return step.reason if isinstance(step, ir.ExitStep) else None


def _require_known(session: StoreSession, customer_id: str) -> None:
    if session.get_profile(customer_id) is None:
        raise ApiError.not_found(f"no customer {customer_id!r}: identify them, or track an event a journey listens to")
