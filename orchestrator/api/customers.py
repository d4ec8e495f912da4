"""GET /v1/customers/{id}/messages, /deliveries, /journeys and /export: what a customer received, what was held back,
where they are, and everything the store holds about them.

Ids may contain `/` or `@` (send them URL-encoded). Running enrollments are asked
where they are through the workflow's `status` query (a broadcast cohort's member
through its cohort's `member_status`), after the store's transaction has ended (a
slow Temporal must not hold the database), with a short timeout: an enrollment
that does not answer shows `current_step: null`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from orchestrator.api.answers import (
    CustomerDeliveries,
    CustomerJourneys,
    CustomerMessages,
    DeliveryView,
    EnrollmentView,
    MergeView,
    MessageView,
    ProblemView,
)
from orchestrator.api.errors import ApiError
from orchestrator.api.state import ApiRuntime, runtime
from orchestrator.runtime.end_reasons import derived_end_reason
from orchestrator.store import Enrollment, StoreSession
from orchestrator.store.export import read_export
from orchestrator.store.identities import is_anonymous

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
    """The customer's enrollments, oldest first, with the step each running one is at, why each finished one ended,
    and the problems noted at their steps."""
    with api.store.read() as session:
        _require_known(session, customer_id)
        enrollments = session.enrollments_for(customer_id)
        reasons = {e.enrollment_id: _end_reason(api, session, e) for e in enrollments if e.status != "running"}
        merges = [MergeView.of(merge) for merge in session.merges_into(customer_id)]
        problems: dict[str, list[ProblemView]] = {}
        for problem in session.problems_for(customer_id):
            problems.setdefault(problem.enrollment_id, []).append(ProblemView.of(problem))
    running = [e for e in enrollments if e.status == "running"]
    answers = api.gateway.query_status(running, api.settings.status_query_timeout)
    views = []
    for enrollment in enrollments:
        if enrollment.status == "running":
            status = answers.get(enrollment.enrollment_id)
            step = status.step if status is not None else None
        else:
            step = enrollment.current_step
        views.append(
            EnrollmentView.of(enrollment, step, reasons.get(enrollment.enrollment_id), problems.get(enrollment.enrollment_id, []))
        )
    return CustomerJourneys(customer_id=customer_id, journeys=views, merged=merges)


@router.get("/{customer_id:path}/export", response_model=dict[str, Any], responses=_UNKNOWN)
def export(customer_id: str, api: Runtime) -> JSONResponse:
    """Everything the store holds about the customer, as one JSON document (docs/privacy.md, "Export"): the profile,
    consent records, events, enrollments with the steps they passed, deliveries with what providers reported, and
    the messages as sent."""
    with api.store.read() as session:
        found = read_export(session, customer_id)
    if found is None:
        raise ApiError.not_found(f"no customer {customer_id!r}: the store holds nothing about them")
    return JSONResponse(found.document(datetime.now(UTC)))


def _end_reason(api: ApiRuntime, session: StoreSession, enrollment: Enrollment) -> str | None:
    """Why a finished enrollment ended: as the index keeps it, or (a row finished before it kept reasons, or by an
    older workflow's request) what the version it ran tells."""
    if enrollment.end_reason is not None or enrollment.status == "completed":
        return enrollment.end_reason
    journey = api.router.catalog.version(session, enrollment.journey_id, enrollment.version)
    return derived_end_reason(journey, enrollment.status, enrollment.current_step) if journey is not None else None


def _require_known(session: StoreSession, customer_id: str) -> None:
    merge = session.merge_of(customer_id) if is_anonymous(customer_id) else None
    if merge is not None:
        raise ApiError.not_found(
            f"the anonymous profile {customer_id!r} merged into the customer {merge.customer_id!r} at {merge.merged_at.isoformat()}: "
            "everything it held is theirs now; look them up"
        )
    if session.get_profile(customer_id) is None:
        raise ApiError.not_found(f"no customer {customer_id!r}: identify them, or track an event a journey listens to")
