"""Problems noted at an enrollment's steps: what went wrong without stopping it, for the API and `journey simulate`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, bindparam, select

from orchestrator.store.queries import Queries
from orchestrator.store.schema import enrollment_problems, utc
from orchestrator.store.values import EnrollmentProblem


class ProblemQueries(Queries):
    """The `enrollment_problems` table, keyed by (enrollment, step, visit, field) as the ledger keys sends (plus the field)."""

    def note_problem(self, problem: EnrollmentProblem) -> bool:
        """Note `problem`; True if it is new. A retried activity noting the same key again changes nothing: the first note stands."""
        row = {
            "enrollment_id": problem.enrollment_id,
            "step_id": problem.step_id,
            "visit": problem.visit,
            "field": problem.field,
            "customer_id": problem.customer_id,
            "journey_id": problem.journey_id,
            "problem": problem.problem,
            "occurred_at": utc(problem.occurred_at, "occurred_at"),
        }
        return self._insert_new(self._insert(enrollment_problems).values(row).on_conflict_do_nothing())

    def problems_for(self, customer_id: str) -> list[EnrollmentProblem]:
        """The problems noted at the customer's enrollments, oldest first."""
        return [_problem(row) for row in self._conn.execute(_PROBLEMS, {"problem_customer_id": customer_id})]


def _problem(row: Row[Any]) -> EnrollmentProblem:
    return EnrollmentProblem(
        enrollment_id=row.enrollment_id,
        step_id=row.step_id,
        visit=row.visit,
        field=row.field,
        customer_id=row.customer_id,
        journey_id=row.journey_id,
        problem=row.problem,
        occurred_at=row.occurred_at,
    )


_PROBLEMS = (
    select(enrollment_problems)
    .where(enrollment_problems.c.customer_id == bindparam("problem_customer_id"))
    .order_by(
        enrollment_problems.c.occurred_at,
        enrollment_problems.c.enrollment_id,
        enrollment_problems.c.visit,
        enrollment_problems.c.step_id,
        enrollment_problems.c.field,
    )
)
