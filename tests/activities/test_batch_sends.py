"""A batch of sends means, for each request, what the send activity means for it alone (SQLite and PostgreSQL, no Temporal).

The same requests go through `BatchSends.send_all` on one store and one `send_message` each on a
twin store; results, ledger, outbox, facts and profiles must match. Then what only a batch can
get wrong: caps across the batch, a retried batch, a crash in its middle, one provider error
among many answers, and batching that really batches (the fake provider's requests counted).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from activities.batch_sends import BatchSends
from activities.delivery_gate import ERASED, DeliveryPolicy
from activities.journey_activities import JourneyActivities
from activities.providers import ChannelProviders
from activities.providers.batches import Outgoing
from activities.providers.ratelimit import TokenBucket
from activities.providers.sendgrid_email import SendGridEmail, SendGridSettings
from activities.providers.twilio_sms import TwilioSettings, TwilioSms
from orchestrator import ir
from orchestrator.runtime.contracts import SendRequest
from orchestrator.store import Store
from tests.activities.providers.fakes import SENDGRID, TWILIO, FakeProviders, Fault
from tests.activities.test_send_controls import ANN, NOON, request

POLICY = DeliveryPolicy(daily_cap=2)
QUIET = ir.Settings(quiet_hours=ir.QuietHours("11:00", "13:00"))
"""Noon in New York falls in it: held until 13:00."""
CAPPED = ir.Settings(frequency_cap=ir.FrequencyCap(1, 86400))


def traits(customer: str, **more: Any) -> dict[str, Any]:
    return {**ANN, "email": f"{customer}@example.com", "first_name": customer.title(), **more}


CUSTOMERS: dict[str, dict[str, Any]] = {
    "ann": traits("ann"),
    "bea": traits("bea", email_opt_in=False),
    "cal": traits("cal"),
    "dan": traits("dan"),
    "eve": traits("eve"),
    "fay": traits("fay"),
    "gus": traits("gus", email_opt_in=False),
    "hal": traits("hal"),
    "jon": traits("jon", push_tokens=["tok-1", "tok-2"], push_opt_in=True),
}


def requests() -> list[SendRequest]:
    """One of each thing the gate and the send can decide, and two customers with more than one message."""
    return [
        request("ann", "e-ann", body="Hello {{ customer.first_name }}"),
        request("bea", "e-bea"),  # no consent
        request("cal", "e-cal", channel="push", fallback=("email",)),  # no push token: falls back to email
        request("dan", "e-dan", body="{{ customer.first_name | nosuchfilter }}"),  # a template error
        with_settings(request("eve", "e-eve"), QUIET),  # held by quiet hours
        with_settings(request("fay", "e-fay-1", journey_id="capped"), CAPPED),
        with_settings(request("fay", "e-fay-2", journey_id="capped"), CAPPED),  # over the journey's cap of one
        request("gus", "e-gus", category="transactional"),  # ignores the marketing opt-out
        request("hal", "e-hal"),  # being erased
        request("ivy", "e-ivy"),  # never identified
        request("jon", "e-jon", channel="push"),
        request("ann", "e-ann-2", journey_id="digest"),  # the daily cap's second slot
        request("ann", "e-ann-3", journey_id="news"),  # over the daily cap of two
    ]


def with_settings(send: SendRequest, settings: ir.Settings) -> SendRequest:
    return replace(send, settings=settings)


def later(sends: list[SendRequest], hours: int) -> list[SendRequest]:
    return [replace(send, now=(NOON + timedelta(hours=hours)).isoformat()) for send in sends]


@pytest.fixture(params=["sqlite", "postgresql"])
def twins(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    """Two migrated stores of one kind, with the same customers: one for the batch, one for the single sends."""
    if request.param == "sqlite":
        urls = [f"sqlite:///{tmp_path / 'batch.db'}", f"sqlite:///{tmp_path / 'single.db'}"]
    else:
        server = request.getfixturevalue("postgres_server")
        urls = [server.url(server.create_database()) for _ in range(2)]
    stores = [Store(url) for url in urls]
    for store in stores:
        store.migrate()
        with store.session() as session:
            for customer, values in CUSTOMERS.items():
                session.identify(customer, values, NOON)
            session.begin_erasure("hal", "test", NOON)
    try:
        yield stores[0], stores[1]
    finally:
        for store in stores:
            store.dispose()


@pytest.fixture
def store(twins: tuple[Store, Store]) -> Store:
    return twins[0]


_SEALED = re.compile(r"/v1/unsubscribe/[A-Za-z0-9_=-]+")


def snapshot(store: Store) -> dict[str, Any]:
    """Everything a customer or a report could tell of their sends: ledger, outbox, facts, profiles (wall-clock times left out)."""
    customers = [*CUSTOMERS, "ivy"]
    with store.read() as session:
        ledger = sorted(
            (d.enrollment_id, d.step_id, d.visit, d.channel, d.status, d.provider_message_id, d.reason, d.customer_id, d.journey_id,
             d.category, d.admitted_at)
            for customer in customers for d in session.deliveries_for(customer)
        )  # fmt: skip
        outbox = [
            (m.customer_id, m.enrollment_id, m.journey_id, m.step_id, m.channel, m.to, m.subject, _SEALED.sub("/v1/unsubscribe/*", m.body),
             m.sent_at)
            for customer in customers for m in session.messages_for(customer)
        ]  # fmt: skip
        facts = sorted(
            (f.kind, f.enrollment_id, f.fact_key, f.customer_id, f.step_id, f.visit, f.name, f.status, f.detail, f.occurred_at)
            for customer in customers for f in session.facts_for(customer)
        )  # fmt: skip
        tokens = {customer: profile.push_tokens for customer in customers if (profile := session.get_profile(customer)) is not None}
    return {"ledger": ledger, "outbox": outbox, "facts": facts, "tokens": tokens}


def test_a_batch_answers_and_records_each_request_as_its_single_send_would(twins: tuple[Store, Store]) -> None:
    batch_store, single_store = twins
    batch = BatchSends(batch_store, policy=POLICY)
    single = JourneyActivities(single_store, policy=POLICY)
    for sends in (requests(), later(requests(), 2)):  # then again after quiet hours: retries of every request, one held
        batched = batch.send_all(sends)
        alone = [single.send_message(send) for send in sends]
        assert batched == alone
        assert snapshot(batch_store) == snapshot(single_store)
    statuses = {send.enrollment_id: result.status for send, result in zip(requests(), batched, strict=True)}
    assert statuses == {
        "e-ann": "sent", "e-bea": "suppressed", "e-cal": "sent", "e-dan": "failed", "e-eve": "sent", "e-fay-1": "sent",
        "e-fay-2": "suppressed", "e-gus": "sent", "e-hal": "suppressed", "e-ivy": "suppressed", "e-jon": "sent",
        "e-ann-2": "sent", "e-ann-3": "suppressed",
    }  # fmt: skip


def test_two_messages_of_one_customer_in_a_batch_cannot_both_pass_a_cap_of_one(store: Store) -> None:
    sends = [with_settings(request("ann", f"e-{n}", journey_id="capped"), CAPPED) for n in range(3)]
    results = BatchSends(store).send_all(sends)
    assert [r.status for r in results] == ["sent", "suppressed", "suppressed"]
    assert results[1].reason == "frequency cap: 1 message(s) from this journey in the last 1d (max 1)"
    with store.read() as session:
        assert [m.enrollment_id for m in session.messages_for("ann")] == ["e-0"]


def test_a_template_error_gives_its_slot_to_the_customers_next_message_in_the_batch(store: Store) -> None:
    sends = [
        with_settings(request("ann", "e-broken", journey_id="capped", body="{{ 1 / 0 }}"), CAPPED),
        with_settings(request("ann", "e-fine", journey_id="capped"), CAPPED),
    ]
    results = BatchSends(store).send_all(sends)
    assert [r.status for r in results] == ["failed", "sent"]
    assert results[0].reason is not None and results[0].reason.startswith("template error in body")


def test_a_retried_batch_sends_nothing_twice(store: Store) -> None:
    batch = BatchSends(store, policy=POLICY)
    first = batch.send_all(requests())
    before = snapshot(store)
    assert batch.send_all(requests()) == first
    assert snapshot(store) == before
    assert ERASED in {r.reason for r in first}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProviders]:
    with FakeProviders() as fake:
        yield fake


@pytest.fixture
def providers(fake: FakeProviders) -> Iterator[ChannelProviders]:
    fake.clear()
    email = SendGridEmail(SendGridSettings("SG.key", "news@shop.example", host=fake.url, timeout_seconds=0.5), bucket=TokenBucket(10_000))
    settings = TwilioSettings("AC0123", "auth-token", sender="+15550100", base_url=fake.url, timeout_seconds=0.5, rate_per_second=3)
    sms = TwilioSms(settings, bucket=TokenBucket(10_000))
    yield ChannelProviders({"email": email, "sms": sms})


def emails(count: int) -> list[SendRequest]:
    return [request(f"c-{n}", f"e-{n}", body="Hello {{ customer.first_name }}") for n in range(count)]


def texts(count: int) -> list[SendRequest]:
    return [request(f"c-{n}", f"s-{n}", channel="sms", body="Hello {{ customer.first_name }}") for n in range(count)]


def identify_all(store: Store, count: int) -> None:
    with store.session() as session:
        for n in range(count):
            session.identify(f"c-{n}", traits(f"c-{n}", phone=f"+1415555{n:04d}"), NOON)


def ledger_statuses(store: Store, count: int) -> list[str]:
    with store.read() as session:
        return [d.status for n in range(count) for d in session.deliveries_for(f"c-{n}")]


def test_a_batch_of_emails_goes_to_sendgrid_in_one_request(store: Store, fake: FakeProviders, providers: ChannelProviders) -> None:
    identify_all(store, 5)
    results = BatchSends(store, providers).send_all(emails(5))
    assert [r.status for r in results] == ["sent"] * 5
    (sent,) = fake.sent(SENDGRID)
    assert [p["to"] for p in sent.body["personalizations"]] == [[{"email": f"c-{n}@example.com"}] for n in range(5)]
    with store.read() as session:
        ids = {d.provider_message_id for n in range(5) for d in session.deliveries_for(f"c-{n}")}
        assert len(ids) == 1 and next(iter(ids)).startswith("sg-")  # the request's X-Message-Id, for each of its messages
        assert [m.body.startswith("Hello C-3") for m in session.messages_for("c-3")] == [True]


def test_one_refused_email_of_a_batch_fails_alone_and_the_others_are_sent_once(
    store: Store, fake: FakeProviders, providers: ChannelProviders
) -> None:
    identify_all(store, 3)
    refusal = {"errors": [{"message": "Does not contain a valid address."}]}
    # SendGrid refuses the request whole; each message alone then tells which one it was.
    fake.fail_next(SENDGRID, Fault(400, refusal), Fault(), Fault(400, refusal), Fault())
    batch = BatchSends(store, providers)
    results = batch.send_all(emails(3))
    assert [r.status for r in results] == ["sent", "failed", "sent"]
    assert results[1].reason == "HTTP 400: Does not contain a valid address."
    assert len(fake.sent(SENDGRID)) == 4
    assert batch.send_all(emails(3)) == results  # a retry sends nothing
    assert len(fake.sent(SENDGRID)) == 4


def test_a_retryable_error_on_one_text_retries_the_batch_without_resending_the_others(
    store: Store, fake: FakeProviders, providers: ChannelProviders
) -> None:
    identify_all(store, 3)
    fake.fail_next(TWILIO, Fault(429, {"code": 20429, "message": "Too Many Requests"}, {"Retry-After": "4"}))
    batch = BatchSends(store, providers)
    with pytest.raises(ApplicationError) as failure:
        batch.send_all(texts(3))
    assert (failure.value.type, failure.value.next_retry_delay) == ("ProviderRetryable", timedelta(seconds=4))
    assert sorted(ledger_statuses(store, 3)) == ["intent", "sent", "sent"]
    assert [r.status for r in batch.send_all(texts(3))] == ["sent"] * 3  # Temporal's retry of the whole batch
    assert len(fake.sent(TWILIO)) == 4  # three, and the one that failed again


def test_a_batch_cut_short_by_a_crash_resends_only_what_was_not_recorded(
    store: Store, fake: FakeProviders, providers: ChannelProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    identify_all(store, 5)
    sms = providers.for_channel("sms")
    assert isinstance(sms, TwilioSms) and sms.batch_size == 3  # a second's worth at 3 a second
    calls: list[int] = []
    original = sms.send_batch

    def dies_on_second_call(items: list[Outgoing]) -> list[Any]:
        calls.append(len(items))
        if len(calls) == 2:
            raise SystemExit("the worker dies")
        return original(items)

    monkeypatch.setattr(sms, "send_batch", dies_on_second_call)
    with pytest.raises(SystemExit):
        BatchSends(store, providers).send_all(texts(5))
    assert ledger_statuses(store, 5) == ["sent"] * 3 + ["intent"] * 2
    monkeypatch.setattr(sms, "send_batch", original)
    assert [r.status for r in BatchSends(store, providers).send_all(texts(5))] == ["sent"] * 5
    assert len(fake.sent(TWILIO)) == 5


def test_a_retry_that_suppresses_a_message_admitted_before_the_crash_gives_its_slot_to_the_next(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    email = with_settings(request("ann", "e-email", journey_id="capped"), CAPPED)
    text = with_settings(request("ann", "e-text", journey_id="capped", channel="sms"), CAPPED)
    batch = BatchSends(store)

    def dies(items: list[Outgoing]) -> list[Any]:
        raise SystemExit("the worker dies")

    with monkeypatch.context() as patched:
        patched.setattr(batch.providers.sandbox, "send_batch", dies)
        with pytest.raises(SystemExit):
            batch.send_all([email])  # admitted, not sent: the slot is taken
    with store.session() as session:
        session.identify("ann", {"email_undeliverable": True}, NOON)  # a bounce meanwhile
    results = batch.send_all([email, text])
    assert [r.status for r in results] == ["suppressed", "sent"]
