"""A broadcast page through the Router: one transaction of entry decisions, one cohort started, nothing twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from orchestrator.routing import leased_calls
from orchestrator.routing.calls import CohortStartCall, SignalCall, TemporalUnavailable, TrackCall
from orchestrator.routing.lease import CustomerBusy
from orchestrator.routing.router import Router
from orchestrator.runtime.contracts import INTERPRETER_REVISION
from orchestrator.runtime.ids import cohort_id
from orchestrator.store import Store
from orchestrator.store.schema import broadcast_cohorts, enrollments, events, journey_facts
from tests.keys import CUSTOMER_KEYS, HASH_SECRET
from tests.routing.support import NOW, compiled
from tests.routing.test_routing import FakeGateway, count

SALE = """
id: sale
name: Sale
trigger:
  schedule: {at: "2030-01-01T09:00:00", timezone: UTC}
entry: {audience: "customer.country == 'US'", re_entry: always}
steps:
  - id: announce
    send: {channel: email, subject: "Sale", body: "Today only."}
  - id: opened
    wait_for: {event: email_opened, within: 2d}
"""
COUNTRIES = {"ann": "US", "bob": "US", "cho": "KR", "dee": "US"}


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = f"sqlite:///{tmp_path / 'journey.db'}" if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))
    store = Store(url)
    store.migrate()
    with store.session() as session:
        session.deploy(compiled(SALE), NOW)
        for customer, country in COUNTRIES.items():
            session.identify(customer, {"country": country}, NOW)
    yield store
    store.dispose()


@pytest.fixture
def gateway(store: Store) -> FakeGateway:
    return FakeGateway(store)


@pytest.fixture
def router(store: Store, gateway: FakeGateway) -> Router:
    return Router(store, gateway, hash_secret=HASH_SECRET)


def page(router: Router, customers: list[str], run: str = "run-1", number: int = 0) -> list[list[str]]:
    journey = next(j for j in router.catalog.active if j.id == "sale")
    return [outcome.enrolled for outcome in router.enroll_page(journey, customers, NOW, run, number)]


def cohort_starts(gateway: FakeGateway) -> list[CohortStartCall]:
    return [call for call in gateway.calls if isinstance(call, CohortStartCall)]


def test_a_page_enrolls_whom_the_entry_rules_admit_into_one_cohort_indexed_with_it(
    router: Router, gateway: FakeGateway, store: Store
) -> None:
    enrolled = page(router, ["ann", "cho", "nobody", "dee"])

    ann, dee = CUSTOMER_KEYS.enrollment_id("sale", "ann", 1), CUSTOMER_KEYS.enrollment_id("sale", "dee", 1)
    assert enrolled == [[ann], [], [], [dee]]  # cho is not in the audience; nobody has no profile
    (start,) = cohort_starts(gateway)
    cohort = cohort_id("sale", "run-1", 0)
    assert (start.start.cohort_id, start.start.run_key, start.start.revision) == (cohort, "run-1", INTERPRETER_REVISION)
    assert [(m.customer_id, m.enrollment_id, m.trigger) for m in start.start.members] == [("ann", ann, None), ("dee", dee, None)]
    assert start.start.journey["id"] == "sale" and "ann" not in cohort
    with store.read() as session:
        assert [(e.enrollment_id, e.cohort_id, e.status) for e in session.enrollments_for("ann")] == [(ann, cohort, "running")]
        assert [fact.kind for fact in session.facts_for("dee")] == ["entered"]
        assert session.cohort_ids("run-1") == [cohort]
    assert count(store, events) == 3  # an entry decision for each customer with a profile
    with store.engine.connect() as connection:
        assert connection.execute(select(broadcast_cohorts.c.members, broadcast_cohorts.c.page)).one() == (2, 0)


def test_a_retried_page_enrolls_nobody_twice_and_starts_nothing_twice(router: Router, gateway: FakeGateway, store: Store) -> None:
    page(router, ["ann", "bob"])
    journey = next(j for j in router.catalog.active if j.id == "sale")
    retried = router.enroll_page(journey, ["ann", "bob"], NOW, "run-1", 0)
    assert [(o.duplicate, o.enrolled) for o in retried] == [(True, []), (True, [])]
    # The retry asks for the same cohort with the same members: the gateway starts a workflow id once.
    first, again = cohort_starts(gateway)
    assert again.start == first.start
    assert count(store, enrollments) == 2 and count(store, journey_facts) == 2


def test_a_later_run_admits_by_the_re_entry_rule_and_never_twice_at_once(router: Router, gateway: FakeGateway, store: Store) -> None:
    page(router, ["ann", "bob"])
    with store.session() as session:
        session.finish_enrollment(CUSTOMER_KEYS.enrollment_id("sale", "ann", 1), "completed", "opened", NOW + timedelta(days=2))

    again = page(router, ["ann", "bob"], run="run-2")

    assert again == [[CUSTOMER_KEYS.enrollment_id("sale", "ann", 2)], []]  # bob's first enrollment still runs
    assert [start.start.cohort_id for start in cohort_starts(gateway)] == [cohort_id("sale", "run-1", 0), cohort_id("sale", "run-2", 0)]


def test_a_page_nobody_enters_starts_no_cohort_but_records_its_decisions(router: Router, gateway: FakeGateway, store: Store) -> None:
    assert page(router, ["cho"]) == [[]]
    assert gateway.calls == [] and count(store, broadcast_cohorts) == 0
    assert count(store, events) == 1


def test_when_temporal_fails_the_decisions_stay_the_members_events_wait_and_the_retry_starts_the_cohort_recorded(
    router: Router, gateway: FakeGateway, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(leased_calls, "LEASE_WAIT", timedelta(milliseconds=50))
    api = Router(store, FakeGateway(store), hash_secret=HASH_SECRET)  # another process's router: the API's
    gateway.fail = True
    with pytest.raises(TemporalUnavailable):
        page(router, ["ann", "bob"])
    assert (count(store, enrollments), count(store, journey_facts), count(store, broadcast_cohorts)) == (2, 2, 1)
    with pytest.raises(CustomerBusy):  # ann's event waits for the page's leases: her cohort has not started
        api.track(TrackCall("ann", "email_opened", {}, "t1", NOW, NOW))

    with store.session() as session:  # bob leaves the audience and a new US customer sorts into the page meanwhile
        session.identify("bob", {"country": "KR"}, NOW)
        session.identify("bea", {"country": "US"}, NOW)
    gateway.fail = False
    retried = router.enroll_page(next(j for j in router.catalog.active if j.id == "sale"), ["ann", "bea", "bob"], NOW, "run-1", 0)

    ann, bob = CUSTOMER_KEYS.enrollment_id("sale", "ann", 1), CUSTOMER_KEYS.enrollment_id("sale", "bob", 1)
    assert [(o.duplicate, o.enrolled) for o in retried] == [(True, []), (False, []), (True, [])]
    (start,) = cohort_starts(gateway)  # the members as the first attempt recorded them: what the index says runs
    assert (start.start.cohort_id, [(m.customer_id, m.enrollment_id) for m in start.start.members]) == (
        cohort_id("sale", "run-1", 0),
        [("ann", ann), ("bob", bob)],
    )
    assert count(store, enrollments) == 2 and count(store, journey_facts) == 2
    assert api.track(TrackCall("ann", "email_opened", {}, "t2", NOW, NOW)).signalled == [ann]  # the leases are released


def test_an_event_for_a_member_is_signalled_to_its_cohort(router: Router, gateway: FakeGateway) -> None:
    page(router, ["ann"])
    outcome = router.track(TrackCall("ann", "email_opened", {}, "t1", NOW, NOW))
    ann = CUSTOMER_KEYS.enrollment_id("sale", "ann", 1)
    assert outcome.signalled == [ann]
    (signal,) = [call for call in gateway.calls if isinstance(call, SignalCall)]
    assert (signal.enrollment_id, signal.cohort_id, signal.event.name) == (ann, cohort_id("sale", "run-1", 0), "email_opened")


def test_a_page_counts_the_members_it_enrolled_and_its_retry_counts_none(router: Router) -> None:
    def started() -> float:
        return REGISTRY.get_sample_value("journey_enrollments_started_total", {"journey": "sale"}) or 0.0

    before = started()
    ann, dee = CUSTOMER_KEYS.enrollment_id("sale", "ann", 1), CUSTOMER_KEYS.enrollment_id("sale", "dee", 1)
    assert page(router, ["ann", "cho", "dee"]) == [[ann], [], [dee]]  # cho is not in the audience
    assert started() == before + 2
    page(router, ["ann", "cho", "dee"])  # the same page again (a retried activity): it starts its cohort again, Temporal keeps one
    assert started() == before + 2
