"""Delivery controls through the real send activity and store (SQLite and PostgreSQL), without Temporal.

Race-free caps, the delivery log (suppressed and deferred messages with their reason), channel
fallback in the ledger and outbox, undeliverable flags, and GET /v1/customers/{id}/deliveries.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import httpx
from fastapi import FastAPI

from activities.delivery_gate import DeliveryPolicy
from activities.journey_activities import JourneyActivities
from orchestrator import ir
from orchestrator.api.customers import router
from orchestrator.api.errors import install_error_handlers
from orchestrator.api.state import runtime
from orchestrator.host.settings import WorkerSettings
from orchestrator.personalization.unsubscribe import UnsubscribeConfig
from orchestrator.runtime.contracts import SendRequest, SendResult
from orchestrator.store import Store
from orchestrator.store.values import DeliveryKey
from tests.keys import KEYS_ENVIRONMENT

NOON = datetime(2026, 1, 6, 17, 0, tzinfo=UTC)
"""12:00 in New York."""
ANN = {"email": "ann@example.com", "phone": "+14155552671", "timezone": "America/New_York", "sms_opt_in": True}


def identify(store: Store, customer_id: str, traits: dict[str, Any]) -> None:
    with store.session() as session:
        session.identify(customer_id, traits, NOON)


def request(
    customer_id: str,
    enrollment_id: str,
    *,
    journey_id: str = "promo",
    step_id: str = "hello",
    channel: ir.Channel = "email",
    fallback: tuple[ir.Channel, ...] = (),
    category: ir.Category = "marketing",
    now: datetime = NOON,
    body: str = "Hello",
) -> SendRequest:
    step = ir.SendStep(
        id=step_id,
        channel=channel,
        next="end",
        category=category,
        subject="Hi" if channel == "email" or "email" in fallback else None,
        title="Hi" if channel == "push" else None,
        body=body,
        fallback=fallback,
    )
    return SendRequest(
        enrollment_id=enrollment_id,
        journey_id=journey_id,
        version="v1",
        visit=1,
        customer_id=customer_id,
        step=step,
        settings=ir.Settings(),
        event=None,
        now=now.isoformat(),
    )


def sent_to(store: Store, customer_id: str) -> list[tuple[str, str]]:
    with store.session() as session:
        return [(m.enrollment_id, m.channel) for m in session.messages_for(customer_id)]


def test_journeys_sending_at_the_same_moment_at_the_cap_edge_deliver_exactly_the_cap(store: Store) -> None:
    """Two journeys, one customer, one slot left under the daily cap: one message goes, never two."""
    activities = JourneyActivities(store, policy=DeliveryPolicy(daily_cap=3))
    for round_ in range(10):
        customer = f"c-{round_}"
        identify(store, customer, ANN)
        for n in range(2):  # two of the three slots are taken
            assert activities.send_message(request(customer, f"{customer}-earlier-{n}", journey_id=f"j{n}")).status == "sent"
        results = send_together(
            activities, [request(customer, f"{customer}-{journey}", journey_id=journey) for journey in ("cart", "digest")]
        )
        assert sorted(r.status for r in results) == ["sent", "suppressed"], results
        assert len(sent_to(store, customer)) == 3


def send_together(activities: JourneyActivities, requests: list[SendRequest]) -> list[SendResult]:
    """Send each request from its own thread, all released at the same moment."""
    barrier = threading.Barrier(len(requests))
    results: list[SendResult | None] = [None] * len(requests)

    def send(n: int) -> None:
        barrier.wait()
        results[n] = activities.send_message(requests[n])

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [r for r in results if r is not None]


def test_the_daily_cap_spans_journeys_and_skips_transactional_messages(store: Store) -> None:
    identify(store, "ann", ANN)
    activities = JourneyActivities(store, policy=DeliveryPolicy(daily_cap=2))
    assert activities.send_message(request("ann", "e-1", journey_id="cart")).status == "sent"
    assert activities.send_message(request("ann", "e-2", journey_id="receipt", category="transactional")).status == "sent"
    assert activities.send_message(request("ann", "e-3", journey_id="digest")).status == "sent"
    third = activities.send_message(request("ann", "e-4", journey_id="win_back"))
    assert third.status == "suppressed"
    assert third.reason is not None and third.reason.startswith("daily frequency cap: 2 marketing message(s) today")
    assert activities.send_message(request("ann", "e-5", journey_id="receipt", category="transactional")).status == "sent"
    tomorrow = datetime(2026, 1, 7, 14, 0, tzinfo=UTC)  # 09:00 the next day in New York
    assert activities.send_message(request("ann", "e-6", journey_id="win_back", now=tomorrow)).status == "sent"


def test_a_message_that_failed_gives_its_cap_slot_back(store: Store) -> None:
    identify(store, "ann", ANN)
    activities = JourneyActivities(store, policy=DeliveryPolicy(daily_cap=1))
    broken = activities.send_message(request("ann", "e-1", body="{{ customer.missing.deeper }}"))
    assert broken.status == "failed"
    assert activities.send_message(request("ann", "e-2")).status == "sent"


def test_a_held_sms_is_in_the_delivery_log_with_why_and_until_when_then_goes(store: Store) -> None:
    identify(store, "ann", ANN)
    activities = JourneyActivities(store, policy=DeliveryPolicy())
    late = datetime(2026, 1, 6, 2, 30, tzinfo=UTC)  # 21:30 in New York
    held = activities.send_message(request("ann", "e-1", channel="sms", now=late))
    assert (held.status, held.retry_at) == ("deferred", "2026-01-06T13:00:00+00:00")
    with store.session() as session:
        (row,) = session.deliveries_for("ann")
    assert (row.status, row.channel, row.admitted_at) == ("intent", "sms", None)
    assert row.reason == "deferred until 2026-01-06T13:00:00+00:00: SMS marketing only 08:00-21:00 local (TCPA) (America/New_York)"
    assert sent_to(store, "ann") == []
    morning = datetime(2026, 1, 6, 13, 0, tzinfo=UTC)
    assert activities.send_message(request("ann", "e-1", channel="sms", now=morning)).status == "sent"
    assert sent_to(store, "ann") == [("e-1", "sms")]


def test_fallback_sends_on_the_first_reachable_channel_and_records_it(store: Store) -> None:
    identify(store, "ann", {**ANN, "sms_opt_in": False})  # no push token, no SMS consent: e-mail it is
    activities = JourneyActivities(store, policy=DeliveryPolicy())
    result = activities.send_message(request("ann", "e-1", channel="push", fallback=("sms", "email")))
    assert result.status == "sent"
    assert sent_to(store, "ann") == [("e-1", "email")]
    with store.session() as session:
        (row,) = session.deliveries_for("ann")
    assert (row.status, row.channel, row.category) == ("sent", "email", "marketing")


def test_an_undeliverable_email_is_never_sent_to_until_the_address_changes(store: Store) -> None:
    identify(store, "ann", {**ANN, "email_undeliverable": True})
    activities = JourneyActivities(store, policy=DeliveryPolicy())
    for n, category in enumerate(("marketing", "transactional")):
        result = activities.send_message(request("ann", f"e-{n}", category=category))
        assert (result.status, result.reason) == ("suppressed", "the email address is marked undeliverable (email_undeliverable)")
    identify(store, "ann", {"email": "ann@example.com"})  # the same address again: still flagged
    assert activities.send_message(request("ann", "e-2")).status == "suppressed"
    identify(store, "ann", {"email": "ann.new@example.com"})  # a new address starts clean
    assert activities.send_message(request("ann", "e-3")).status == "sent"


async def test_the_delivery_log_is_served_per_customer(store: Store) -> None:
    identify(store, "ann", {**ANN, "email_opt_in": False})
    activities = JourneyActivities(store, policy=DeliveryPolicy())
    activities.send_message(request("ann", "e-1"))
    activities.send_message(request("ann", "e-2", category="transactional", journey_id="receipt", step_id="receipt"))
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(router)
    app.dependency_overrides[runtime] = lambda: SimpleNamespace(store=store)  # the delivery log needs only the store
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        answer = await client.get("/v1/customers/ann/deliveries")
        assert (await client.get("/v1/customers/nobody/deliveries")).status_code == 404
    assert answer.status_code == 200
    rows = [(d["journey"], d["step"], d["category"], d["status"], d["reason"]) for d in answer.json()["deliveries"]]
    assert rows == [
        ("promo", "hello", "marketing", "suppressed", "no consent: the customer has not opted in to email"),
        ("receipt", "receipt", "transactional", "sent", None),
    ]


def test_sending_the_same_request_twice_delivers_once(store: Store) -> None:
    identify(store, "ann", ANN)
    activities = JourneyActivities(store, policy=DeliveryPolicy(daily_cap=5))
    first, again = activities.send_message(request("ann", "e-1")), activities.send_message(request("ann", "e-1"))
    assert (first.status, again.status) == ("sent", "sent")
    assert sent_to(store, "ann") == [("e-1", "email")]
    with store.session() as session:
        _, sends = session.gate_facts("ann", NOON.replace(hour=0), exclude=DeliveryKey("another-enrollment", "hello", 1))
        assert len(sends) == 1  # and it holds one cap slot, not two


def test_marketing_email_carries_the_unsubscribe_link_signed_with_the_config_read_at_start(store: Store, monkeypatch: Any) -> None:
    """The worker's unsubscribe settings are read once: a later change of the environment does not re-sign links."""
    identify(store, "ann", ANN | {"email_opt_in": True})
    monkeypatch.setenv("JOURNEY_PUBLIC_URL", "https://journeys.shop.example")
    monkeypatch.setenv("JOURNEY_UNSUBSCRIBE_SECRET", "secret-at-start")
    for name, value in KEYS_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    settings = WorkerSettings.read()  # as `journey worker` does when it starts
    activities = JourneyActivities(store, policy=DeliveryPolicy(), unsubscribe=settings.delivery.unsubscribe)
    monkeypatch.setenv("JOURNEY_UNSUBSCRIBE_SECRET", "secret-changed-later")
    assert activities.send_message(request("ann", "e-1", body="<p>Hello</p>")).status == "sent"
    with store.session() as session:
        (message,) = session.messages_for("ann")
    expected = UnsubscribeConfig("https://journeys.shop.example", b"secret-at-start").url("ann")
    assert f'href="{expected}"' in message.body
