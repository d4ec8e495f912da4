"""`journey backtest`'s replay: who enters, who is refused and by which rule, what the gate does, what converts.

Each test writes a small history into a SQLite store the way routing records calls (an identify is its
`identify` row, its profile change and consent records; a track its row), then backtests an inline journey.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from activities.delivery_gate import DeliveryPolicy
from orchestrator import ir
from orchestrator.analytics.backtest_report import BacktestReport
from orchestrator.simulation.backtest import BacktestOptions
from orchestrator.simulation.backtest_history import Window, parse_window
from orchestrator.simulation.backtest_run import backtest
from orchestrator.store import Store
from orchestrator.store.values import ConsentEvidence, DeliveryKey
from tests.runtime.support import journey

MONDAY = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
"""Monday 2026-03-02 14:00 UTC: 09:00 in New York, outside any quiet hours below."""
WINDOW = Window(MONDAY - timedelta(days=1), MONDAY + timedelta(days=20))
HOUR = timedelta(hours=1)

CART = """
id: cart
name: Cart
trigger: {event: checkout_started, where: "event.value >= 20"}
entry: {audience: "customer.country == 'US'", re_entry: never}
goal: {event: order_completed, within: 2d, value: "event.revenue"}
steps:
  - id: pause
    wait: 1h
  - id: remind
    send: {channel: email, subject: "Your cart", body: "Come back"}
"""


class History:
    """Writes calls as routing records them."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.number = 0

    def identify(self, customer: str, traits: dict[str, Any], at: datetime = MONDAY) -> None:
        message_id = self._id()
        with self.store.session() as session:
            session.record_event(message_id, customer, "identify", traits, at, at)
            session.identify(customer, traits, at, ConsentEvidence("identify", message_id, at))

    def track(self, customer: str, name: str, properties: dict[str, Any] | None = None, at: datetime = MONDAY) -> None:
        with self.store.session() as session:
            session.record_event(self._id(), customer, name, properties or {}, at, at)

    def _id(self) -> str:
        self.number += 1
        return f"call-{self.number}"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'journey.db'}")
    store.migrate()
    yield store
    store.dispose()


@pytest.fixture
def history(store: Store) -> History:
    return History(store)


def run(
    store: Store, journey: ir.Journey, options: BacktestOptions | None = None, samples: int = 0, window: Window = WINDOW
) -> BacktestReport:
    [report] = backtest(store, [journey], window, options, samples=samples)
    return report


def refused(report: BacktestReport) -> dict[tuple[str, str], int]:
    return {(refusal.rule, refusal.reason): refusal.count for refusal in report.refused}


def test_each_refusal_is_counted_by_the_entry_rule_that_refused_it(store: Store, history: History) -> None:
    history.identify("us", {"country": "US", "email": "us@example.com"})
    history.identify("fr", {"country": "FR", "email": "fr@example.com"})
    history.track("us", "checkout_started", {"value": 5}, MONDAY + HOUR)  # the where is false
    history.track("us", "checkout_started", {"value": 50}, MONDAY + 2 * HOUR)  # enters
    history.track("us", "checkout_started", {"value": 50}, MONDAY + 3 * HOUR)  # running still
    history.track("us", "checkout_started", {"value": 50}, MONDAY + 30 * HOUR)  # ended, but re_entry: never
    history.track("fr", "checkout_started", {"value": 50}, MONDAY + HOUR)  # not in the audience
    history.track("us", "page_viewed", {}, MONDAY + 4 * HOUR)  # not the trigger: no attempt

    report = run(store, journey(CART))

    assert report.totals.entered == 1 and report.totals.customers == 1 and report.customers == 2
    assert refused(report) == {
        ("trigger", "the trigger's where is false"): 1,
        ("re_entry", "already enrolled"): 1,
        ("re_entry", "entered before (re_entry: never)"): 1,
        ("audience", "not in the audience"): 1,
    }
    remind = report.step("remind")
    assert remind is not None and remind.reached == 1 and remind.sent == 1


def test_a_real_enrollment_from_before_the_window_counts_for_the_re_entry_rule(store: Store, history: History) -> None:
    history.identify("ann", {"country": "US", "email": "ann@example.com"})
    history.track("ann", "checkout_started", {"value": 50}, MONDAY + HOUR)
    with store.session() as session:
        session.start_enrollment("cart-old-1", "cart", "v0", "ann", WINDOW.start - timedelta(days=3))
        session.finish_enrollment("cart-old-1", "completed", "remind", WINDOW.start - timedelta(days=2))

    report = run(store, journey(CART))

    assert report.totals.entered == 0
    assert refused(report) == {("re_entry", "entered before (re_entry: never)"): 1}


def test_once_a_run_ends_the_customer_may_enter_again_under_re_entry_always(store: Store, history: History) -> None:
    again = journey(CART.replace("re_entry: never", "re_entry: always"))
    history.identify("ann", {"country": "US", "email": "ann@example.com"})
    for hours in (1, 1.5, 3):  # the first run waits an hour, then sends and ends at 2h
        history.track("ann", "checkout_started", {"value": 50}, MONDAY + hours * HOUR)

    report = run(store, again)

    assert report.totals.entered == 2 and report.totals.customers == 1
    assert refused(report) == {("re_entry", "already enrolled"): 1}


def test_the_caps_count_other_journeys_real_sends_and_leave_this_journeys_out(store: Store, history: History) -> None:
    history.identify("ann", {"country": "US", "email": "ann@example.com"})
    history.identify("bob", {"country": "US", "email": "bob@example.com"})
    for customer in ("ann", "bob"):
        history.track(customer, "checkout_started", {"value": 50}, MONDAY)
    with store.session() as session:
        # Ann got a newsletter from another journey an hour before the reminder; Bob got this journey's own, live.
        for customer, journey_id in (("ann", "newsletter"), ("bob", "cart")):
            key = DeliveryKey(f"{journey_id}-{customer}", "send", 1)
            at = MONDAY + HOUR / 2
            session.claim_delivery(key, "email", at, customer_id=customer, journey_id=journey_id, category="marketing", admitted_at=at)
            session.mark_delivery(key, "sent", at, provider_message_id=f"m-{customer}")

    report = run(store, journey(CART), BacktestOptions(DeliveryPolicy(daily_cap=1)))

    [email] = report.steps[1].messages
    assert email.sent == 1
    assert list(email.suppressed.values()) == [1] and "cap" in next(iter(email.suppressed))


def test_quiet_hours_hold_a_send_until_they_end_and_say_so(store: Store, history: History) -> None:
    quiet = journey(CART.replace("steps:", 'settings: {timezone: UTC, quiet_hours: {from: "15:00", to: "18:00"}}\nsteps:'))
    history.identify("ann", {"country": "US", "email": "ann@example.com"})
    history.track("ann", "checkout_started", {"value": 50}, MONDAY + HOUR / 2)  # the reminder falls at 15:30

    report = run(store, quiet, samples=1)

    [email] = report.steps[1].messages
    assert email.sent == 1 and sum(email.held.values()) == 1 and email.still_held == 0
    assert "18:00" in report.samples[0].text
    ended_in_quiet_hours = run(store, quiet, window=Window(WINDOW.start, MONDAY + 2 * HOUR))
    [email] = ended_in_quiet_hours.steps[1].messages
    assert (email.sent, sum(email.held.values()), email.still_held) == (0, 1, 1)
    assert ended_in_quiet_hours.totals.waiting == 1 and ended_in_quiet_hours.steps[1].waiting == 1


def test_a_goal_converts_within_its_window_and_never_by_the_event_that_enrolled(store: Store, history: History) -> None:
    own_goal = journey(CART.replace("checkout_started", "order_completed").replace('where: "event.value >= 20"', 'where: "true"'))
    history.identify("ann", {"country": "US", "email": "ann@example.com"})
    history.identify("bob", {"country": "US", "email": "bob@example.com"})
    history.track("ann", "order_completed", {"revenue": 30}, MONDAY)  # enrolls Ann, converts nobody
    history.track("ann", "order_completed", {"revenue": 70}, MONDAY + 5 * HOUR)  # converts Ann's enrollment
    history.track("bob", "order_completed", {"revenue": 10}, MONDAY + 19 * 24 * HOUR)  # enrolls Bob late: still maturing

    report = run(store, own_goal)

    assert (report.totals.entered, report.conversion.converted, report.conversion.matured, report.conversion.maturing) == (2, 1, 1, 1)
    assert report.revenue is not None and report.revenue.total == 70


def test_a_broadcast_reaches_every_customer_who_had_a_profile_when_it_fired(store: Store, history: History) -> None:
    broadcast = journey("""
        id: sale
        name: Sale
        trigger: {schedule: {cron: "0 15 * * *", timezone: UTC}}
        entry: {audience: "customer.country == 'US'", re_entry: always}
        steps:
          - id: announce
            send: {channel: email, subject: "Sale", body: "Today"}
        """)
    history.identify("ann", {"country": "US", "email": "ann@example.com"})
    history.identify("fr", {"country": "FR", "email": "fr@example.com"})
    history.identify("late", {"country": "US", "email": "late@example.com"}, WINDOW.end - timedelta(hours=1))

    report = run(store, broadcast)

    firings = 20  # 15:00 on each day of the window after Ann's and Fr's first identify, before Late's
    assert report.totals.entered == firings
    assert refused(report) == {("audience", "not in the audience"): firings}


def test_the_window_is_read_as_utc_days_or_instants_and_an_empty_one_is_refused() -> None:
    window = parse_window("2026-03-01", "2026-03-30", MONDAY)
    assert window.start == datetime(2026, 3, 1, tzinfo=UTC)
    assert window.end == datetime(2026, 3, 31, tzinfo=UTC) - timedelta(microseconds=1)
    assert parse_window(None, "2026-03-02T09:00:00+01:00", MONDAY).start == datetime(2026, 1, 31, 8, tzinfo=UTC)
    assert parse_window(None, None, MONDAY) == Window(MONDAY - timedelta(days=30), MONDAY)
    with pytest.raises(ValueError, match="--from 2026-03-05 is not before --to 2026-03-01"):
        parse_window("2026-03-05", "2026-03-01", MONDAY)
    with pytest.raises(ValueError, match="--to '2026-03-02T09:00' has no time zone"):
        parse_window(None, "2026-03-02T09:00", MONDAY)
    with pytest.raises(ValueError, match="--from 'last week' is neither a day"):
        parse_window("last week", None, MONDAY)
