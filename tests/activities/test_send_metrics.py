"""The send and finish activities count what they record: sends by outcome, gate decisions, provider calls, ends.

The registry is process-wide, so each test reads the values before and after and asserts the difference.
A retry that only reports what an earlier attempt recorded must count nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from activities.batch_sends import BatchSends
from activities.delivery_gate import DeliveryPolicy
from activities.journey_activities import JourneyActivities
from activities.providers import ChannelProviders
from activities.providers.ratelimit import TokenBucket
from activities.providers.sendgrid_email import SendGridEmail, SendGridSettings
from orchestrator.runtime.contracts import FinishRequest
from orchestrator.store import Store
from tests.activities.providers.fakes import SENDGRID, FakeProviders, Fault
from tests.activities.test_batch_sends import emails, identify_all
from tests.activities.test_send_controls import ANN, NOON, identify, request


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Counts:
    """The samples a test watches, read now; `moved()` is each one's change since."""

    def __init__(self, *samples: tuple[str, dict[str, str]]) -> None:
        self.samples = samples
        self.before = [value(name, **labels) for name, labels in samples]

    def moved(self) -> list[float]:
        return [value(name, **labels) - before for (name, labels), before in zip(self.samples, self.before, strict=True)]


SENT_EMAIL = ("journey_sends_total", {"channel": "email", "outcome": "sent"})
FAILED_EMAIL = ("journey_sends_total", {"channel": "email", "outcome": "failed"})
SUPPRESSED_EMAIL = ("journey_sends_total", {"channel": "email", "outcome": "suppressed"})
ALLOWED = ("journey_gate_decisions_total", {"action": "send", "reason": "allowed"})
UNREACHABLE = ("journey_gate_decisions_total", {"action": "suppress", "reason": "unreachable"})
DAILY_CAP = ("journey_gate_decisions_total", {"action": "suppress", "reason": "daily_cap"})


def sendgrid_calls(outcome: str) -> tuple[str, dict[str, str]]:
    return ("journey_provider_request_seconds_count", {"channel": "email", "provider": "sendgrid", "outcome": outcome})


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProviders]:
    with FakeProviders() as fake:
        yield fake


@pytest.fixture
def providers(fake: FakeProviders) -> ChannelProviders:
    fake.clear()
    email = SendGridEmail(SendGridSettings("SG.key", "news@shop.example", host=fake.url, timeout_seconds=0.5), bucket=TokenBucket(1000))
    return ChannelProviders({"email": email})


def test_a_send_through_sendgrid_counts_once_and_its_retry_counts_nothing(store: Store, providers: ChannelProviders) -> None:
    identify(store, "ann", ANN)
    activities = JourneyActivities(store, providers=providers)
    counts = Counts(SENT_EMAIL, ALLOWED, sendgrid_calls("ok"))
    assert activities.send_message(request("ann", "e-1")).status == "sent"
    assert counts.moved() == [1, 1, 1]
    assert activities.send_message(request("ann", "e-1")).status == "sent"  # Temporal's retry: reports the ledger's outcome
    assert counts.moved() == [1, 1, 1]


def test_provider_errors_are_timed_by_outcome_and_a_refusal_counts_a_failed_send(
    store: Store, fake: FakeProviders, providers: ChannelProviders
) -> None:
    identify(store, "ann", ANN)
    activities = JourneyActivities(store, providers=providers)
    counts = Counts(sendgrid_calls("retryable"), sendgrid_calls("permanent"), FAILED_EMAIL, SENT_EMAIL)
    fake.fail_next(SENDGRID, Fault(500), Fault(400, {"errors": [{"message": "does not contain a valid address"}]}))
    with pytest.raises(Exception, match="sendgrid"):
        activities.send_message(request("ann", "e-1"))
    assert activities.send_message(request("ann", "e-1")).status == "failed"
    assert counts.moved() == [1, 1, 1, 0]


def test_a_suppressed_send_counts_the_gate_rule_that_refused_it(store: Store, providers: ChannelProviders) -> None:
    identify(store, "bob", {"timezone": "America/New_York"})  # no email address, no consent
    identify(store, "ann", ANN)
    activities = JourneyActivities(store, providers=providers, policy=DeliveryPolicy(daily_cap=1))
    counts = Counts(SUPPRESSED_EMAIL, UNREACHABLE, DAILY_CAP, SENT_EMAIL)
    assert activities.send_message(request("bob", "e-bob")).status == "suppressed"
    assert activities.send_message(request("ann", "e-1")).status == "sent"
    assert activities.send_message(request("ann", "e-2", journey_id="other")).status == "suppressed"  # over the daily cap of 1
    assert counts.moved() == [2, 1, 1, 1]


def test_a_batch_counts_each_send_once_and_times_one_provider_call(store: Store, fake: FakeProviders, providers: ChannelProviders) -> None:
    identify_all(store, 3)
    batch = BatchSends(store, providers)
    counts = Counts(SENT_EMAIL, ALLOWED, sendgrid_calls("ok"))
    assert [r.status for r in batch.send_all(emails(3))] == ["sent"] * 3
    assert len(fake.sent(SENDGRID)) == 1
    assert counts.moved() == [3, 3, 1]
    batch.send_all(emails(3))  # a retried batch: every row is decided already
    assert counts.moved() == [3, 3, 1]


def test_an_enrollments_end_is_counted_by_journey_and_status(store: Store) -> None:
    with store.session() as session:
        session.identify("ann", ANN, NOON)
        session.start_enrollment("e-ann", "promo", "v1", "ann", NOON)
    counts = Counts(("journey_enrollments_ended_total", {"journey": "promo", "status": "converted"}))
    end = FinishRequest("e-ann", "converted", "hello", NOON.isoformat(), "ann", None, "promo", "v1", [])
    JourneyActivities(store).finish_enrollment(end)
    assert counts.moved() == [1]
