"""The send activity around a real provider SDK and the local fake, without Temporal: what the ledger says when.

The intent is in the ledger before the provider has the message and the provider's id after it;
a provider's 429 reaches Temporal with its Retry-After, and the retry sends once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from temporalio.exceptions import ApplicationError

from activities.delivery_gate import DeliveryPolicy
from activities.journey_activities import JourneyActivities
from activities.providers import ChannelProviders
from activities.providers.ratelimit import TokenBucket
from activities.providers.sendgrid_email import SendGridEmail, SendGridSettings
from orchestrator.store import Store
from tests.activities.providers.fakes import SENDGRID, FakeProviders, Fault, Recorded
from tests.activities.test_send_controls import ANN, identify, request


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProviders]:
    with FakeProviders() as fake:
        yield fake


@pytest.fixture
def activities(store: Store, fake: FakeProviders) -> Iterator[JourneyActivities]:
    fake.clear()
    email = SendGridEmail(SendGridSettings("SG.key", "news@shop.example", host=fake.url, timeout_seconds=0.5), bucket=TokenBucket(1000))
    identify(store, "ann", ANN)
    yield JourneyActivities(store, providers=ChannelProviders({"email": email}), policy=DeliveryPolicy(daily_cap=5))
    fake.on_request = None


def ledger(store: Store) -> list[tuple[str, str | None]]:
    with store.read() as session:
        return [(d.status, d.provider_message_id) for d in session.deliveries_for("ann")]


def test_the_ledger_holds_the_intent_while_the_provider_has_the_message(
    store: Store, fake: FakeProviders, activities: JourneyActivities
) -> None:
    seen: list[list[tuple[str, str | None]]] = []

    def look(_: Recorded) -> None:
        seen.append(ledger(store))

    fake.on_request = look
    assert activities.send_message(request("ann", "e-1")).status == "sent"
    assert seen == [[("intent", None)]]  # a crash from here on leaves a claimed row, which a retry finds
    ((status, message_id),) = ledger(store)
    assert status == "sent"
    assert message_id is not None and message_id.startswith("sg-")  # the X-Message-Id SendGrid answered


def test_a_429_goes_to_temporal_with_the_providers_wait_and_the_retry_sends_once(
    store: Store, fake: FakeProviders, activities: JourneyActivities
) -> None:
    fake.fail_next(SENDGRID, Fault(429, {"errors": [{"message": "too many requests"}]}, {"Retry-After": "7"}), Fault(500))
    for wait in (timedelta(seconds=7), None):  # a 500 says nothing: Temporal's backoff decides
        with pytest.raises(ApplicationError) as failure:
            activities.send_message(request("ann", "e-1"))
        assert (failure.value.type, failure.value.non_retryable, failure.value.next_retry_delay) == ("ProviderRetryable", False, wait)
        assert ledger(store) == [("intent", None)]
    assert activities.send_message(request("ann", "e-1")).status == "sent"  # Temporal's next attempt, the same request
    assert [status for status, _ in ledger(store)] == ["sent"]
    assert len(fake.sent(SENDGRID)) == 3
    assert activities.send_message(request("ann", "e-1")).status == "sent"  # and a retry after that sends nothing
    assert len(fake.sent(SENDGRID)) == 3
