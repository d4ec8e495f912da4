"""The journey facts the activities record: what the workflow collected, a message's outcome, an enrollment's end.

Each is written in the transaction of what it records (the ledger mark, the index row's end), so
the fact log and the state it describes never disagree; its `fact_key` (orchestrator/store/values.py)
makes a retried activity record nothing twice (docs/analytics.md, "Facts").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from orchestrator.runtime.contracts import ProgressFact, SendRequest
from orchestrator.store.values import JourneyFact, fact_key

DETAIL_LIMIT = 200
"""Characters of an error summary kept in a fact."""


def progress_facts(
    facts: Sequence[ProgressFact], *, enrollment_id: str, customer_id: str, journey_id: str, version: str
) -> list[JourneyFact]:
    """The steps reached and the rests the workflow collected, as the store records them."""
    return [
        JourneyFact(
            kind=fact.kind,
            journey_id=journey_id,
            version=version,
            enrollment_id=enrollment_id,
            customer_id=customer_id,
            fact_key=fact_key(fact.kind, fact.step, fact.visit),
            occurred_at=datetime.fromisoformat(fact.at),
            step_id=fact.step,
            visit=fact.visit,
            name=fact.name,
        )
        for fact in facts
    ]


def outcome_facts(request: SendRequest, status: str, channel: str, detail: str | None, at: datetime | None = None) -> list[JourneyFact]:
    """What a send records with its outcome: the facts the enrollment handed it, the outcome (`message_fact`), then the
    rest it goes to (SendRequest.facts, .then: revision 4 on). A held send records only that it is held: the enrollment
    reports the rest itself, or hands it to the next try."""
    outcome = message_fact(request, status, channel, detail, at)
    if status == "held":
        return [outcome]
    where = {"enrollment_id": request.enrollment_id, "customer_id": request.customer_id, "journey_id": request.journey_id}
    before = progress_facts(request.facts, **where, version=request.version)
    return [*before, outcome, *progress_facts(request.then, **where, version=request.version)]


def message_fact(request: SendRequest, status: str, channel: str, detail: str | None, at: datetime | None = None) -> JourneyFact:
    """What became of one visit of a send step: sent, suppressed (the gate's reason), failed (`error_summary`), held (why).

    `at`: when it happened on the journey's clock (default: the send's `now`).
    """
    return JourneyFact(
        kind="message",
        journey_id=request.journey_id,
        version=request.version,
        enrollment_id=request.enrollment_id,
        customer_id=request.customer_id,
        fact_key=fact_key("message", request.step.id, request.visit, status),
        occurred_at=at if at is not None else datetime.fromisoformat(request.now),
        step_id=request.step.id,
        visit=request.visit,
        name=channel,
        status=status,
        detail=detail,
    )


def ended_fact(
    *, enrollment_id: str, customer_id: str, journey_id: str, version: str, status: str, step: str | None, reason: str | None, at: datetime
) -> JourneyFact:
    """How and where the enrollment ended, and why."""
    return JourneyFact(
        kind="ended",
        journey_id=journey_id,
        version=version,
        enrollment_id=enrollment_id,
        customer_id=customer_id,
        fact_key=fact_key("ended"),
        occurred_at=at,
        step_id=step,
        status=status,
        detail=reason,
    )


def error_summary(reason: str) -> str:
    """The kind of a failure without its particulars: the text before the first ": ".

    A provider's answer may quote the address it refused ("HTTP 400: The 'To' number +1555... is not
    valid"), and the fact log is kept apart from personal data; the ledger keeps the whole reason.
    """
    return reason.split(": ", 1)[0][:DETAIL_LIMIT]
