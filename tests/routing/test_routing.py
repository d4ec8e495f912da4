"""The Router against a real SQLite store and a fake Temporal gateway: what is planned, when, and what rolls back."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Table, func, select
from sqlalchemy.engine import make_url

from orchestrator.routing.calls import CallRejected, IdentifyCall, SignalCall, StartCall, TemporalCall, TemporalUnavailable, TrackCall
from orchestrator.routing.lease import LEASE_TTL
from orchestrator.routing.router import Router
from orchestrator.store import ProfileFieldError, Store
from orchestrator.store.identities import anonymous_customer_id
from orchestrator.store.schema import customer_locks, enrollments, events, journey_facts, profiles
from tests.keys import CUSTOMER_KEYS, HASH_SECRET
from tests.routing.support import CART, NOW, VIP, compiled


class FakeGateway:
    """Confirms every call; signals to `ended` enrollments find nothing. Optionally fails, or inspects the store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.calls: list[TemporalCall] = []
        self.ended: set[str] = set()
        self.fail = False
        self.committed_events_seen: list[int] = []

    def execute(self, calls: Sequence[TemporalCall]) -> list[bool]:
        self.committed_events_seen.append(count(self.store, events))
        if self.fail:
            raise TemporalUnavailable("down")
        self.calls.extend(calls)
        return [not (isinstance(c, SignalCall) and c.enrollment_id in self.ended) for c in calls]


def count(store: Store, table: Table) -> int:
    """Committed rows, read outside the router's transaction.

    SQLite: by a plain connection (the store's own begins IMMEDIATE and would wait for the writer).
    """
    if store.dialect == "sqlite":
        database = make_url(store.url).database
        assert database is not None
        with closing(sqlite3.connect(database)) as connection:
            return int(connection.execute(f"SELECT count(*) FROM {table.name}").fetchone()[0])
    with store.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated store with the two journeys deployed, on SQLite and on PostgreSQL (row locks per customer)."""
    url = f"sqlite:///{tmp_path / 'journey.db'}" if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))
    store = Store(url)
    store.migrate()
    with store.session() as session:
        session.deploy(compiled(CART), NOW)
        session.deploy(compiled(VIP), NOW)
    yield store
    store.dispose()


@pytest.fixture
def gateway(store: Store) -> FakeGateway:
    return FakeGateway(store)


@pytest.fixture
def router(store: Store, gateway: FakeGateway) -> Router:
    return Router(store, gateway, hash_secret=HASH_SECRET)


def track(customer: str, event: str, message_id: str, **properties: object) -> TrackCall:
    return TrackCall(customer, event, dict(properties), message_id, NOW, NOW)


def identify(customer: str, message_id: str, **traits: object) -> IdentifyCall:
    return IdentifyCall(customer, dict(traits), message_id, NOW, NOW)


def test_a_triggering_event_starts_an_enrollment_and_a_later_one_signals_it(router: Router, gateway: FakeGateway) -> None:
    router.identify(identify("c1", "i1", country="US"))
    started = router.track(track("c1", "checkout_started", "t1", cart_value=50))
    assert started.enrolled == [CUSTOMER_KEYS.enrollment_id("cart", "c1", 1)]
    signalled = router.track(track("c1", "email_opened", "t2"))
    assert signalled.signalled == started.enrolled and signalled.enrolled == []
    assert [type(c) for c in gateway.calls] == [StartCall, SignalCall]


def test_an_enrollment_enters_with_one_entered_fact_at_its_entry_and_none_when_temporal_fails(
    router: Router, gateway: FakeGateway, store: Store
) -> None:
    router.identify(identify("c1", "i1", country="US"))
    gateway.fail = True
    with pytest.raises(TemporalUnavailable):
        router.track(track("c1", "checkout_started", "t0", cart_value=50))
    assert count(store, journey_facts) == 0
    gateway.fail = False
    started = router.track(track("c1", "checkout_started", "t1", cart_value=50))
    router.track(track("c1", "checkout_started", "t1", cart_value=50))  # the same call again: a duplicate
    with store.read() as session:
        (fact,) = session.facts_for("c1")
    assert (fact.kind, fact.fact_key, fact.journey_id, fact.enrollment_id, fact.occurred_at) == (
        "entered", "entered", "cart", started.enrolled[0], NOW
    )  # fmt: skip


def test_temporal_is_called_before_the_event_is_committed(router: Router, gateway: FakeGateway, store: Store) -> None:
    router.identify(identify("c1", "i1", country="US"))
    router.track(track("c1", "checkout_started", "t1", cart_value=50))
    assert gateway.committed_events_seen == [1]  # the identify only: the track was not committed yet
    assert count(store, events) == 2


def test_when_temporal_fails_nothing_is_recorded(router: Router, gateway: FakeGateway, store: Store) -> None:
    router.identify(identify("c1", "i1", country="US"))
    gateway.fail = True
    with pytest.raises(TemporalUnavailable):
        router.track(track("c1", "checkout_started", "t1", cart_value=50))
    assert count(store, events) == 1 and count(store, enrollments) == 0


def test_events_no_journey_listens_to_are_only_recorded(router: Router, gateway: FakeGateway, store: Store) -> None:
    outcomes = router.apply([track("c1", "page_viewed", "p1"), track("c2", "page_viewed", "p2"), track("c1", "page_viewed", "p1")])
    assert [o.duplicate for o in outcomes] == [False, False, True]
    assert gateway.committed_events_seen == [] and count(store, events) == 2 and count(store, profiles) == 0


def test_a_visitors_events_reach_the_customer_they_merged_into_quiet_or_routed_alone_or_in_a_batch(
    router: Router, gateway: FakeGateway, store: Store
) -> None:
    visitor = anonymous_customer_id("v1")
    router.apply([track(visitor, "page_viewed", "p1")])
    router.apply([IdentifyCall("c1", {}, "login", NOW, NOW, anonymous_id=visitor)])
    router.apply([track(visitor, "page_viewed", "p2")])  # quiet only: who the visitor is, read where it is recorded
    router.apply([track(visitor, "page_viewed", "p3"), track(visitor, "checkout_started", "t3", cart_value=50)])  # quiet and routed
    with store.read() as session:
        assert {e.message_id for e in session.events_for("c1")} == {"p1", "login", "p2", "p3", "t3"}
        assert session.events_for(visitor) == []
    assert gateway.calls == []  # c1 is not in the US: the checkout enrolls no one


def test_a_refused_trait_in_a_batch_applies_nothing_and_calls_no_one(router: Router, gateway: FakeGateway, store: Store) -> None:
    calls = [
        identify("c1", "i1", country="US"),
        track("c1", "checkout_started", "t1", cart_value=50),
        track("c9", "page_viewed", "p1"),
        identify("c2", "i2", email="nope"),
    ]
    with pytest.raises(CallRejected) as rejected:
        router.apply(calls)
    assert rejected.value.index == 3 and rejected.value.error.field == "email"
    assert gateway.committed_events_seen == [] and count(store, events) == 0 and count(store, profiles) == 0


def test_a_single_identify_raises_the_profile_error_itself(router: Router) -> None:
    with pytest.raises(ProfileFieldError, match="timezone"):
        router.identify(identify("c1", "i1", timezone="Nowhere/Else"))


def test_a_batch_is_routed_in_order_and_one_customers_calls_stay_in_order(router: Router, gateway: FakeGateway) -> None:
    outcomes = router.apply(
        [
            track("c1", "checkout_started", "t1", cart_value=50),  # not yet in the audience
            identify("c1", "i1", country="US"),
            identify("c2", "i2", country="US"),
            track("c2", "checkout_started", "t2", cart_value=50),
            track("c1", "checkout_started", "t3", cart_value=50),
            track("c1", "order_completed", "t4"),
            identify("c3", "i3", spend=5000),
        ]
    )
    assert [len(o.enrolled) for o in outcomes] == [0, 0, 0, 1, 1, 0, 1]
    assert outcomes[5].signalled == outcomes[4].enrolled
    assert [(type(c).__name__, c.customer_id) for c in gateway.calls] == [
        ("StartCall", "c2"),
        ("StartCall", "c1"),
        ("SignalCall", "c1"),
        ("StartCall", "c3"),
    ]
    assert len(gateway.committed_events_seen) == 1  # one transaction, one round of Temporal calls


def test_an_ended_enrollment_is_not_reported_as_signalled(router: Router, gateway: FakeGateway) -> None:
    router.identify(identify("c1", "i1", country="US"))
    (enrolled,) = router.track(track("c1", "checkout_started", "t1", cart_value=50)).enrolled
    gateway.ended.add(enrolled)
    assert router.track(track("c1", "email_opened", "t2")).signalled == []


def test_entry_rules_never_twice_at_once_and_never_again(router: Router, store: Store) -> None:
    router.identify(identify("c1", "i1", country="US"))
    (first,) = router.track(track("c1", "checkout_started", "t1", cart_value=50)).enrolled
    assert router.track(track("c1", "checkout_started", "t2", cart_value=50)).enrolled == []  # still running
    with store.session() as session:
        session.finish_enrollment(first, "completed", None, NOW + timedelta(hours=1))
    assert router.track(track("c1", "checkout_started", "t3", cart_value=50)).enrolled == []  # re_entry: never


def test_a_segment_journey_enrolls_when_the_profile_starts_to_match(router: Router) -> None:
    assert router.identify(identify("c1", "i1", spend=10)).enrolled == []
    assert len(router.identify(identify("c1", "i2", spend=2000)).enrolled) == 1
    assert router.identify(identify("c1", "i3", spend=3000)).enrolled == []  # still matching: not a new entry


def test_running_enrollments_of_a_deactivated_journey_still_get_their_events(router: Router, store: Store) -> None:
    router.identify(identify("c1", "i1", country="US"))
    (enrolled,) = router.track(track("c1", "checkout_started", "t1", cart_value=50)).enrolled
    with store.session() as session:
        session.deactivate("cart")
    router.refresh_catalog()
    assert [j.id for j in router.catalog.active] == ["vip"]
    assert "email_opened" in router.catalog.snapshot.listened
    assert router.track(track("c1", "email_opened", "t2")).signalled == [enrolled]
    assert router.track(track("c1", "checkout_started", "t3", cart_value=50)).enrolled == []


def test_the_catalog_sees_journeys_deployed_after_it_was_loaded(router: Router, store: Store) -> None:
    assert "trial_started" not in router.catalog.snapshot.listened
    text = CART.replace("id: cart", "id: trial").replace("checkout_started", "trial_started")
    with store.session() as session:
        session.deploy(compiled(text), NOW)
    router.refresh_catalog()
    assert "trial_started" in router.catalog.snapshot.listened


def test_enroll_with_a_message_id_enrolls_once(router: Router, gateway: FakeGateway) -> None:
    router.identify(identify("c1", "i1", country="US"))
    journey = next(j for j in router.catalog.active if j.id == "vip")
    first = router.enroll(journey, "c1", NOW, message_id="broadcast:run-1:c1")
    again = router.enroll(journey, "c1", NOW, message_id="broadcast:run-1:c1")
    assert len(first.enrolled) == 1 and again.duplicate and again.enrolled == []
    assert router.enroll(journey, "nobody", NOW).enrolled == []


def test_concurrent_batches_over_the_same_customers_neither_deadlock_nor_enroll_twice(router: Router, gateway: FakeGateway) -> None:
    customers = [f"c{i}" for i in range(6)]
    router.apply([identify(c, f"i-{c}", country="US") for c in customers])

    def one_batch(n: int) -> int:
        order = customers if n % 2 else list(reversed(customers))  # opposite orders: locks are still taken sorted
        calls = [track(c, "checkout_started", f"t-{n}-{c}", cart_value=50) for c in order]
        return sum(len(o.enrolled) for o in router.apply(calls))

    with ThreadPoolExecutor(8) as pool:
        enrolled = sum(pool.map(one_batch, range(16)))
    assert enrolled == len(customers)  # each customer once: "never twice at once", under concurrency
    assert sorted(c.customer_id for c in gateway.calls if isinstance(c, StartCall)) == customers


# --- leases: one customer's calls in order, other customers' calls not held up -----


class HeldGateway(FakeGateway):
    """Holds the calls of `held_customer` until `release` is set, as a slow Temporal would."""

    def __init__(self, store: Store, held_customer: str) -> None:
        super().__init__(store)
        self.held_customer = held_customer
        self.holding = threading.Event()
        self.release = threading.Event()

    def execute(self, calls: Sequence[TemporalCall]) -> list[bool]:
        if any(c.customer_id == self.held_customer for c in calls):
            self.holding.set()
            assert self.release.wait(10), "the test never released the held call"
        return super().execute(calls)


def identified(router: Router, *customers: str) -> None:
    router.apply([identify(c, f"i-{c}", country="US") for c in customers])


def test_another_customers_call_is_applied_while_temporal_answers_a_slow_one(store: Store) -> None:
    gateway = HeldGateway(store, held_customer="slow")
    router = Router(store, gateway, hash_secret=HASH_SECRET)
    identified(router, "slow", "fast")
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(router.track, track("slow", "checkout_started", "t-slow", cart_value=50))
        assert gateway.holding.wait(10)
        fast = router.track(track("fast", "checkout_started", "t-fast", cart_value=50))  # would wait on a held database lock
        assert fast.enrolled and not slow.done()
        gateway.release.set()
        assert slow.result(10).enrolled
    assert [c.customer_id for c in gateway.calls] == ["fast", "slow"]


def test_the_same_customers_next_call_waits_for_the_one_in_flight(store: Store) -> None:
    gateway = HeldGateway(store, held_customer="c1")
    router = Router(store, gateway, hash_secret=HASH_SECRET)
    identified(router, "c1")
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(router.track, track("c1", "checkout_started", "t1", cart_value=50))
        assert gateway.holding.wait(10)
        second = pool.submit(router.track, track("c1", "email_opened", "t2"))
        assert not second.done()
        gateway.release.set()
        started, signalled = first.result(10), second.result(10)
    assert signalled.signalled == started.enrolled  # the second call saw the enrollment the first one made
    assert [type(c) for c in gateway.calls] == [StartCall, SignalCall]


def lease_of(store: Store, customer: str) -> tuple[str | None, datetime | None]:
    lease = select(customer_locks.c.holder, customer_locks.c.held_until).where(customer_locks.c.customer_id == customer)
    with store.engine.connect() as connection:
        row = connection.execute(lease).first()
    return (row.holder, row.held_until) if row else (None, None)


def test_a_live_lease_of_another_process_holds_the_call_until_it_is_released(store: Store, router: Router, gateway: FakeGateway) -> None:
    identified(router, "c1")
    now = datetime.now(UTC)
    with store.session() as session:
        assert session.take_leases(["c1"], "other-process", now, now + LEASE_TTL)
    with ThreadPoolExecutor(1) as pool:
        call = pool.submit(router.track, track("c1", "checkout_started", "t1", cart_value=50))
        threading.Event().wait(0.3)  # long enough to have been applied, were the lease ignored
        assert not call.done() and gateway.calls == []
        with store.session() as session:
            session.release_leases(["c1"], "other-process")
        assert call.result(10).enrolled
    assert lease_of(store, "c1")[0] is None


def test_an_expired_lease_of_a_dead_process_is_taken_over(store: Store, router: Router) -> None:
    identified(router, "c1")
    long_ago = datetime.now(UTC) - 2 * LEASE_TTL
    with store.session() as session:
        assert session.take_leases(["c1"], "dead-process", long_ago, long_ago + LEASE_TTL)
    assert router.track(track("c1", "checkout_started", "t1", cart_value=50)).enrolled
    assert lease_of(store, "c1")[0] is None


def test_a_call_temporal_refused_releases_its_lease(store: Store, router: Router, gateway: FakeGateway) -> None:
    identified(router, "c1")
    gateway.fail = True
    with pytest.raises(TemporalUnavailable):
        router.track(track("c1", "checkout_started", "t1", cart_value=50))
    assert lease_of(store, "c1")[0] is None
    gateway.fail = False
    assert router.track(track("c1", "checkout_started", "t1", cart_value=50)).enrolled  # the retry, at once


class MovingGateway(FakeGateway):
    """While Temporal answers, moves c1 to the US through a session that skips the customer's lock.

    Every writer of the store that can change a routing decision takes that lock, which waits for
    the router's lease; this stands in for one that does not (an operator's script, say).
    """

    def execute(self, calls: Sequence[TemporalCall]) -> list[bool]:
        with self.store.session() as session:
            session.update_traits("c1", {"country": "US"}, [], NOW)
        return super().execute(calls)


def test_a_call_whose_plan_changes_while_temporal_answers_makes_the_new_calls_before_committing(store: Store) -> None:
    gateway = MovingGateway(store)
    router = Router(store, gateway, hash_secret=HASH_SECRET)
    router.identify(identify("c1", "i0", country="CA"))
    # Planned, the VIP identify starts an enrollment and the checkout enrolls no one (c1 is not in
    # the US). At commit c1 is in the US, so the checkout enrolls them in the cart journey: that
    # start is made too before anything is committed.
    outcomes = router.apply([identify("c1", "i1", spend=5000), track("c1", "checkout_started", "t1", cart_value=50)])
    starts = [c.start.enrollment_id for c in gateway.calls if isinstance(c, StartCall)]
    assert starts == [CUSTOMER_KEYS.enrollment_id("vip", "c1", 1), CUSTOMER_KEYS.enrollment_id("cart", "c1", 1)]
    assert outcomes[1].enrolled == [CUSTOMER_KEYS.enrollment_id("cart", "c1", 1)]
    with store.session() as session:
        assert sorted(e.enrollment_id for e in session.enrollments_for("c1")) == sorted(starts)


def test_a_customer_locked_session_waits_for_the_routers_lease(store: Store) -> None:
    gateway = HeldGateway(store, held_customer="c1")
    router = Router(store, gateway, hash_secret=HASH_SECRET)
    identified(router, "c1")
    with ThreadPoolExecutor(2) as pool:
        call = pool.submit(router.track, track("c1", "checkout_started", "t1", cart_value=50))
        assert gateway.holding.wait(10)

        def finish_first_enrollment() -> bool:
            # What the workflow's last activity does; it must see the index row the router commits.
            with store.session(lock_customer="c1") as session:
                running = [e.enrollment_id for e in session.enrollments_for("c1", running_only=True)]
                for enrollment in running:
                    session.finish_enrollment(enrollment, "completed", None, NOW)
                return bool(running)

        finisher = pool.submit(finish_first_enrollment)
        threading.Event().wait(0.3)
        assert not finisher.done()
        gateway.release.set()
        assert call.result(10).enrolled and finisher.result(10)


def test_an_enrollment_started_under_an_unkeyed_id_is_still_reached_while_new_ones_get_keyed_ids(
    router: Router, gateway: FakeGateway, store: Store
) -> None:
    """Enrollments started before JOURNEY_HASH_SECRET carry `sha256(id)[:20]` in their ids: routing reads ids from the
    index and never recomputes one, so they keep getting their events; new enrollments are named by the keyed hash."""
    unkeyed = f"cart-{hashlib.sha256(b'c1').hexdigest()[:20]}-1"
    with store.session() as session:
        session.identify("c1", {"country": "US"}, NOW)
        session.start_enrollment(unkeyed, "cart", compiled(CART).version, "c1", NOW)
    assert router.track(track("c1", "email_opened", "t1")).signalled == [unkeyed]
    entered = router.identify(identify("c1", "i1", spend=1000))
    assert entered.enrolled == [CUSTOMER_KEYS.enrollment_id("vip", "c1", 1)]
    assert entered.enrolled != [f"vip-{hashlib.sha256(b'c1').hexdigest()[:20]}-1"]
    (start,) = [call for call in gateway.calls if isinstance(call, StartCall)]
    assert start.customer_key == CUSTOMER_KEYS.key("c1")  # what CustomerId shows
