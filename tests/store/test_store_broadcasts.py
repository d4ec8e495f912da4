"""Broadcast runs, their cohorts and the progress counted from them, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from orchestrator.store import Enrollment, JourneyFact, Store
from tests.store.support import AT

RUN = "broadcast-sale-2026-03-02T09:30:00Z"


def _member(number: int, cohort: str | None) -> Enrollment:
    return Enrollment(f"sale-k{number}-1", "sale", "v1", f"c{number}", "running", None, AT, None, None, cohort)


def _message(enrollment: Enrollment, status: str, detail: str | None = None, visit: int = 1) -> JourneyFact:
    key = f"message:announce:{visit}:{status}"
    return JourneyFact(
        "message", "sale", "v1", enrollment.enrollment_id, enrollment.customer_id, key, AT, step_id="announce", visit=visit, name="email",
        status=status, detail=detail,
    )  # fmt: skip


def _enroll_cohort(store: Store, cohort: str, page: int, members: list[Enrollment]) -> None:
    with store.session() as session:
        session.start_enrollments(members)
        session.record_cohort(cohort, RUN, "sale", "v1", page, len(members), AT)


def test_a_runs_progress_counts_its_members_messages_by_status_and_reason(store: Store) -> None:
    with store.session() as session:
        for number in range(6):
            session.identify(f"c{number}", {}, AT)
        run = session.start_broadcast_run(RUN, "sale", "v1", AT)
    assert (run.profiles_at_start, run.pages, run.last_customer, run.cancelled_at) == (6, 0, None, None)
    first, second = [_member(n, "cohort-0") for n in range(3)], [_member(n, "cohort-1") for n in range(3, 5)]
    _enroll_cohort(store, "cohort-0", 0, first)
    _enroll_cohort(store, "cohort-1", 1, second)
    alone = _member(5, None)  # the same journey, outside the broadcast: not the run's
    with store.session() as session:
        session.start_enrollments([alone])
        session.broadcast_page_done(RUN, 0, "c2", AT)
        session.record_facts(
            [
                _message(first[0], "held"), _message(first[0], "sent"), _message(first[1], "suppressed", "no consent"),
                _message(first[2], "suppressed", "quiet hours"), _message(second[0], "failed"),
                _message(second[1], "suppressed", "no consent"), _message(alone, "sent"),
            ]
        )  # fmt: skip
        session.finish_enrollment(first[0].enrollment_id, "completed", "announce", AT)

    with store.read() as session:
        progress = session.broadcast_progress(RUN)
    assert progress is not None
    document = progress.document()
    assert {key: document[key] for key in ("state", "cohorts", "enrolled", "sent", "failed", "suppressed", "remaining", "pages")} == {
        "state": "paging", "cohorts": 2, "enrolled": 5, "sent": 1, "failed": 1,
        "suppressed": {"no consent": 2, "quiet hours": 1}, "remaining": 4, "pages": 1,
    }  # fmt: skip
    assert document["profiles_to_read"] == 3  # c3, c4, c5 sort after the cursor


def test_the_paging_cursor_never_moves_back_and_a_cancel_keeps_its_first_time(store: Store) -> None:
    with store.session() as session:
        session.identify("c1", {}, AT)
        session.start_broadcast_run(RUN, "sale", "v1", AT)
        session.broadcast_page_done(RUN, 0, "c1", AT)
        session.broadcast_page_done(RUN, 1, None, AT + timedelta(minutes=1))
        session.broadcast_page_done(RUN, 0, "c1", AT)  # a retried first page, late
        again = session.start_broadcast_run(RUN, "sale", "v2", AT + timedelta(hours=1))  # a retried first page finds the run
    assert (again.version, again.pages, again.last_customer, again.paged_at) == ("v1", 2, "c1", AT + timedelta(minutes=1))
    with store.read() as session:
        progress = session.broadcast_progress(RUN)
    assert progress is not None and progress.state == "finished" and progress.profiles_to_read == 0
    with store.session() as session:
        cancelled = session.cancel_broadcast_run(RUN, AT + timedelta(hours=2))
        repeated = session.cancel_broadcast_run(RUN, AT + timedelta(hours=3))
        assert session.cancel_broadcast_run("no-such-run", AT) is None
    assert cancelled is not None and repeated is not None
    assert cancelled.cancelled_at == repeated.cancelled_at == AT + timedelta(hours=2)


def test_a_journeys_runs_are_listed_newest_first_with_their_cohorts_in_page_order(store: Store) -> None:
    with store.session() as session:
        session.start_broadcast_run("run-old", "sale", "v1", AT)
        session.start_broadcast_run(RUN, "sale", "v1", AT + timedelta(days=7))
        session.start_broadcast_run("run-other", "digest", "v1", AT)
    _enroll_cohort(store, "cohort-b", 1, [_member(2, "cohort-b")])
    _enroll_cohort(store, "cohort-a", 0, [_member(1, "cohort-a")])
    with store.read() as session:
        assert [run.run_key for run in session.broadcast_runs("sale")] == [RUN, "run-old"]
        assert session.cohort_ids(RUN) == ["cohort-a", "cohort-b"]
        assert session.enrollments_of(["c1", "c2", "c9"]) == {"c1": [_member(1, "cohort-a")], "c2": [_member(2, "cohort-b")]}
        assert session.broadcast_progress("no-such-run") is None


def test_erasing_the_customer_a_runs_paging_stopped_at_keeps_their_id_out_of_the_store_and_the_count_to_read(store: Store) -> None:
    with store.session() as session:
        for customer in ("c1", "c2", "c3", "c4"):
            session.identify(customer, {}, AT)
        session.start_broadcast_run(RUN, "sale", "v1", AT)
        session.start_broadcast_run("other-run", "sale", "v1", AT)
        session.broadcast_page_done(RUN, 0, "c2", AT)
        session.broadcast_page_done("other-run", 0, "c1", AT)

    def erase(customer: str) -> list[tuple[str | None, int]]:
        with store.session(lock_customer=customer) as session:
            session.erase_customer_rows(session.begin_erasure(customer, "cli", AT), customer, AT)
        with store.read() as session:
            runs = [session.broadcast_progress(run) for run in (RUN, "other-run")]
        return [(p.run.last_customer, p.profiles_to_read) for p in runs if p is not None]

    assert erase("c2") == [("c1", 2), ("c1", 2)]  # still c3 and c4 to read
    assert erase("c1") == [("", 2), ("", 2)]  # no profile before theirs
