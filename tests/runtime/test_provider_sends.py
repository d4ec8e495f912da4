"""Journeys sending through the real provider SDKs to the local fakes: retries, refusals, dead tokens, no duplicates."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from temporalio import activity
from temporalio.testing import WorkflowEnvironment

from activities.delivery_gate import DeliveryPolicy
from activities.journey_activities import JourneyActivities
from activities.providers import ChannelProviders, Provider
from activities.providers.fcm_push import FcmPush, FcmSettings
from activities.providers.ratelimit import TokenBucket
from activities.providers.sendgrid_email import SendGridEmail, SendGridSettings
from orchestrator.runtime.contracts import SendRequest, SendResult
from orchestrator.store import Delivery, Store
from orchestrator.store.values import DeliveryKey
from tests.activities.providers.fakes import FCM, SENDGRID, FakeProviders, Fault, service_account
from tests.runtime.support import START, harness, journey

pytestmark = pytest.mark.asyncio(loop_scope="session")

PUSH_NUDGE = """
    id: nudge
    name: Nudge
    trigger: {event: go}
    steps:
      - id: nudge
        send: {channel: push, title: "Still there?", body: "Your cart is waiting"}
    """

EMAIL_THEN_UPDATE = """
    id: outage
    name: Outage
    trigger: {event: go}
    steps:
      - id: hello
        send: {channel: email, subject: "hello", body: "<p>hi</p>"}
      - id: after
        update: {set: {went_on: true}}
    """

TWO_EMAILS = """
    id: twice
    name: Twice
    trigger: {event: go}
    steps:
      - id: hello
        send: {channel: email, subject: "hello {{ customer.first_name }}", body: "<p>hi</p>"}
      - id: bye
        send: {channel: email, subject: "bye", body: "<p>bye</p>"}
    """


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProviders]:
    with FakeProviders() as fake:
        yield fake


@pytest.fixture
def providers(fake: FakeProviders) -> Iterator[ChannelProviders]:
    fake.clear()
    email = SendGridEmail(SendGridSettings("SG.key", "news@shop.example", host=fake.url, timeout_seconds=0.5), bucket=TokenBucket(1000))
    push = FcmPush(FcmSettings(service_account(f"{fake.url}/token"), base_url=fake.url, timeout_seconds=0.5), bucket=TokenBucket(1000))
    chosen: dict[str, Provider] = {"email": email, "push": push}
    yield ChannelProviders(chosen)
    push.close()


def with_providers(providers: ChannelProviders, policy: DeliveryPolicy | None = None) -> Any:
    return lambda real: JourneyActivities(real.store, http=real.http, secrets=real.secrets, providers=providers, policy=policy).activities()


def delivery(store: Store, enrollment_id: str, step_id: str) -> Delivery:
    with store.session() as session:
        return session.claim_delivery(DeliveryKey(enrollment_id, step_id, 1), "email", START)[0]


async def test_429_and_500_are_retried_then_the_message_is_sent_once(
    env: WorkflowEnvironment, store: Store, fake: FakeProviders, providers: ChannelProviders
) -> None:
    fake.fail_next(SENDGRID, Fault(429, {"errors": [{"message": "slow down"}]}, {"Retry-After": "30"}), Fault(500))
    async with harness(env, store, activities=with_providers(providers)) as h:
        h.identify("c-1", {"email": "ann@example.com", "first_name": "Ann", "email_opt_in": True})
        handle = await h.enroll(journey(TWO_EMAILS), "c-1")
        assert (await handle.result()).status == "completed"
        assert [m.subject for m in h.messages("c-1")] == ["hello Ann", "bye"]  # the delivery log still shows them
    requests = fake.sent(SENDGRID)
    assert [r.body["subject"] for r in requests] == ["hello Ann"] * 3 + ["bye"]
    sent = delivery(store, handle.id, "hello")
    assert (sent.status, sent.provider_message_id) == ("sent", "sg-1")
    attempts = [
        e.activity_task_started_event_attributes.attempt
        async for e in handle.fetch_history_events()
        if e.HasField("activity_task_started_event_attributes")
    ]
    assert attempts[:2] == [3, 1]  # hello took three attempts (Temporal records the last), bye one


async def test_a_send_whose_provider_keeps_failing_is_given_up_after_the_retry_window_and_the_journey_goes_on(
    env: WorkflowEnvironment, store: Store, fake: FakeProviders, providers: ChannelProviders
) -> None:
    fake.fail_next(SENDGRID, *[Fault(503, {"errors": [{"message": "service unavailable"}]})] * 100)
    hour = DeliveryPolicy(retry_window=timedelta(hours=1))
    async with harness(env, store, activities=with_providers(providers, hour)) as h:
        h.identify("c-1", {"email": "ann@example.com", "email_opt_in": True})
        handle = await h.enroll(journey(EMAIL_THEN_UPDATE), "c-1")
        assert (await handle.result()).status == "completed"
        assert h.messages("c-1") == []
    given_up = delivery(store, handle.id, "hello")
    attempts = len(fake.sent(SENDGRID))
    assert given_up.status == "failed"
    assert given_up.reason == f"sendgrid still failing after 1h of retries ({attempts} attempts): HTTP 503: service unavailable"
    # Temporal's backoff (1 s doubling to 5 min) reaches the hour on about the 20th attempt, not before.
    assert 15 <= attempts <= 25
    with store.session() as session:
        profile = session.get_profile("c-1")
    assert profile is not None and profile.traits["went_on"] is True


async def test_a_refused_message_is_recorded_as_failed_and_the_journey_goes_on(
    env: WorkflowEnvironment, store: Store, fake: FakeProviders, providers: ChannelProviders
) -> None:
    fake.fail_next(SENDGRID, Fault(400, {"errors": [{"message": "The to email does not contain a valid address."}]}))
    async with harness(env, store, activities=with_providers(providers)) as h:
        h.identify("c-1", {"email": "ann@example.com", "first_name": "Ann", "email_opt_in": True})
        handle = await h.enroll(journey(TWO_EMAILS), "c-1")
        assert (await handle.result()).status == "completed"
        assert [m.subject for m in h.messages("c-1")] == ["bye"]
    refused = delivery(store, handle.id, "hello")
    assert refused.status == "failed"
    assert refused.reason == "HTTP 400: The to email does not contain a valid address."
    assert len(fake.sent(SENDGRID)) == 2
    with store.read() as session:
        outcomes = [(f.fact_key, f.detail) for f in session.facts_for("c-1") if f.kind == "message"]
    # The fact keeps the kind of failure, not the provider's words, which may quote the address.
    assert outcomes == [("message:hello:1:failed", "HTTP 400"), ("message:bye:1:sent", None)]


async def test_an_unregistered_push_token_is_removed_from_the_profile(
    env: WorkflowEnvironment, store: Store, fake: FakeProviders, providers: ChannelProviders
) -> None:
    fake.unregistered_tokens.add("tok-uninstalled")
    flow = journey(PUSH_NUDGE)
    async with harness(env, store, activities=with_providers(providers)) as h:
        h.identify("c-1", {"push_tokens": ["tok-uninstalled", "tok-phone"], "push_opt_in": True})
        await (await h.enroll(flow, "c-1")).result()
        assert [m.to for m in h.messages("c-1")] == ["tok-uninstalled"]  # the log names the profile's first token
    assert [r.body["message"]["token"] for r in fake.sent(FCM)] == ["tok-uninstalled", "tok-phone"]
    with store.session() as session:
        profile = session.get_profile("c-1")
    assert profile is not None
    assert profile.push_tokens == ("tok-phone",)


async def test_a_push_whose_tokens_are_all_unregistered_fails_and_forgets_them(
    env: WorkflowEnvironment, store: Store, fake: FakeProviders, providers: ChannelProviders
) -> None:
    fake.unregistered_tokens.update({"tok-old", "tok-older"})
    flow = journey(PUSH_NUDGE)
    async with harness(env, store, activities=with_providers(providers)) as h:
        h.identify("c-1", {"push_tokens": ["tok-old", "tok-older"], "push_opt_in": True})
        handle = await h.enroll(flow, "c-1")
        await handle.result()
        assert h.messages("c-1") == []
    assert delivery(store, handle.id, "nudge").status == "failed"
    with store.session() as session:
        profile = session.get_profile("c-1")
    assert profile is not None
    assert profile.push_tokens == ()


async def test_a_send_retried_after_the_provider_accepted_it_is_not_sent_again(
    env: WorkflowEnvironment, store: Store, fake: FakeProviders, providers: ChannelProviders
) -> None:
    def crash_after_send(real: JourneyActivities) -> list[Any]:
        activities = JourneyActivities(real.store, providers=providers)

        @activity.defn(name="send_message")
        def send_message(request: SendRequest) -> SendResult:
            result = activities.send_message(request)
            if activity.info().attempt == 1:
                raise RuntimeError("worker died after the provider accepted the message and the ledger said sent")
            return result

        return [send_message, *(a for a in activities.activities() if a.__name__ != "send_message")]

    async with harness(env, store, activities=crash_after_send) as h:
        h.identify("c-1", {"email": "ann@example.com", "first_name": "Ann", "email_opt_in": True})
        assert (await (await h.enroll(journey(TWO_EMAILS), "c-1")).result()).status == "completed"
        assert [m.subject for m in h.messages("c-1")] == ["hello Ann", "bye"]
    assert [r.body["subject"] for r in fake.sent(SENDGRID)] == ["hello Ann", "bye"]
