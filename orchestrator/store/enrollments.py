"""The enrollment index: one row per enrollment (a customer in a journey version), running or how it ended.

Temporal runs the enrollment; this index is what routing reads (re-entry rules, who is running
where) and what the API answers about a customer, without asking Temporal.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from orchestrator.store.events import EVENT_BATCH
from orchestrator.store.fact_summary import Summary
from orchestrator.store.queries import Queries
from orchestrator.store.schema import enrollment_summaries, enrollments, utc
from orchestrator.store.values import FINISHED_STATUSES, Enrollment, EnrollmentEnd, RunningEnrollment

_FINISH_ENROLLMENT = (
    update(enrollments)
    .where((enrollments.c.enrollment_id == bindparam("end_id")) & (enrollments.c.status == "running"))
    .values(
        status=bindparam("end_status"), current_step=bindparam("end_step"), ended_at=bindparam("end_at"), end_reason=bindparam("end_reason")
    )
)


class EnrollmentQueries(Queries):
    """The `enrollments` table: started by routing, finished by the workflow's last activity."""

    def start_enrollment(
        self, enrollment_id: str, journey_id: str, version: str, customer_id: str, entered_at: datetime, cohort_id: str | None = None
    ) -> None:
        """Index a new running enrollment (in the broadcast cohort `cohort_id`, if one runs it); starting one that is
        already indexed changes nothing."""
        started = Enrollment(enrollment_id, journey_id, version, customer_id, "running", None, entered_at, None, None, cohort_id)
        self.start_enrollments([started])

    def start_enrollments(self, started: Sequence[Enrollment]) -> None:
        """Index new running enrollments in one statement per EVENT_BATCH rows (a broadcast page's members); those
        already indexed are left as they are."""
        state = {"status": "running", "current_step": None, "ended_at": None, "end_reason": None}
        rows = [
            state
            | {"enrollment_id": e.enrollment_id, "journey_id": e.journey_id, "version": e.version, "customer_id": e.customer_id}
            | {"entered_at": utc(e.entered_at, "entered_at"), "cohort_id": e.cohort_id}
            for e in started
        ]
        for start in range(0, len(rows), EVENT_BATCH):
            self._conn.execute(_START_ENROLLMENT[self._dialect], rows[start : start + EVENT_BATCH])

    def enrollments_for(self, customer_id: str, *, running_only: bool = False) -> list[Enrollment]:
        """The customer's enrollments, oldest first."""
        query = _RUNNING_ENROLLMENTS if running_only else _ENROLLMENTS
        return [_enrollment(row) for row in self._conn.execute(query, {"enrollment_customer_id": customer_id})]

    def enrollments_of(self, customer_ids: Collection[str]) -> dict[str, list[Enrollment]]:
        """Each of `customer_ids`' enrollments, oldest first, as `enrollments_for` reads them, in one read per EVENT_BATCH
        customers (a broadcast page); a customer with none is absent."""
        wanted = list(dict.fromkeys(customer_ids))
        found: dict[str, list[Enrollment]] = {}
        for start in range(0, len(wanted), EVENT_BATCH):
            query = (
                select(enrollments)
                .where(enrollments.c.customer_id.in_(wanted[start : start + EVENT_BATCH]))
                .order_by(enrollments.c.entered_at, enrollments.c.enrollment_id)
            )
            for row in self._conn.execute(query):
                found.setdefault(row.customer_id, []).append(_enrollment(row))
        return found

    def enrollment(self, enrollment_id: str) -> Enrollment | None:
        """The index row of one enrollment, if routing indexed it."""
        row = self._conn.execute(select(enrollments).where(enrollments.c.enrollment_id == enrollment_id)).one_or_none()
        return _enrollment(row) if row is not None else None

    def enrollments_by_id(self, enrollment_ids: Collection[str]) -> dict[str, Enrollment]:
        """The index rows of `enrollment_ids` that routing indexed, by id: one read for a batch (a webhook's events)."""
        wanted = list(dict.fromkeys(enrollment_ids))
        found: dict[str, Enrollment] = {}
        for start in range(0, len(wanted), EVENT_BATCH):
            query = select(enrollments).where(enrollments.c.enrollment_id.in_(wanted[start : start + EVENT_BATCH]))
            found.update((row.enrollment_id, _enrollment(row)) for row in self._conn.execute(query))
        return found

    def finish_enrollment(self, enrollment_id: str, status: str, step: str | None, at: datetime, reason: str | None = None) -> None:
        """Mark a running enrollment finished, and why (`reason`). Idempotent: the first finish wins, repeats change nothing."""
        self.finish_enrollments([EnrollmentEnd(enrollment_id, status, step, at, reason)])

    def finish_enrollments(self, ends: Sequence[EnrollmentEnd]) -> None:
        """`finish_enrollment` for each of `ends`, in one statement run for them all (a cohort's ends)."""
        for end in ends:
            if end.status not in FINISHED_STATUSES:
                raise ValueError(f"{end.status!r} is not a finished enrollment status; use one of {sorted(FINISHED_STATUSES)}")
        rows = [
            {"end_id": e.enrollment_id, "end_status": e.status, "end_step": e.step, "end_at": utc(e.at, "at"), "end_reason": e.reason}
            for e in ends
        ]
        if rows:
            self._conn.execute(_FINISH_ENROLLMENT, rows)

    def move_enrollment(self, enrollment_id: str, from_version: str, to_version: str) -> bool:
        """Put a running enrollment of `from_version` on `to_version` (`journey deploy --migrate`): routing then reads the
        events it listens to from that version. False when no running row of `from_version` was there: moved already
        (a retried activity), ended, or never indexed."""
        row = enrollments.c
        running_there = (row.enrollment_id == enrollment_id) & (row.status == "running") & (row.version == from_version)
        moved = self._conn.execute(update(enrollments).where(running_there).values(version=to_version))
        return moved.rowcount > 0

    def running_enrollments(self, journey_id: str, versions: Collection[str]) -> list[RunningEnrollment]:
        """The running enrollments of `versions` of the journey and the step each rests at, by enrollment id: the version
        from the index (a move changes it at once), the step from the facts folded so far (fold first)."""
        row, summary = enrollments.c, enrollment_summaries.c
        query = (
            select(row.enrollment_id, row.customer_id, row.version, row.cohort_id, summary.journey_id, summary.entered_at, summary.state)
            .outerjoin(enrollment_summaries, summary.enrollment_id == row.enrollment_id)
            .where(row.journey_id == journey_id, row.status == "running", row.version.in_(list(versions)))
            .order_by(row.enrollment_id)
        )
        return [
            RunningEnrollment(
                found.enrollment_id,
                found.customer_id,
                found.version,
                Summary.of_row(found).resting_step if found.state is not None else None,
                found.cohort_id,
            )
            for found in self._conn.execute(query)
        ]


def _enrollment(row: Row[Any]) -> Enrollment:
    return Enrollment(
        enrollment_id=row.enrollment_id,
        journey_id=row.journey_id,
        version=row.version,
        customer_id=row.customer_id,
        status=row.status,
        current_step=row.current_step,
        entered_at=row.entered_at,
        ended_at=row.ended_at,
        end_reason=row.end_reason,
        cohort_id=row.cohort_id,
    )


_ENROLLMENTS = (
    select(enrollments)
    .where(enrollments.c.customer_id == bindparam("enrollment_customer_id"))
    .order_by(enrollments.c.entered_at, enrollments.c.enrollment_id)
)
_RUNNING_ENROLLMENTS = _ENROLLMENTS.where(enrollments.c.status == "running")
_START_ENROLLMENT = {
    "sqlite": sqlite.insert(enrollments).on_conflict_do_nothing(),
    "postgresql": postgresql.insert(enrollments).on_conflict_do_nothing(),
}
