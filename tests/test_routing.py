"""The Router against a real SQLite store and a fake Temporal gateway: what is planned, when, and what rolls back."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Table, func, select
from sqlalchemy.engine import make_url

from orchestrator import ir
from orchestrator.compiler import compile_text
from orchestrator.routing import (
    CallRejected,
    IdentifyCall,
    Router,
    SignalCall,
    StartCall,
    TemporalCall,
    TemporalUnavailable,
    TrackCall,
    enrollment_id,
)
from orchestrator.store import ProfileFieldError, Store
from orchestrator.store.schema import enrollments, events, profiles

JOURNEYS = Path(__file__).parents[1] / "journeys"
NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)

CART = """
id: cart
name: Cart
trigger: {event: checkout_started, where: "event.cart_value >= 20"}
entry: {audience: "customer.country == 'US'", re_entry: never}
goal: {event: order_completed}
steps:
  - id: opened
    wait_for: {event: email_opened, within: 2d}
"""

VIP = """
id: vip
name: VIP
trigger: {segment: "customer.spend | default(0) >= 1000"}
entry: {re_entry: always}
steps:
  - id: hello
    send: {channel: email, subject: "Hi", body: "You are a VIP"}
"""


def compiled(text: str) -> ir.Journey:
    result = compile_text(text, file="inline.yaml", directory=JOURNEYS)
    assert result.journey is not None, result.diagnostics
    return result.journey


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
    return Router(store, gateway)


def track(customer: str, event: str, message_id: str, **properties: object) -> TrackCall:
    return TrackCall(customer, event, dict(properties), message_id, NOW, NOW)


def identify(customer: str, message_id: str, **traits: object) -> IdentifyCall:
    return IdentifyCall(customer, dict(traits), message_id, NOW, NOW)


def test_a_triggering_event_starts_an_enrollment_and_a_later_one_signals_it(router: Router, gateway: FakeGateway) -> None:
    router.identify(identify("c1", "i1", country="US"))
    started = router.track(track("c1", "checkout_started", "t1", cart_value=50))
    assert started.enrolled == [enrollment_id("cart", "c1", 1)]
    signalled = router.track(track("c1", "email_opened", "t2"))
    assert signalled.signalled == started.enrolled and signalled.enrolled == []
    assert [type(c) for c in gateway.calls] == [StartCall, SignalCall]


def test_temporal_is_called_inside_the_transaction_before_it_commits(router: Router, gateway: FakeGateway, store: Store) -> None:
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
    assert router.catalog.listens_to("email_opened")
    assert router.track(track("c1", "email_opened", "t2")).signalled == [enrolled]
    assert router.track(track("c1", "checkout_started", "t3", cart_value=50)).enrolled == []


def test_the_catalog_sees_journeys_deployed_after_it_was_loaded(router: Router, store: Store) -> None:
    assert not router.catalog.listens_to("trial_started")
    text = CART.replace("id: cart", "id: trial").replace("checkout_started", "trial_started")
    with store.session() as session:
        session.deploy(compiled(text), NOW)
    router.refresh_catalog()
    assert router.catalog.listens_to("trial_started")


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
