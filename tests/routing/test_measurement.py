"""Goals and survey answers recorded as journey facts when a track call is routed, on SQLite and PostgreSQL.

What a report later counts (docs/analytics.md): a conversion per enrollment whose goal event falls in its
window, running or ended; an answer per metric for the customer's latest enrollment entered before it.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy import select

from orchestrator.routing.calls import TrackCall
from orchestrator.routing.router import Router
from orchestrator.store import Store
from orchestrator.store.prepared import Prepared
from orchestrator.store.schema import journey_facts
from tests.keys import HASH_SECRET
from tests.routing.support import NOW, compiled
from tests.routing.test_routing import FakeGateway

SHOP = """
id: shop
name: After delivery
trigger: {event: order_delivered}
entry: {re_entry: always}
goal: {event: order_completed, within: 7d, where: "event.total > 0", value: "event.revenue"}
metrics:
  - {id: nps, kind: nps, event: survey_answered, value: "event.score", where: "event.survey == 'nps'"}
  - {id: csat, kind: csat, event: survey_answered, value: "event.score", where: "event.survey == 'csat'"}
  - {id: effort, kind: ces, event: effort_rated, value: "event.effort / event.scale * 7"}
steps:
  - id: rest
    wait_for: {event: email_opened, within: 30d}
"""

REPEAT = """
id: repeat
name: Second order
trigger: {event: order_completed}
entry: {re_entry: always}
goal: {event: order_completed}
steps:
  - id: thanks
    send: {channel: email, subject: "Thanks", body: "Thank you for your order"}
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = f"sqlite:///{tmp_path / 'journey.db'}" if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))
    store = Store(url)
    store.migrate()
    with store.session() as session:
        session.deploy(compiled(SHOP), NOW)
    yield store
    store.dispose()


@pytest.fixture
def router(store: Store) -> Router:
    return Router(store, FakeGateway(store), hash_secret=HASH_SECRET)


def track(event: str, message_id: str, at: datetime, customer: str = "c1", **properties: Any) -> TrackCall:
    """A track call timestamped `at`, received a minute later (a client's clock and the server's differ)."""
    return TrackCall(customer, event, properties, message_id, at, at + timedelta(minutes=1))


def enroll(router: Router, message_id: str, at: datetime, customer: str = "c1") -> str:
    (enrollment,) = router.track(track("order_delivered", message_id, at, customer)).enrolled
    return enrollment


def facts(store: Store, kind: str) -> list[dict[str, Any]]:
    with store.engine.connect() as connection:
        rows = connection.execute(select(journey_facts).where(journey_facts.c.kind == kind).order_by(journey_facts.c.id))
        return [dict(row._mapping) for row in rows]


def summary(store: Store, kind: str) -> list[tuple[Any, ...]]:
    return [(f["enrollment_id"], f["fact_key"], f["name"], f["value"], f["status"], f["occurred_at"]) for f in facts(store, kind)]


# --- goals ----------------------------------------------------------------------------------------------------


def test_a_goal_in_the_window_is_recorded_once_with_its_value_and_the_events_time(router: Router, store: Store) -> None:
    enrollment = enroll(router, "d1", NOW)
    router.track(track("order_completed", "o1", NOW + timedelta(days=2), total=1, revenue=30))
    router.track(track("order_completed", "o2", NOW + timedelta(days=3), total=1, revenue=50))
    assert summary(store, "goal") == [(enrollment, "goal", "order_completed", 30.0, None, NOW + timedelta(days=2))]
    (fact,) = facts(store, "goal")
    assert (fact["journey_id"], fact["customer_id"]) == ("shop", "c1")


def test_a_goal_after_the_window_or_before_entry_is_no_conversion(router: Router, store: Store) -> None:
    first = enroll(router, "d1", NOW)
    router.track(track("order_completed", "early", NOW - timedelta(hours=1), total=1))
    assert facts(store, "goal") == []
    with store.session() as session:
        session.finish_enrollment(first, "completed", "rest", NOW + timedelta(days=1))
    second = enroll(router, "d2", NOW + timedelta(days=5))
    router.track(track("order_completed", "late", NOW + timedelta(days=7, minutes=2), total=1))  # past the first's week
    assert [f["enrollment_id"] for f in facts(store, "goal")] == [second]


def test_the_window_closes_exactly_at_entry_plus_within(router: Router, store: Store) -> None:
    enroll(router, "d1", NOW)
    entered = NOW + timedelta(minutes=1)  # received a minute after its timestamp
    router.track(track("order_completed", "edge", entered + timedelta(days=7), total=1))
    assert [f["occurred_at"] for f in facts(store, "goal")] == [entered + timedelta(days=7)]


def test_a_goal_whose_where_is_false_waits_for_one_that_holds(router: Router, store: Store) -> None:
    enroll(router, "d1", NOW)
    router.track(track("order_completed", "o1", NOW + timedelta(days=1), total=0, revenue=10))
    assert facts(store, "goal") == []
    router.track(track("order_completed", "o2", NOW + timedelta(days=2), total=5, revenue=20))
    assert [f["value"] for f in facts(store, "goal")] == [20.0]


def test_a_value_that_is_no_number_still_counts_the_conversion_without_one(router: Router, store: Store) -> None:
    enroll(router, "d1", NOW)
    router.track(track("order_completed", "o1", NOW + timedelta(days=1), total=5, revenue="a lot"))
    assert [(f["name"], f["value"]) for f in facts(store, "goal")] == [("order_completed", None)]


def test_an_ended_enrollment_still_gets_its_goal_and_each_enrollment_in_its_window_its_own(router: Router, store: Store) -> None:
    first = enroll(router, "d1", NOW)
    with store.session() as session:
        session.finish_enrollment(first, "completed", "rest", NOW + timedelta(days=1))
    second = enroll(router, "d2", NOW + timedelta(days=2))
    router.track(track("order_completed", "o1", NOW + timedelta(days=3), total=1, revenue=9))
    assert [(f["enrollment_id"], f["value"]) for f in facts(store, "goal")] == [(first, 9.0), (second, 9.0)]


def test_the_event_that_enrolls_is_not_its_own_goal_the_next_one_is(router: Router, store: Store) -> None:
    with store.session() as session:
        session.deploy(compiled(REPEAT), NOW)
    router.refresh_catalog()
    # Received as sent: the enrollment enters at the order's own timestamp, which is in its window.
    (first,) = router.track(TrackCall("c1", "order_completed", {"total": 1}, "o1", NOW, NOW)).enrolled
    assert facts(store, "goal") == []
    router.track(track("order_completed", "o2", NOW + timedelta(days=1), total=1))
    assert [(f["journey_id"], f["enrollment_id"]) for f in facts(store, "goal")] == [("repeat", first)]


# --- survey answers -------------------------------------------------------------------------------------------------


def test_an_answer_counts_once_per_metric_with_its_bucket(router: Router, store: Store) -> None:
    enrollment = enroll(router, "d1", NOW)
    router.track(track("survey_answered", "s1", NOW + timedelta(days=3), survey="nps", score=9))
    router.track(track("survey_answered", "s2", NOW + timedelta(days=4), survey="nps", score=2))  # the first answer stays
    router.track(track("survey_answered", "s3", NOW + timedelta(days=4), survey="csat", score=2))
    assert summary(store, "response") == [
        (enrollment, "response:nps", "nps", 9.0, "promoter", NOW + timedelta(days=3)),
        (enrollment, "response:csat", "csat", 2.0, "unsatisfied", NOW + timedelta(days=4)),
    ]


@pytest.mark.parametrize("score", [11, -1, 8.5, "9", True, None], ids=["above", "below", "between", "text", "boolean", "missing"])
def test_an_answer_off_the_scale_or_no_number_is_not_counted_and_the_next_one_is(router: Router, store: Store, score: Any) -> None:
    enroll(router, "d1", NOW)
    router.track(track("survey_answered", "s1", NOW + timedelta(days=1), survey="nps", score=score))
    assert facts(store, "response") == []
    router.track(track("survey_answered", "s2", NOW + timedelta(days=2), survey="nps", score=7))
    assert [(f["value"], f["status"]) for f in facts(store, "response")] == [(7.0, "passive")]


def test_an_answer_before_any_enrollment_counts_for_none(router: Router, store: Store) -> None:
    router.track(track("survey_answered", "s1", NOW, survey="nps", score=10))
    enroll(router, "d1", NOW + timedelta(hours=1))
    router.track(track("survey_answered", "s2", NOW + timedelta(minutes=30), survey="nps", score=10))  # sent before the entry
    assert facts(store, "response") == []
    router.track(track("survey_answered", "s3", NOW + timedelta(hours=2), survey="nps", score=4))
    assert [f["value"] for f in facts(store, "response")] == [4.0]


def test_an_answer_counts_for_the_latest_enrollment_entered_before_it(router: Router, store: Store) -> None:
    first = enroll(router, "d1", NOW)
    with store.session() as session:
        session.finish_enrollment(first, "completed", "rest", NOW + timedelta(days=1))
    second = enroll(router, "d2", NOW + timedelta(days=10))
    router.track(track("survey_answered", "s1", NOW + timedelta(days=5), survey="nps", score=6))  # arrives late
    router.track(track("survey_answered", "s2", NOW + timedelta(days=11), survey="nps", score=10))
    assert [(f["enrollment_id"], f["status"]) for f in facts(store, "response")] == [(first, "detractor"), (second, "promoter")]


def test_an_expression_that_fails_on_its_data_loses_the_answer_not_the_call(
    router: Router, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    enroll(router, "d1", NOW, customer="kim@example.com")
    caplog.set_level(logging.DEBUG)
    outcome = router.track(track("effort_rated", "e1", NOW + timedelta(days=1), "kim@example.com", effort=3, scale=0))
    assert not outcome.duplicate and facts(store, "response") == []
    router.track(track("effort_rated", "e2", NOW + timedelta(days=2), "kim@example.com", effort=4, scale=7))
    assert [f["value"] for f in facts(store, "response")] == [4.0]
    assert "kim@example.com" not in caplog.text


def test_a_duplicate_track_call_records_nothing_twice(router: Router, store: Store) -> None:
    enroll(router, "d1", NOW)
    again = track("survey_answered", "s1", NOW + timedelta(days=1), survey="nps", score=0)
    assert [router.track(again).duplicate for _ in range(2)] == [False, True]
    assert len(facts(store, "response")) == 1


# --- cost ------------------------------------------------------------------------------------------------------


def statements_of(store: Store, call: TrackCall, router: Router) -> list[str]:
    seen: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        seen.append(re.sub(r"sa_savepoint_\d+", "sa_savepoint", " ".join(statement.split())))  # numbered per connection

    # Prepared statements (orchestrator/store/prepared.py) run on the driver's cursor, which engine events do not see.
    execute = Prepared._execute

    def note_prepared(form: Any, connection: Any, params: Any) -> Any:
        note(None, None, form.sql)
        return execute(form, connection, params)

    sqlalchemy.event.listen(store.engine, "before_cursor_execute", note)
    Prepared._execute = staticmethod(note_prepared)  # type: ignore[method-assign,assignment]
    try:
        router.track(call)
    finally:
        Prepared._execute = staticmethod(execute)  # type: ignore[method-assign,assignment]
        sqlalchemy.event.remove(store.engine, "before_cursor_execute", note)
    return seen


def test_an_event_no_journey_measures_costs_no_extra_statement(router: Router, store: Store) -> None:
    """Two events a running enrollment listens to, so both are routed and signalled the same way: the one no
    journey measures runs no statement about facts or versions, the goal event only adds its facts' insert (once
    in the plan that is rolled back, once in the commit). An event nobody listens to or measures is only recorded."""
    enroll(router, "d1", NOW)
    unmeasured = statements_of(store, track("email_opened", "m1", NOW + timedelta(hours=1)), router)
    assert not [s for s in unmeasured if "journey_facts" in s or "journey_versions" in s]
    goal = statements_of(store, track("order_completed", "o1", NOW + timedelta(hours=2), total=1), router)
    extra = Counter(goal) - Counter(unmeasured)
    assert [s.split(" (")[0] for s in extra.elements()] == ["INSERT INTO journey_facts"] * 2
    assert Counter(unmeasured) - Counter(goal) == Counter()
    quiet = statements_of(store, track("page_viewed", "p1", NOW + timedelta(hours=3)), router)
    assert [s.split(" (")[0] for s in quiet if s.startswith("INSERT")] == ["INSERT INTO events"]
    assert not [s for s in quiet if "enrollments" in s]
