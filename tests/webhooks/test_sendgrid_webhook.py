"""POST /webhooks/sendgrid: signed events update the ledger and reach journeys as customer events, once, or not at all."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from activities.journey_activities import JourneyActivities
from orchestrator import ir
from orchestrator.runtime.contracts import SendRequest
from orchestrator.store import Store
from tests.webhooks.signing import SENDGRID_SIGNATURE, SENDGRID_TIMESTAMP, SendGridSigner
from tests.webhooks.support import (
    AT,
    JOURNEY,
    RecordingGateway,
    Sent,
    customer,
    delivery,
    event_properties,
    profile,
    provider_event_count,
    provider_facts,
    sent,
)

ANN = {"email": "ann@example.com", "first_name": "Ann"}


@pytest.fixture
def reminder(store: Store) -> Sent:
    customer(store, "ann", **ANN)
    return sent(store, "ann", "reminder", "email", "sg-msg-1")


def sendgrid_event(message: Sent, event: str, event_id: str, **more: Any) -> dict[str, Any]:
    """An event as SendGrid posts it: our custom arg copied in, sg_message_id built on the X-Message-Id."""
    return {
        "email": "ann@example.com",
        "timestamp": int(time.time()) - 30,
        "event": event,
        "sg_event_id": event_id,
        "sg_message_id": f"{message.provider_message_id}.filterdrecv-5d8b6d4c7-abcde-1-0",
        "journey_message_id": message.reference,
        **more,
    }


async def post(client: httpx.AsyncClient, signer: SendGridSigner, *events: dict[str, Any], timestamp: int | None = None) -> httpx.Response:
    body, headers = signer.request(events, timestamp=timestamp)
    return await client.post("/webhooks/sendgrid", content=body, headers=headers)


def send_again(store: Store, step_id: str = "later") -> tuple[str, str | None]:
    """What the delivery gate decides for another marketing email to Ann, through the real send activity."""
    request = SendRequest(
        enrollment_id="other-ann-1", journey_id="other", version="v1", visit=1, customer_id="ann",
        step=ir.SendStep(id=step_id, channel="email", next="end", subject="Hi", body="Hello"),
        settings=ir.Settings(), event=None, now=AT.isoformat(),
    )  # fmt: skip
    result = JourneyActivities(store).send_message(request)
    return result.status, result.reason


async def test_an_open_updates_the_ledger_and_signals_the_enrollment_with_its_journey_and_step(
    client: httpx.AsyncClient, signer: SendGridSigner, store: Store, gateway: RecordingGateway, reminder: Sent
) -> None:
    answer = await post(client, signer, sendgrid_event(reminder, "delivered", "ev-1"), sendgrid_event(reminder, "open", "ev-2"))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"received": 2, "new": 2}
    assert delivery(store, reminder).provider_status == "open"
    expected = {"journey_id": JOURNEY, "step_id": "reminder", "channel": "email", "provider": "sendgrid"}
    assert event_properties(store, "sendgrid:ev-1") == {"name": "email_delivered", **expected, "provider_event": "delivered"}
    assert event_properties(store, "sendgrid:ev-2") == {"name": "email_opened", **expected, "provider_event": "open"}
    # email_opened is what the journey waits for: its running enrollment gets it, with the journey and step.
    (signal,) = gateway.signals()
    assert signal.enrollment_id == reminder.enrollment_id
    assert (signal.event.name, signal.event.message_id) == ("email_opened", "sendgrid:ev-2")
    assert (signal.event.properties["journey_id"], signal.event.properties["step_id"]) == (JOURNEY, "reminder")


@pytest.mark.parametrize(
    ("event", "name"),
    [
        ("delivered", "email_delivered"),
        ("open", "email_opened"),
        ("click", "email_clicked"),
        ("bounce", "email_bounced"),
        ("dropped", "email_dropped"),
        ("unsubscribe", "email_unsubscribed"),
        ("group_unsubscribe", "email_unsubscribed"),
        ("spamreport", "email_spam_reported"),
    ],
)
async def test_every_delivery_event_updates_the_ledger_and_becomes_its_customer_event(
    client: httpx.AsyncClient, signer: SendGridSigner, store: Store, reminder: Sent, event: str, name: str
) -> None:
    assert (await post(client, signer, sendgrid_event(reminder, event, "ev-1"))).status_code == 200
    assert delivery(store, reminder).provider_status == event
    properties = event_properties(store, "sendgrid:ev-1")
    assert properties is not None
    assert (properties["name"], properties["journey_id"], properties["step_id"], properties["provider_event"]) == (
        name,
        JOURNEY,
        "reminder",
        event,
    )


async def test_without_the_custom_arg_the_event_is_matched_by_the_sendgrid_message_id(
    client: httpx.AsyncClient, signer: SendGridSigner, store: Store, reminder: Sent
) -> None:
    event = sendgrid_event(reminder, "click", "ev-1", url="https://shop.example/cart")
    del event["journey_message_id"]
    assert (await post(client, signer, event)).status_code == 200
    assert delivery(store, reminder).provider_status == "click"
    assert event_properties(store, "sendgrid:ev-1") == {
        "name": "email_clicked", "journey_id": JOURNEY, "step_id": "reminder", "channel": "email", "provider": "sendgrid",
        "provider_event": "click", "url": "https://shop.example/cart",
    }  # fmt: skip


async def test_the_ledger_keeps_the_furthest_state_when_events_arrive_out_of_order(
    client: httpx.AsyncClient, signer: SendGridSigner, store: Store, reminder: Sent
) -> None:
    await post(client, signer, sendgrid_event(reminder, "click", "ev-2"))
    await post(client, signer, sendgrid_event(reminder, "delivered", "ev-1"))
    assert delivery(store, reminder).provider_status == "click"


async def test_a_repeated_sg_event_id_has_effect_once(
    client: httpx.AsyncClient, signer: SendGridSigner, store: Store, gateway: RecordingGateway, reminder: Sent
) -> None:
    opened = sendgrid_event(reminder, "open", "ev-1")
    first = await post(client, signer, opened, opened)  # repeated within one batch, too
    again = await post(client, signer, opened)
    assert (first.status_code, again.status_code) == (200, 200)
    assert (first.json(), again.json()) == ({"received": 1, "new": 1}, {"received": 1, "new": 0})
    assert len(gateway.signals()) == 1
    assert provider_event_count(store) == 1


async def test_each_outcome_of_a_message_is_a_provider_fact_once_whatever_sendgrid_repeats(
    client: httpx.AsyncClient, signer: SendGridSigner, store: Store, reminder: Sent
) -> None:
    events = [("processed", "ev-0"), ("delivered", "ev-1"), ("open", "ev-2"), ("open", "ev-3"), ("click", "ev-4"), ("dropped", "ev-5")]
    for _ in range(2):  # the whole request delivered again
        assert (await post(client, signer, *(sendgrid_event(reminder, e, i) for e, i in events))).status_code == 200
    assert provider_facts(store, "ann") == [
        ("provider:reminder:1:delivered", "delivered", "delivered"),
        ("provider:reminder:1:opened", "opened", "open"),  # a second open is the same outcome
        ("provider:reminder:1:clicked", "clicked", "click"),
        ("provider:reminder:1:failed", "failed", "dropped"),
    ]
    with store.read() as session:
        (fact,) = [f for f in session.facts_for("ann") if f.status == "opened"]
    assert (fact.journey_id, fact.enrollment_id, fact.name) == ("reminder_opened", reminder.enrollment_id, "email")


async def test_an_unsubscribe_replayed_after_the_customer_opted_in_again_changes_nothing(
    client: httpx.AsyncClient, signer: SendGridSigner, store: Store, reminder: Sent
) -> None:
    unsubscribed = sendgrid_event(reminder, "unsubscribe", "ev-1")
    assert (await post(client, signer, unsubscribed)).status_code == 200
    assert profile(store, "ann").consent["email"] is False
    assert event_properties(store, "sendgrid:ev-1") is not None
    customer(store, "ann", email_opt_in=True)
    assert (await post(client, signer, unsubscribed)).status_code == 200
    assert profile(store, "ann").consent["email"] is True


async def test_a_replayed_unsubscribe_that_found_consent_already_revoked_does_not_revoke_it_later(
    client: httpx.AsyncClient, signer: SendGridSigner, store: Store, reminder: Sent
) -> None:
    customer(store, "ann", email_opt_in=False)  # unsubscribed by our own link before SendGrid's event arrived
    unsubscribed = sendgrid_event(reminder, "unsubscribe", "ev-1")
    assert (await post(client, signer, unsubscribed)).json() == {"received": 1, "new": 1}
    customer(store, "ann", email_opt_in=True)
    assert (await post(client, signer, unsubscribed)).json() == {"received": 1, "new": 0}
    assert profile(store, "ann").consent["email"] is True


async def test_a_replayed_event_leaves_the_ledger_state_a_later_event_set(
    client: httpx.AsyncClient, signer: SendGridSigner, store: Store, reminder: Sent
) -> None:
    bounced = sendgrid_event(reminder, "bounce", "ev-1", type="bounce", timestamp=int(time.time()) - 60)
    await post(client, signer, bounced)
    await post(client, signer, sendgrid_event(reminder, "dropped", "ev-2"))
    before = delivery(store, reminder)
    assert (await post(client, signer, bounced)).json() == {"received": 1, "new": 0}
    after = delivery(store, reminder)
    assert (after.provider_status, after.provider_status_at) == ("dropped", before.provider_status_at)


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        pytest.param("stale", 403, "signature_stale", id="stale"),
        pytest.param("future", 403, "signature_stale", id="from-the-future"),
        pytest.param("tampered", 403, "signature_invalid", id="tampered-body"),
        pytest.param("other-key", 403, "signature_invalid", id="signed-by-another-key"),
        pytest.param("garbage", 403, "signature_invalid", id="not-base64"),
        pytest.param("unsigned", 401, "signature_missing", id="unsigned"),
    ],
)
async def test_an_untrusted_request_is_refused_and_changes_nothing(
    client: httpx.AsyncClient,
    signer: SendGridSigner,
    store: Store,
    gateway: RecordingGateway,
    reminder: Sent,
    headers: str,
    status: int,
    code: str,
) -> None:
    events = [sendgrid_event(reminder, "bounce", "ev-1", type="bounce"), sendgrid_event(reminder, "open", "ev-2")]
    now = int(time.time())
    # Well outside the 300 s window: a loaded machine may take seconds between signing and checking.
    signed_at = {"stale": now - 360, "future": now + 360}.get(headers, now)
    body, sent_headers = signer.request(events, timestamp=signed_at)
    if headers == "tampered":
        body = body.replace(b"bounce", b"bounc3", 1)
    elif headers == "other-key":
        sent_headers[SENDGRID_SIGNATURE] = SendGridSigner().sign(body, signed_at)
    elif headers == "garbage":
        sent_headers[SENDGRID_SIGNATURE] = "not a signature!"
    elif headers == "unsigned":
        del sent_headers[SENDGRID_SIGNATURE], sent_headers[SENDGRID_TIMESTAMP]
    answer = await client.post("/webhooks/sendgrid", content=body, headers=sent_headers)
    assert (answer.status_code, answer.json()["error"]) == (status, code), answer.text
    assert provider_event_count(store) == 0 and gateway.calls == []
    assert delivery(store, reminder).provider_status is None
    assert not profile(store, "ann").traits.get("email_undeliverable")
    assert event_properties(store, "sendgrid:ev-2") is None


async def test_a_recent_signature_is_accepted_at_the_edge_of_the_window(
    client: httpx.AsyncClient, signer: SendGridSigner, reminder: Sent
) -> None:
    assert (await post(client, signer, sendgrid_event(reminder, "open", "ev-1"), timestamp=int(time.time()) - 290)).status_code == 200


@pytest.mark.parametrize("unset", [("SENDGRID_WEBHOOK_PUBLIC_KEY",)])
async def test_without_a_verification_key_nothing_is_accepted(
    client: httpx.AsyncClient, signer: SendGridSigner, store: Store, reminder: Sent
) -> None:
    answer = await post(client, signer, sendgrid_event(reminder, "open", "ev-1"))
    assert (answer.status_code, answer.json()["error"]) == (503, "webhook_not_configured")
    assert provider_event_count(store) == 0


@pytest.mark.parametrize(
    ("event", "more", "reason"),
    [
        ("bounce", {"type": "bounce", "reason": "550 no such user"}, "the email address is marked undeliverable (email_undeliverable)"),
        ("spamreport", {}, "no consent: the customer has not opted in to email"),  # a complaint withdraws consent too
    ],
)
async def test_a_hard_bounce_or_spam_report_flags_the_address_and_later_sends_are_suppressed(
    client: httpx.AsyncClient, signer: SendGridSigner, store: Store, reminder: Sent, event: str, more: dict[str, Any], reason: str
) -> None:
    assert send_again(store, "before") == ("sent", None)
    assert (await post(client, signer, sendgrid_event(reminder, event, "ev-1", **more))).status_code == 200
    assert profile(store, "ann").traits["email_undeliverable"] is True
    assert profile(store, "ann").consent["email"] is (event != "spamreport")
    assert send_again(store) == ("suppressed", reason)


async def test_a_soft_bounce_or_an_event_about_an_old_address_flags_nothing(
    client: httpx.AsyncClient, signer: SendGridSigner, store: Store, reminder: Sent
) -> None:
    blocked = sendgrid_event(reminder, "bounce", "ev-1", type="blocked")
    old_address = sendgrid_event(reminder, "spamreport", "ev-2", email="ann.old@example.com")
    assert (await post(client, signer, blocked, old_address)).status_code == 200
    assert "email_undeliverable" not in profile(store, "ann").traits
    assert (event_properties(store, "sendgrid:ev-1") or {}).get("name") == "email_bounced"  # still a customer event
    assert send_again(store) == ("sent", None)


async def test_an_unsubscribe_revokes_email_marketing_consent(
    client: httpx.AsyncClient, signer: SendGridSigner, store: Store, reminder: Sent
) -> None:
    assert (await post(client, signer, sendgrid_event(reminder, "group_unsubscribe", "ev-1", asm_group_id=42))).status_code == 200
    assert profile(store, "ann").consent["email"] is False
    assert send_again(store) == ("suppressed", "no consent: the customer has not opted in to email")
    assert event_properties(store, "sendgrid:ev-1") == {
        "name": "email_unsubscribed", "journey_id": JOURNEY, "step_id": "reminder", "channel": "email", "provider": "sendgrid",
        "provider_event": "group_unsubscribe",
    }  # fmt: skip


@pytest.mark.parametrize("event", ["unsubscribe", "spamreport"])
async def test_an_unsubscribe_or_complaint_is_a_consent_record_with_the_sg_event_id(
    client: httpx.AsyncClient, signer: SendGridSigner, store: Store, reminder: Sent, event: str
) -> None:
    assert (await post(client, signer, sendgrid_event(reminder, event, "ev-1"))).status_code == 200
    assert (await post(client, signer, sendgrid_event(reminder, event, "ev-1"))).status_code == 200  # delivered again
    with store.read() as session:
        found = [(r.channel, r.opted_in, r.source, r.evidence, r.detail) for r in session.consent_records_for("ann")]
    assert found == [("email", False, "sendgrid", "ev-1", event)]


async def test_an_event_for_a_message_we_did_not_send_is_logged_only(
    client: httpx.AsyncClient, signer: SendGridSigner, store: Store, gateway: RecordingGateway
) -> None:
    stranger = {"email": "x@example.com", "timestamp": int(time.time()), "event": "open", "sg_event_id": "ev-1", "sg_message_id": "zz.1"}
    assert (await post(client, signer, stranger)).json() == {"received": 1, "new": 1}
    assert provider_event_count(store) == 1 and gateway.calls == []


async def test_a_bad_payload_is_refused_naming_the_field_and_changes_nothing(
    client: httpx.AsyncClient, signer: SendGridSigner, store: Store, reminder: Sent
) -> None:
    good = sendgrid_event(reminder, "open", "ev-1")
    answer = await post(client, signer, good, {**good, "sg_event_id": ""}, {**good, "timestamp": "yesterday", "event": None})
    assert answer.status_code == 400
    assert answer.json()["errors"] == [
        {"field": "[1].sg_event_id", "message": "is required: a non-empty string"},
        {"field": "[2].event", "message": "is required: the event type, e.g. 'delivered'"},
        {"field": "[2].timestamp", "message": "is required: a Unix time in seconds"},
    ]
    _, headers = signer.request([])
    not_a_list = b'{"event": "open"}'
    headers = {**headers, SENDGRID_SIGNATURE: signer.sign(not_a_list, int(headers[SENDGRID_TIMESTAMP]))}
    answer = await client.post("/webhooks/sendgrid", content=not_a_list, headers=headers)
    assert (answer.status_code, answer.json()["errors"]) == (400, [{"field": "body", "message": "must be a JSON array of SendGrid events"}])
    assert provider_event_count(store) == 0 and delivery(store, reminder).provider_status is None


async def test_signed_json_nested_too_deep_is_refused_naming_the_body(
    client: httpx.AsyncClient, signer: SendGridSigner, store: Store
) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    _, headers = signer.request([])
    headers = {**headers, SENDGRID_SIGNATURE: signer.sign(deep, int(headers[SENDGRID_TIMESTAMP]))}
    answer = await client.post("/webhooks/sendgrid", content=deep, headers=headers)
    too_deep = {"field": "body", "message": "is nested too deeply to be SendGrid events"}
    assert (answer.status_code, answer.json()["errors"]) == (400, [too_deep])
    assert provider_event_count(store) == 0


async def test_while_temporal_is_down_the_batch_is_refused_whole_and_a_retry_applies_it_once(
    client: httpx.AsyncClient, signer: SendGridSigner, store: Store, gateway: RecordingGateway, reminder: Sent
) -> None:
    batch = [sendgrid_event(reminder, "bounce", "ev-1", type="bounce"), sendgrid_event(reminder, "open", "ev-2")]
    gateway.down = True
    answer = await post(client, signer, *batch)
    assert answer.status_code == 503
    assert provider_event_count(store) == 0 and delivery(store, reminder).provider_status is None
    assert "email_undeliverable" not in profile(store, "ann").traits
    assert event_properties(store, "sendgrid:ev-1") is None

    gateway.down = False
    assert (await post(client, signer, *batch)).json() == {"received": 2, "new": 2}
    assert (await post(client, signer, *batch)).json() == {"received": 2, "new": 0}
    assert profile(store, "ann").traits["email_undeliverable"] is True
    assert delivery(store, reminder).provider_status == "bounce"
    assert len(gateway.signals()) == 1
