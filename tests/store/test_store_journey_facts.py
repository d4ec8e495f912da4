"""Journey facts in the store: appended once each, read back in commit order, erased with their customer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from orchestrator import ir
from orchestrator.analytics.counts import JourneyCounts
from orchestrator.store import JourneyFact, Store
from orchestrator.store.journey_facts import FactPosition
from orchestrator.store.schema import enrollment_summaries, journey_facts
from tests.store.support import AT, count_rows


def fact(kind: str, key: str, *, enrollment_id: str = "e1", minutes: int = 0, **more: object) -> JourneyFact:
    return JourneyFact(kind, "cart", "v1", enrollment_id, "c1", key, AT + timedelta(minutes=minutes), **more)  # type: ignore[arg-type]


def test_a_fact_recorded_twice_is_kept_once_as_first_written(store: Store) -> None:
    with store.session() as session:
        sent = fact("message", "message:welcome:1:sent", step_id="welcome", visit=1, name="email", status="sent")
        session.record_facts([fact("entered", "entered"), sent])
    with store.session() as session:  # a retried activity, a re-delivered webhook
        again = fact("message", "message:welcome:1:sent", minutes=5, status="failed")
        session.record_facts([again, fact("entered", "entered", enrollment_id="e2")])
    with store.read() as session:
        rows = session._conn.execute(select(journey_facts).order_by(journey_facts.c.id)).all()
    assert [(r.enrollment_id, r.kind, r.status, r.occurred_at) for r in rows] == [
        ("e1", "entered", None, AT),
        ("e1", "message", "sent", AT),
        ("e2", "entered", None, AT),
    ]


def test_an_unknown_kind_is_refused_and_nothing_is_written(store: Store) -> None:
    with pytest.raises(ValueError, match="'opened' is not a journey fact"), store.session() as session:
        session.record_facts([fact("entered", "entered"), fact("opened", "opened")])
    with store.read() as session:
        assert session._conn.execute(select(journey_facts)).all() == []


def _cart() -> ir.Journey:
    return ir.Journey("cart", "cart", "v1", ir.EventTrigger("cart_updated"), ir.Entry(), ir.Settings(), (ir.ExitStep("done"),), "done", ())


def _counts(store: Store) -> JourneyCounts:
    return store.journey_counts([_cart()], first_day=None, last_day=None, now=AT + timedelta(days=30))


def test_a_fact_committed_after_a_later_one_is_read_in_commit_order_and_folded_once(store: Store) -> None:
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serializes writers: ids are handed out in commit order")
    with store.session() as slow:
        slow.record_facts([fact("entered", "entered", enrollment_id="slow")])  # the smaller id, committed last
        with store.session() as quick:
            quick.record_facts([fact("entered", "entered", enrollment_id="quick")])
        with store.session() as reader:
            assert reader.facts_after(FactPosition(), 100) == []  # "quick" waits: "slow" could still precede it
        assert _counts(store).entered == 0
    with store.session() as reader:
        rows = reader.facts_after(FactPosition(), 100)
    assert [row.enrollment_id for row in rows] == ["slow", "quick"]
    assert _counts(store).entered == 2
    assert _counts(store).entered == 2  # folded once: the second report folds nothing again


def test_a_reader_resumes_after_the_last_fact_it_read_and_gets_each_once(store: Store) -> None:
    with store.session() as session:
        session.record_facts([fact("entered", "entered", enrollment_id=f"e{n}") for n in range(5)])
    with store.session() as session:
        first = session.facts_after(FactPosition(), 3)
        position = FactPosition(first[-1].position_xact, first[-1].position_id)
        assert FactPosition.from_cursor(position.cursor) == position
        session.record_facts([fact("entered", "entered", enrollment_id="e5")])
    with store.session() as session:
        rest = session.facts_after(FactPosition.from_cursor(position.cursor), 100)
    assert [row.enrollment_id for row in [*first, *rest]] == [f"e{n}" for n in range(6)]


def test_an_erased_customers_facts_go_and_the_counts_stay(store: Store) -> None:
    with store.session() as session:
        session.deploy(_cart(), AT)
        session.record_facts([fact("entered", "entered"), fact("ended", "ended", step_id="done", status="completed")])
        session.record_facts([JourneyFact("entered", "cart", "v1", "e2", "c2", "entered", AT)])
    with store.session(lock_customer="c1") as session:
        erasure = session.begin_erasure("c1", "test", AT)
        removed = session.erase_customer_rows(erasure, "c1", AT)
    assert removed["journey_facts"] == 2 and removed["enrollment_summaries"] == 1
    assert count_rows(store, journey_facts, customer_id="c1") == 0 and count_rows(store, enrollment_summaries, customer_id="c1") == 0
    with store.session() as session:
        assert [row.customer_id for row in session.facts_after(FactPosition(), 100)] == ["c2"]
    counts = _counts(store)
    assert (counts.entered, counts.completed, counts.customers, counts.waiting) == (2, 1, 2, 1)
