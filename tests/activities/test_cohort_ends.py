"""A cohort's ends and reports: each member's rows as the single activities write them, a whole batch in one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime

import pytest

from activities.cohort_activities import CohortActivities
from activities.journey_activities import JourneyActivities
from orchestrator.runtime.cohort_contracts import FinishBatch, ProgressBatch
from orchestrator.runtime.contracts import FinishRequest, ProgressFact, ProgressRequest
from orchestrator.store import Store, StoreSession

AT = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
CUSTOMERS = [f"c-{n}" for n in range(5)]


def enrolled(store: Store) -> None:
    with store.session() as session:
        for customer in CUSTOMERS:
            session.identify(customer, {"email": f"{customer}@example.com"}, AT)
            session.start_enrollment(f"e-{customer}", "sale", "v1", customer, AT)


def counting_sessions(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many write transactions the store opens from now on (one entry each)."""
    opened: list[int] = []
    session = store.session

    def counted(*args: object, **kwargs: object) -> AbstractContextManager[StoreSession]:
        opened.append(1)
        return session(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "session", counted)
    return opened


def ends() -> Iterator[FinishRequest]:
    for customer in CUSTOMERS:
        reached = [ProgressFact("reached", "announce", AT.isoformat())]
        yield FinishRequest(f"e-{customer}", "completed", "announce", AT.isoformat(), customer, None, "sale", "v1", reached)


def test_a_cohorts_ends_are_each_members_end_written_in_one_transaction(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    enrolled(store)
    opened = counting_sessions(store, monkeypatch)

    CohortActivities(JourneyActivities(store)).finish_enrollments(FinishBatch(list(ends())))

    assert len(opened) == 1
    with store.read() as session:
        for customer in CUSTOMERS:
            (row,) = session.enrollments_for(customer)
            assert (row.status, row.current_step, row.ended_at) == ("completed", "announce", AT)
            assert [(f.kind, f.step_id) for f in session.facts_for(customer)] == [("reached", "announce"), ("ended", "announce")]


def test_a_cohorts_reports_are_written_in_one_transaction_and_skip_a_customer_being_erased(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    enrolled(store)
    with store.session() as session:
        session.begin_erasure("c-0", "test", datetime.now(UTC))
    opened = counting_sessions(store, monkeypatch)
    rested = [ProgressFact("rested", "nap", AT.isoformat(), visit=1)]
    reports = [ProgressRequest(f"e-{customer}", customer, "sale", "v1", rested) for customer in CUSTOMERS]

    CohortActivities(JourneyActivities(store)).record_progress_batch(ProgressBatch(reports))

    assert len(opened) == 1
    with store.read() as session:
        facts = {c: [(f.kind, f.step_id) for f in session.facts_for(c)] for c in CUSTOMERS}
    assert facts == {"c-0": [], **{c: [("rested", "nap")] for c in CUSTOMERS[1:]}}
