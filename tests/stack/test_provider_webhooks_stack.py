"""Issue 4's end-to-end test on `journey dev`: real SDKs to the fake providers, signed webhooks back, STOP honoured.

Identify and track through the API; the email reaches fake SendGrid with the right
personalization; a signed open event posted to /webhooks/sendgrid moves the
journey onto its opened path; that path's SMS reaches fake Twilio for a customer
who did not text STOP, and never leaves for one who did.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from orchestrator.host.devserver import free_port
from tests.activities.providers.fakes import SENDGRID, TWILIO, FakeProviders, Recorded
from tests.stack.devstack_process import DevStack
from tests.stack.processes import eventually
from tests.webhooks.signing import SendGridSigner, twilio_request

OPENED_PATH = """\
id: cart_opened
name: Reminder; a thank-you SMS if it is opened, another email if not
trigger: {event: checkout_started}
steps:
  - id: reminder
    send:
      channel: email
      subject: "{{ customer.first_name }}, your cart of {{ event.cart_value }} is waiting"
      body: "<p>Hi {{ customer.first_name }}, here is your cart: {{ event.cart_url }}</p>"
  - id: opened
    wait_for: {event: email_opened, where: "event.step_id == 'reminder'", within: 30s, timeout_next: not_opened}
  - id: thanks
    # Transactional, so that the TCPA window cannot hold it whatever the hour the test runs at; a STOP blocks it all the same.
    send: {channel: sms, category: transactional, body: "Thanks for looking, {{ customer.first_name }}!"}
    next: end
  - id: not_opened
    send: {channel: email, subject: "Still thinking?", body: "<p>Your cart is saved.</p>"}
"""
TWILIO_TOKEN = "stack-twilio-token"
PEOPLE = {
    "ann": {"email": "ann@example.com", "first_name": "Ann", "phone": "+14155552671", "sms_opt_in": True},
    "bob": {"email": "bob@example.com", "first_name": "Bob", "phone": "+14155552672", "sms_opt_in": True},
}


@pytest.fixture
def fake() -> Iterator[FakeProviders]:
    with FakeProviders() as fake:
        yield fake


@pytest.fixture
def signer() -> SendGridSigner:
    return SendGridSigner()


@pytest.fixture
def stack(tmp_path: Path, fake: FakeProviders, signer: SendGridSigner) -> Iterator[DevStack]:
    folder = tmp_path / "journeys"
    folder.mkdir()
    (folder / "cart_opened.yaml").write_text(OPENED_PATH)
    port = free_port()
    env = {
        "SENDGRID_API_KEY": "SG.stack-test",
        "JOURNEY_UNSUBSCRIBE_SECRET": "stack-test-unsubscribe-secret",
        "SENDGRID_FROM": "Shop <news@shop.example>",
        "SENDGRID_BASE_URL": fake.url,
        "SENDGRID_WEBHOOK_PUBLIC_KEY": signer.public_key,
        "TWILIO_ACCOUNT_SID": "AC0123",
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_FROM": "+15550100",
        "TWILIO_BASE_URL": fake.url,
        "JOURNEY_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    stack = DevStack(folder, tmp_path / ".journey", api_port=port, env=env)
    try:
        stack.start()
        yield stack
    finally:
        stack.close()


def to(request: Recorded) -> str:
    return str(request.body["personalizations"][0]["to"][0]["email"] if request.route == SENDGRID else request.body["To"])


def post_twilio(stack: DevStack, path: str, fields: dict[str, str]) -> httpx.Response:
    body, headers = twilio_request(TWILIO_TOKEN, stack.url + path, fields)
    return httpx.post(stack.url + path, content=body, headers=headers, timeout=30)


def post_open(stack: DevStack, signer: SendGridSigner, email: Recorded, event_id: str) -> httpx.Response:
    """The open event SendGrid would post for `email`: our custom arg comes back on it."""
    event = {
        "email": to(email),
        "timestamp": int(time.time()),
        "event": "open",
        "sg_event_id": event_id,
        "sg_message_id": "unknown.filterdrecv-1",
        "journey_message_id": email.body["custom_args"]["journey_message_id"],
    }
    body, headers = signer.request([event])
    return httpx.post(stack.url + "/webhooks/sendgrid", content=body, headers=headers, timeout=30)


def journey(stack: DevStack, customer: str) -> dict[str, Any]:
    (only,) = stack.get(f"/v1/customers/{customer}/journeys").json()["journeys"]
    return dict(only)


def test_the_open_webhook_takes_the_opened_path_and_an_sms_after_stop_never_leaves(
    stack: DevStack, fake: FakeProviders, signer: SendGridSigner
) -> None:
    for customer, traits in PEOPLE.items():
        assert stack.post("/v1/identify", {"userId": customer, "traits": traits}).status_code == 200
        tracked = stack.post(
            "/v1/track",
            {
                "userId": customer,
                "event": "checkout_started",
                "properties": {"cart_value": 42, "cart_url": f"https://shop.example/c/{customer}"},
            },
        )
        assert tracked.json()["enrolled"], tracked.text

    emails = eventually(lambda: len(fake.sent(SENDGRID)) == 2 and fake.sent(SENDGRID), timeout=30, what="both reminders at fake SendGrid")
    by_customer = {to(email).split("@")[0]: email for email in emails}
    ann = by_customer["ann"].body
    assert ann["subject"] == "Ann, your cart of 42 is waiting"
    assert ann["personalizations"] == [{"to": [{"email": "ann@example.com"}]}]
    assert ann["content"][-1] == {"type": "text/html", "value": ann["content"][-1]["value"]}
    assert ann["content"][-1]["value"].startswith("<p>Hi Ann, here is your cart: https://shop.example/c/ann</p>")
    assert "ann" not in json.dumps(ann["custom_args"])  # the message id is opaque

    stopped = post_twilio(stack, "/webhooks/twilio/inbound", {"MessageSid": "SMin1", "From": PEOPLE["ann"]["phone"], "Body": "STOP"})
    assert stopped.status_code == 200 and "<Response>" in stopped.text
    for n, customer in enumerate(("ann", "bob")):
        answer = post_open(stack, signer, by_customer[customer], f"open-{n}")
        assert answer.json() == {"received": 1, "new": 1}, answer.text

    # Both took the opened path (no "Still thinking?"): Bob's thank-you reached Twilio, Ann's was stopped by her STOP.
    for customer in ("ann", "bob"):
        stack.wait_for(f"/v1/customers/{customer}/journeys", lambda b: b["journeys"][0]["status"] == "completed", 30)
        assert journey(stack, customer)["current_step"] == "thanks"
    (sms,) = fake.sent(TWILIO)
    assert sms.body == {"To": PEOPLE["bob"]["phone"], "From": "+15550100", "Body": "Thanks for looking, Bob!",
                        "StatusCallback": f"{stack.url}/webhooks/twilio/status"}  # fmt: skip
    deliveries = {d["step"]: d for d in stack.get("/v1/customers/ann/deliveries").json()["deliveries"]}
    assert deliveries["reminder"]["provider_status"] == "open"
    assert (deliveries["thanks"]["status"], deliveries["thanks"]["reason"]) == (
        "suppressed", "the customer texted STOP (sms_stopped); only START, YES or UNSTOP from their phone lifts it"
    )  # fmt: skip
    assert [to(email) for email in fake.sent(SENDGRID)] == [to(email) for email in emails]  # no "Still thinking?"
