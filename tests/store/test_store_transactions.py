"""Sessions are transactions: all or nothing, and serialized per customer when asked."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

import orchestrator.store as store_module
from orchestrator import ir
from orchestrator.store import OutboxMessage, Store
from orchestrator.store.schema import metadata
from orchestrator.store.values import DeliveryKey
from tests.store.support import AT, count_rows

ROUNDS = 50


class Boom(Exception):
    pass


class Waited(Exception):
    """Raised instead of sleeping: the session paused for a router's lease."""


def test_a_session_that_raises_writes_nothing(store: Store, cart_v1: ir.Journey) -> None:
    with pytest.raises(Boom), store.session(lock_customer="c1") as session:
        session.identify("c1", {"plan": "pro"}, AT)
        session.record_event("m1", "c1", "checkout_started", {}, AT, AT)
        session.deploy(cart_v1, AT)
        session.start_enrollment("e1", cart_v1.id, cart_v1.version, "c1", AT)
        session.claim_delivery(DeliveryKey("e1", "reminder", 1), "email", AT)
        session.add_outbox_message(OutboxMessage("c1", "e1", cart_v1.id, cart_v1.version, "reminder", "email", "a@b.co", None, "hi", AT))
        raise Boom
    assert {name: count_rows(store, table) for name, table in metadata.tables.items()} == dict.fromkeys(metadata.tables, 0)


def test_a_session_that_raises_leaves_earlier_sessions_alone(store: Store) -> None:
    with store.session() as session:
        _, kept = session.identify("c1", {"plan": "pro"}, AT)
    with pytest.raises(Boom), store.session(lock_customer="c1") as session:
        session.identify("c1", {"plan": "team", "email": "ada@example.com"}, AT)
        raise Boom
    with store.session() as session:
        assert session.get_profile("c1") == kept


def _increment_counter(store: Store, start: threading.Barrier) -> None:
    start.wait()
    for _ in range(ROUNDS):
        with store.session(lock_customer="c1") as session:
            profile = session.get_profile("c1")
            count = profile.traits.get("counter", 0) if profile else 0
            time.sleep(0.001)  # widen the read-modify-write window: without the lock, updates get lost
            session.identify("c1", {"counter": count + 1}, AT)


def test_lock_customer_serializes_read_modify_write_sessions(store: Store) -> None:
    start = threading.Barrier(2)
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = [pool.submit(_increment_counter, store, start) for _ in range(2)]
        for run in runs:
            run.result(timeout=60)
    with store.session() as session:
        profile = session.get_profile("c1")
    assert profile is not None and profile.traits["counter"] == 2 * ROUNDS


def test_lock_customer_returns_the_lease_of_a_holder(store: Store) -> None:
    until = AT + timedelta(seconds=60)
    with store.session() as session:
        assert session.lock_customer("c1") is None  # no lock row at all
        assert session.take_leases(["c1"], "router-a", AT, until)
        assert session.lock_customer("c1") == until
    with store.session() as session:
        assert session.lock_customer("c1") == until  # the caller decides whether it has expired
        session.release_leases(["c1"], "router-a")
        assert session.lock_customer("c1") is None  # the row stays, without a holder


def test_a_customer_locked_session_waits_for_a_live_lease_only(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime.now(UTC)
    with store.session() as session:
        assert session.take_leases(["dead"], "dead-process", now - timedelta(hours=1), now - timedelta(minutes=59))
        assert session.take_leases(["busy"], "router-a", now, now + timedelta(minutes=1))

    def pause(seconds: float) -> None:
        raise Waited

    monkeypatch.setattr(store_module.time, "sleep", pause)
    with store.session(lock_customer="dead") as session:  # an expired lease: a dead router's
        session.identify("dead", {"plan": "pro"}, AT)
    with pytest.raises(Waited), store.session(lock_customer="busy") as session:
        session.identify("busy", {"plan": "pro"}, AT)
    with store.read() as session:
        assert session.get_profile("busy") is None


def test_delivery_outcome_is_the_claimed_rows_status_and_reason(store: Store) -> None:
    with store.session() as session:
        assert session.delivery_outcome(DeliveryKey("e1", "s1", 1)) is None
        session.claim_delivery(DeliveryKey("e1", "s1", 1), "email", AT, customer_id="c1", journey_id="j", category="marketing")
        assert session.delivery_outcome(DeliveryKey("e1", "s1", 1)) == ("intent", None)
        session.mark_delivery(DeliveryKey("e1", "s1", 1), "suppressed", AT, reason="no consent")
    with store.read() as session:
        assert session.delivery_outcome(DeliveryKey("e1", "s1", 1)) == ("suppressed", "no consent")
