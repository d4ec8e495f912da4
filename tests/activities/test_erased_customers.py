"""A send of a customer being erased, or erased moments ago (an activity of an ended workflow still running), sends nothing
and leaves no row of theirs; nor does a journey's update bring their profile back."""

from __future__ import annotations

from datetime import UTC, datetime

from activities.delivery_gate import ERASED
from activities.journey_activities import JourneyActivities
from orchestrator import ir
from orchestrator.runtime.contracts import ProgressFact, ProgressRequest, SendRequest, UpdateRequest
from orchestrator.store import Store
from orchestrator.store.schema import deliveries, profiles
from tests.store.support import count_rows

NOW = datetime.now(UTC)


def send(store: Store, customer_id: str) -> tuple[str, str | None]:
    request = SendRequest(
        enrollment_id=f"promo-{customer_id}-1", journey_id="promo", version="v1", visit=1, customer_id=customer_id,
        step=ir.SendStep(id="hello", channel="email", next="end", subject="Hi", body="Sale today", category="transactional"),
        settings=ir.Settings(), event=None, now=NOW.isoformat(),
    )  # fmt: skip
    result = JourneyActivities(store).send_message(request)
    return result.status, result.reason


def test_no_send_while_the_customer_is_being_erased_nor_just_after(store: Store) -> None:
    with store.session() as session:
        session.identify("ann", {"email": "ann@example.com"}, NOW)
    with store.session(lock_customer="ann") as session:
        erasure = session.begin_erasure("ann", "test", NOW)
    assert send(store, "ann") == ("suppressed", ERASED)  # the tombstone: the profile is still there, the gate refuses
    with store.session(lock_customer="ann") as session:
        session.erase_customer_rows(erasure, "ann", NOW)
    assert send(store, "ann") == ("suppressed", ERASED)  # a late activity of an ended workflow
    assert count_rows(store, deliveries) == 0

    update = UpdateRequest("promo-ann-1", "promo", "v1", "tag", "ann", {"plan": "pro"}, None, [], None, NOW.isoformat(), 1)
    JourneyActivities(store).update_profile(update)
    assert count_rows(store, profiles) == 0


def test_other_customers_are_sent_to(store: Store) -> None:
    with store.session() as session:
        session.identify("bob", {"email": "bob@example.com"}, NOW)
        session.begin_erasure("ann", "test", NOW)
    assert send(store, "bob") == ("sent", None)


def test_an_erasure_takes_the_customers_journey_facts_and_a_late_report_brings_none_back(store: Store) -> None:
    with store.session() as session:
        for who in ("ann", "bob"):
            session.identify(who, {"email": f"{who}@example.com"}, NOW)
    assert send(store, "ann") == send(store, "bob") == ("sent", None)  # a `message` fact each
    with store.session(lock_customer="ann") as session:
        session.erase_customer_rows(session.begin_erasure("ann", "test", NOW), "ann", NOW)
    late = ProgressRequest("promo-ann-1", "ann", "promo", "v1", [ProgressFact("rested", "hello", NOW.isoformat(), visit=1)])
    JourneyActivities(store).record_progress(late)  # an enrollment's report that was on its way
    with store.read() as session:
        assert session.facts_for("ann") == []
        assert [fact.fact_key for fact in session.facts_for("bob")] == ["message:hello:1:sent"]
