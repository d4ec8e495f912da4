"""Problems at an enrollment's steps that do not stop it, noted where a user looks.

The journey goes on past each of these (docs/language.md), and they used to be said
only in the worker's log: an `update` whose computed value fails, or whose value the
profile refuses; a webhook that is not made (a template that fails, a URL that is not
http(s)) or that failed through every retry; a wait whose `until_date` gives no date.
Each is noted in the store (`enrollment_problems`) and shown with the enrollment by
`GET /v1/customers/{id}/journeys` and by `journey simulate`. Sends are not among them:
a send that sent nothing has its reason in the delivery ledger already.

A note is keyed by enrollment, step, visit and field, as the delivery ledger keys sends:
an activity that is retried, or a retry that fails the same way, notes nothing new. It holds
the expression or template as the journey has it and the error, never a rendered value,
which may carry the customer's data or a secret.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from orchestrator.runtime.contracts import UpdateRequest, ValuesRequest, WakeRequest, WebhookRequest
from orchestrator.store import EnrollmentProblem, Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepVisit:
    """Where a problem happened: one visit of one step of one enrollment, at the journey's clock."""

    enrollment_id: str
    customer_id: str
    journey_id: str
    step_id: str
    visit: int
    at: datetime

    @classmethod
    def of(cls, request: ValuesRequest | UpdateRequest | WakeRequest | WebhookRequest) -> StepVisit | None:
        """The visit a request names; None for a request from a workflow that predates the fields (nothing is noted).

        At the journey's clock when the workflow asked (`now`); the worker's clock for a request without it.
        """
        if request.enrollment_id is None or request.journey_id is None or request.step_id is None or request.visit is None:
            return None
        at = datetime.fromisoformat(request.now) if request.now else datetime.now(UTC)
        return cls(request.enrollment_id, request.customer_id, request.journey_id, request.step_id, request.visit, at)


class ProblemNotes:
    """Notes problems of enrollments' steps in one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def note(self, where: StepVisit | None, field: str, problem: str) -> None:
        """Note `problem` with `field` at `where`, once (`where` None: a request too old to say where, only logged).

        The log line names the ids and the field, not the problem: its error may quote the customer's data.
        """
        if where is None:
            log.info("a step's %s was not done (a request from an older workflow: not noted)", field)
            return
        log.info("enrollment %s step %s visit %d: %s not done, noted as a problem", where.enrollment_id, where.step_id, where.visit, field)
        note = EnrollmentProblem(
            where.enrollment_id, where.step_id, where.visit, field, where.customer_id, where.journey_id, problem, where.at
        )
        with self.store.session() as session:
            session.note_problem(note)


def not_computed(expression: str, error: Exception) -> str:
    """An `update`'s `compute` expression failed: the trait is left as it was."""
    return f"not written: {expression!r} failed: {_said(error)}"


def refused(message: str) -> str:
    """The profile refused an `update`'s value (orchestrator/language/traits.py says why): the trait is left as it was."""
    return f"not written: {message}"


def no_date(expression: str, error: Exception) -> str:
    """A wait's `until_date` gave no date: the wait was skipped, as docs/language.md says."""
    return f"no date from {expression!r}: {_said(error)}; the wait was skipped"


def _said(error: Exception) -> str:
    return str(error) or type(error).__name__
