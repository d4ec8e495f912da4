"""POST /webhooks/twilio/status and /webhooks/twilio/inbound: signed by Twilio, STOP honoured, START restores."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from activities.journey_activities import JourneyActivities
from orchestrator import ir
from orchestrator.runtime.contracts import SendRequest
from orchestrator.store import Store
from tests.webhooks.signing import twilio_request
from tests.webhooks.support import (
    AT,
    JOURNEY,
    PUBLIC_URL,
    TWILIO_TOKEN,
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

BOB = {"phone": "+14155552671", "sms_opt_in": True, "timezone": "UTC"}
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


@pytest.fixture
def nudge(store: Store) -> Sent:
    customer(store, "bob", **BOB)
    return sent(store, "bob", "nudge", "sms", "SM" + "1" * 32)


async def twilio(client: httpx.AsyncClient, path: str, fields: dict[str, str], *, signed_for: str | None = None) -> httpx.Response:
    """POST `fields` to `path`, signed as Twilio signs it for the public URL it was given (or `signed_for`)."""
    body, headers = twilio_request(TWILIO_TOKEN, signed_for or f"{PUBLIC_URL}{path}", fields)
    return await client.post(path, content=body, headers=headers)


def status(message: Sent, state: str, **more: str) -> dict[str, str]:
    return {"MessageSid": message.provider_message_id, "MessageStatus": state, "To": "+14155552671", "AccountSid": "AC1", **more}


def inbound(body: str, sid: str = "SMin1", sender: str = "+14155552671") -> dict[str, str]:
    return {"MessageSid": sid, "From": sender, "To": "+15550100", "Body": body, "AccountSid": "AC1", "NumMedia": "0"}


def number_opt_out(store: Store, phone: str) -> tuple[str, Any] | None:
    """The STOP recorded for the number itself (what a customer who gets the number later inherits)."""
    with store.session() as session:
        return session.number_opt_out(phone)


def send_sms(store: Store, step_id: str, customer_id: str = "bob") -> tuple[str, str | None]:
    """What the delivery gate decides for a marketing SMS to the customer at noon UTC, through the real send activity."""
    request = SendRequest(
        enrollment_id=f"promo-{customer_id}-1", journey_id="promo", version="v1", visit=1, customer_id=customer_id,
        step=ir.SendStep(id=step_id, channel="sms", next="end", body="Sale today"),
        settings=ir.Settings(), event=None, now=AT.replace(hour=12).isoformat(),
    )  # fmt: skip
    result = JourneyActivities(store).send_message(request)
    return result.status, result.reason


@pytest.mark.parametrize(("state", "event"), [("delivered", "sms_delivered"), ("undelivered", "sms_undelivered"), ("failed", "sms_failed")])
async def test_a_status_callback_updates_the_ledger_and_becomes_a_customer_event(
    client: httpx.AsyncClient, store: Store, nudge: Sent, state: str, event: str
) -> None:
    answer = await twilio(client, "/webhooks/twilio/status", status(nudge, "sent"))
    assert answer.json() == {"received": 1, "new": 1}
    assert delivery(store, nudge).provider_status == "sent"
    assert event_properties(store, f"twilio:{nudge.provider_message_id}:sent") is None  # `sent` is logged only

    assert (await twilio(client, "/webhooks/twilio/status", status(nudge, state))).status_code == 200
    assert delivery(store, nudge).provider_status == state
    assert event_properties(store, f"twilio:{nudge.provider_message_id}:{state}") == {
        "name": event, "journey_id": JOURNEY, "step_id": "nudge", "channel": "sms", "provider": "twilio", "provider_event": state,
    }  # fmt: skip


async def test_a_repeated_status_callback_has_effect_once(client: httpx.AsyncClient, store: Store, nudge: Sent) -> None:
    first = await twilio(client, "/webhooks/twilio/status", status(nudge, "delivered"))
    again = await twilio(client, "/webhooks/twilio/status", status(nudge, "delivered"))
    assert (first.json()["new"], again.json()["new"]) == (1, 0)
    assert provider_event_count(store) == 1


async def test_twilio_undelivered_is_a_failed_provider_fact_and_sent_is_none(client: httpx.AsyncClient, store: Store, nudge: Sent) -> None:
    for state in ("sent", "undelivered", "undelivered"):
        await twilio(client, "/webhooks/twilio/status", status(nudge, state, ErrorCode="30003"))
    assert provider_facts(store, nudge.customer_id) == [("provider:nudge:1:failed", "failed", "undelivered")]


async def test_a_carrier_error_for_a_number_that_cannot_get_sms_flags_it_undeliverable(
    client: httpx.AsyncClient, store: Store, nudge: Sent
) -> None:
    assert send_sms(store, "before") == ("sent", None)
    await twilio(client, "/webhooks/twilio/status", status(nudge, "undelivered", ErrorCode="30005"))
    assert profile(store, "bob").traits["phone_undeliverable"] is True
    assert send_sms(store, "after") == ("suppressed", "the phone number is marked undeliverable (phone_undeliverable)")


async def test_the_twilio_error_for_a_number_that_texted_stop_stops_it(client: httpx.AsyncClient, store: Store, nudge: Sent) -> None:
    await twilio(client, "/webhooks/twilio/status", status(nudge, "undelivered", ErrorCode="21610"))
    assert profile(store, "bob").traits["sms_stopped"]["keyword"] == "twilio error 21610"
    assert send_sms(store, "after")[0] == "suppressed"
    customer(store, "cy", phone="+1 415 555 2671", sms_opt_in=True)  # the same number, on another profile
    assert profile(store, "cy").traits["sms_stopped"]["keyword"] == "twilio error 21610"
    assert send_sms(store, "after", customer_id="cy")[0] == "suppressed"


@pytest.mark.parametrize("signed", ["internal-url", "other-token", "missing"])
async def test_a_bad_signature_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, store: Store, gateway: RecordingGateway, nudge: Sent, signed: str
) -> None:
    for path, fields in (("/webhooks/twilio/status", status(nudge, "delivered")), ("/webhooks/twilio/inbound", inbound("STOP"))):
        if signed == "internal-url":  # what this process sees behind the proxy, not the URL Twilio was given
            body, headers = twilio_request(TWILIO_TOKEN, f"http://api.internal{path}", fields)
        else:
            body, headers = twilio_request("someone-elses-token", f"{PUBLIC_URL}{path}", fields)
            if signed == "missing":
                del headers["X-Twilio-Signature"]
        answer = await client.post(path, content=body, headers=headers)
        assert answer.status_code == (401 if signed == "missing" else 403), answer.text
    assert provider_event_count(store) == 0 and gateway.calls == []
    assert delivery(store, nudge).provider_status is None
    assert profile(store, "bob").consent["sms"] is True and "sms_stopped" not in profile(store, "bob").traits


@pytest.mark.parametrize("unset", [("JOURNEY_PUBLIC_URL",)])
async def test_without_a_public_url_the_request_url_is_what_twilio_signed(client: httpx.AsyncClient, store: Store, nudge: Sent) -> None:
    path = "/webhooks/twilio/status"
    assert (await twilio(client, path, status(nudge, "delivered"))).status_code == 403
    assert (await twilio(client, path, status(nudge, "delivered"), signed_for=f"http://api.internal{path}")).status_code == 200


async def test_a_status_callback_without_its_fields_is_refused_naming_them(client: httpx.AsyncClient, store: Store) -> None:
    answer = await twilio(client, "/webhooks/twilio/status", {"AccountSid": "AC1"})
    assert answer.status_code == 400
    assert answer.json()["errors"] == [
        {"field": "MessageSid", "message": "is required"},
        {"field": "MessageStatus", "message": "is required"},
    ]


@pytest.mark.parametrize("keyword", ["STOP", "stop", " Stopall ", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"])
async def test_stop_suppresses_sms_marketing_even_after_an_identify_opts_in_again(
    client: httpx.AsyncClient, store: Store, nudge: Sent, keyword: str
) -> None:
    assert send_sms(store, "before") == ("sent", None)
    answer = await twilio(client, "/webhooks/twilio/inbound", inbound(keyword))
    assert (answer.status_code, answer.text, answer.headers["content-type"]) == (200, EMPTY_TWIML, "text/xml; charset=utf-8")
    bob = profile(store, "bob")
    assert bob.consent["sms"] is False
    assert bob.traits["sms_stopped"]["keyword"] == keyword.strip().upper()
    stopped = ("suppressed", "the customer texted STOP (sms_stopped); only START, YES or UNSTOP from their phone lifts it")
    assert send_sms(store, "after") == stopped
    customer(store, "bob", sms_opt_in=True)  # a CRM sync re-sending an old opt-in must not undo the STOP
    assert send_sms(store, "after-sync") == stopped
    assert event_properties(store, "twilio:SMin1:bob") == {
        "name": "sms_opted_out",
        "channel": "sms",
        "provider": "twilio",
        "keyword": keyword.strip().upper(),
    }


@pytest.mark.parametrize("keyword", ["START", "yes", "UNSTOP"])
async def test_start_after_stop_restores_sms_consent(client: httpx.AsyncClient, store: Store, nudge: Sent, keyword: str) -> None:
    await twilio(client, "/webhooks/twilio/inbound", inbound("STOP", sid="SMin1"))
    await twilio(client, "/webhooks/twilio/inbound", inbound("STOP", sid="SMin2"))  # twice: the first record stands
    assert send_sms(store, "stopped")[0] == "suppressed"
    answer = await twilio(client, "/webhooks/twilio/inbound", inbound(keyword, sid="SMin3"))
    assert answer.text == EMPTY_TWIML
    bob = profile(store, "bob")
    assert bob.consent["sms"] is True and "sms_stopped" not in bob.traits
    assert send_sms(store, "restarted") == ("sent", None)
    assert event_properties(store, "twilio:SMin3:bob") == {
        "name": "sms_opted_in",
        "channel": "sms",
        "provider": "twilio",
        "keyword": keyword.upper(),
    }


async def test_stop_and_start_are_consent_records_with_the_message_sid_and_keyword(
    client: httpx.AsyncClient, store: Store, nudge: Sent
) -> None:
    await twilio(client, "/webhooks/twilio/inbound", inbound("STOP", sid="SMin1"))
    await twilio(client, "/webhooks/twilio/inbound", inbound("STOP", sid="SMin1"))  # Twilio delivering it again
    await twilio(client, "/webhooks/twilio/inbound", inbound("START", sid="SMin2"))
    with store.read() as session:
        found = [(r.channel, r.opted_in, r.source, r.evidence, r.detail) for r in session.consent_records_for("bob")]
    assert found == [
        ("sms", True, "identify", None, None),  # the fixture's opt-in
        ("sms", False, "sms_keyword", "SMin1", "STOP"),
        ("sms", True, "sms_keyword", "SMin2", "START"),
    ]


async def test_a_stop_replayed_after_start_changes_nothing(client: httpx.AsyncClient, store: Store, nudge: Sent) -> None:
    stop = inbound("STOP", sid="SMin1")
    await twilio(client, "/webhooks/twilio/inbound", stop)
    await twilio(client, "/webhooks/twilio/inbound", inbound("START", sid="SMin2"))
    await twilio(client, "/webhooks/twilio/inbound", stop)
    assert profile(store, "bob").consent["sms"] is True and "sms_stopped" not in profile(store, "bob").traits
    assert send_sms(store, "restarted") == ("sent", None)
    assert number_opt_out(store, BOB["phone"]) is None


async def test_an_opted_out_error_replayed_after_start_changes_nothing(client: httpx.AsyncClient, store: Store, nudge: Sent) -> None:
    refused = status(nudge, "undelivered", ErrorCode="21610")
    await twilio(client, "/webhooks/twilio/status", refused)
    await twilio(client, "/webhooks/twilio/inbound", inbound("START", sid="SMin2"))
    assert (await twilio(client, "/webhooks/twilio/status", refused)).json() == {"received": 1, "new": 0}
    assert profile(store, "bob").consent["sms"] is True
    assert send_sms(store, "restarted") == ("sent", None)
    assert number_opt_out(store, BOB["phone"]) is None


async def test_start_without_a_stop_opts_nobody_in(client: httpx.AsyncClient, store: Store) -> None:
    customer(store, "cy", phone="+14155552672")  # never opted in to SMS
    await twilio(client, "/webhooks/twilio/inbound", inbound("START", sender="+14155552672"))
    assert profile(store, "cy").consent["sms"] is False


async def test_a_stop_from_a_number_nobody_has_yet_stops_whoever_gets_it(client: httpx.AsyncClient, store: Store) -> None:
    number = "+14155550000"
    await twilio(client, "/webhooks/twilio/inbound", inbound("STOP", sid="SMa", sender=number))
    customer(store, "dan", phone=number, sms_opt_in=True, timezone="UTC")  # a new customer, with that number
    dan = profile(store, "dan")
    assert dan.consent["sms"] is False and dan.traits["sms_stopped"]["keyword"] == "STOP"
    assert send_sms(store, "first", customer_id="dan")[0] == "suppressed"
    customer(store, "eve", phone="+14155550001", sms_opt_in=True, timezone="UTC")
    customer(store, "eve", phone=number)  # an existing customer changing to that number
    assert profile(store, "eve").traits["sms_stopped"]["keyword"] == "STOP"

    await twilio(client, "/webhooks/twilio/inbound", inbound("START", sid="SMb", sender=number))
    assert profile(store, "dan").consent["sms"] is True and "sms_stopped" not in profile(store, "dan").traits
    assert send_sms(store, "restarted", customer_id="dan") == ("sent", None)
    customer(store, "fay", phone=number, sms_opt_in=True, timezone="UTC")  # after START, the number is free again
    assert "sms_stopped" not in profile(store, "fay").traits


async def test_other_inbound_messages_and_unknown_numbers_change_no_profile(
    client: httpx.AsyncClient, store: Store, gateway: RecordingGateway, nudge: Sent
) -> None:
    for fields in (inbound("Stop sending me the blue ones please", sid="SMa"), inbound("STOP", sid="SMb", sender="+14155550000")):
        answer: Any = await twilio(client, "/webhooks/twilio/inbound", fields)
        assert answer.text == EMPTY_TWIML
    assert profile(store, "bob").consent["sms"] is True
    assert gateway.calls == [] and provider_event_count(store) == 2
