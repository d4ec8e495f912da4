"""Why an enrollment did what it did, in the store: the reason it ended, and the problems noted at its steps."""

from __future__ import annotations

from datetime import timedelta

from alembic import command
from alembic.config import Config
from sqlalchemy import insert

from orchestrator.store import MIGRATIONS, EnrollmentProblem, Store
from orchestrator.store.schema import enrollment_problems, enrollments
from tests.store.support import AT, count_rows, enrollment_row

LATER = AT + timedelta(days=1)


REFUSED = "not written: 'Mars/Olympus' is not an IANA time zone"


def problem(
    field: str = "timezone", text: str = REFUSED, *, enrollment_id: str = "e1", customer_id: str = "c1", visit: int = 1, minutes: int = 0
) -> EnrollmentProblem:
    """A problem at step `remember` of `enrollment_id`, `minutes` after AT."""
    return EnrollmentProblem(enrollment_id, "remember", visit, field, customer_id, "cart", text, AT + timedelta(minutes=minutes))


def test_an_ended_enrollment_keeps_why_and_the_first_finish_wins(store: Store) -> None:
    with store.session() as session:
        session.start_enrollment("e1", "cart", "v1", "c1", AT)
        session.start_enrollment("e2", "cart", "v1", "c2", AT)
    with store.session() as session:
        session.finish_enrollment("e1", "exited", "opened", LATER, "exit_on: unsubscribed")
        session.finish_enrollment("e2", "completed", "thanks", LATER)
    with store.session() as session:
        session.finish_enrollment("e1", "converted", "opened", LATER, "goal: order_completed")
    with store.read() as session:
        ended, unknown = session.enrollment("e1"), session.enrollment("nobody")
    assert ended == enrollment_row(store, "e1") and unknown is None
    assert ended is not None and (ended.status, ended.end_reason) == ("exited", "exit_on: unsubscribed")
    completed = enrollment_row(store, "e2")
    assert completed is not None and completed.end_reason is None


def test_a_problem_is_noted_once_per_enrollment_step_visit_and_field(store: Store) -> None:
    with store.session() as session:
        assert session.note_problem(problem()) is True
    with store.session() as session:  # a retried activity notes it again: the first note stands
        assert session.note_problem(problem(text="noted again")) is False
        assert session.note_problem(problem(field="email", minutes=1)) is True
        assert session.note_problem(problem(visit=2, minutes=2)) is True
        assert session.note_problem(problem(enrollment_id="e9", customer_id="c9")) is True
    assert count_rows(store, enrollment_problems) == 4
    with store.read() as session:
        noted = session.problems_for("c1")
        assert session.problems_for("nobody") == []
    assert [(p.field, p.visit, p.problem) for p in noted] == [("timezone", 1, REFUSED), ("email", 1, REFUSED), ("timezone", 2, REFUSED)]
    assert noted[0] == problem()


def test_rows_finished_before_the_index_kept_reasons_have_none(database_url: str) -> None:
    store = Store(database_url)
    try:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with store.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0006")
            row = {"enrollment_id": "e-old", "journey_id": "cart", "version": "v1", "customer_id": "c1", "status": "exited"}
            connection.execute(insert(enrollments).values(row | {"current_step": "leave", "entered_at": AT, "ended_at": LATER}))
        store.migrate()
        with store.read() as session:
            (old,) = session.enrollments_for("c1")
        assert (old.status, old.current_step, old.end_reason) == ("exited", "leave", None)
    finally:
        store.dispose()
