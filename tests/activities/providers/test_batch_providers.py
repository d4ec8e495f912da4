"""Each provider's batch call through its real SDK against the local fakes: how many requests, what is in them, and
each message's own answer."""

from __future__ import annotations

from dataclasses import replace

import pytest
from firebase_admin import messaging

from activities.messages import Message
from activities.providers import PermanentFailure, ProviderResult, RetryableFailure, message_reference
from activities.providers.batches import Outgoing
from activities.providers.fcm_push import FcmPush
from activities.providers.sendgrid_email import HTML_TAG, SUBSTITUTIONS_LIMIT, TEXT_TAG, SendGridEmail
from activities.providers.twilio_sms import TwilioSms
from tests.activities.providers.fakes import FCM, SENDGRID, TWILIO, FakeProviders, Fault
from tests.activities.providers.test_providers import EMAIL, PUSH, SMS


def email(n: int, body: str = "<p>Your cart</p>", text: str = "Your cart", to: str | None = None) -> Outgoing:
    message = replace(EMAIL, to=to or f"c{n}@example.com", subject=f"Hi {n}", body=body, text=text)
    return Outgoing(message, f"e-{n}:reminder:1")


def test_sendgrid_shares_the_content_of_identical_messages_in_one_request(sendgrid: SendGridEmail, fake: FakeProviders) -> None:
    answers = sendgrid.send_batch([email(n) for n in range(3)])
    [request] = fake.sent(SENDGRID)
    assert [type(a) for a in answers] == [ProviderResult] * 3
    assert request.body["content"] == [{"type": "text/plain", "value": "Your cart"}, {"type": "text/html", "value": "<p>Your cart</p>"}]
    assert request.body["categories"] == ["marketing"]
    assert request.body["personalizations"][1] == {
        "to": [{"email": "c1@example.com"}],
        "subject": "Hi 1",
        "headers": EMAIL.headers,
        "custom_args": {"journey_message_id": message_reference("e-1:reminder:1")},
    }


def test_sendgrid_carries_each_messages_own_content_as_substitutions(sendgrid: SendGridEmail, fake: FakeProviders) -> None:
    sendgrid.send_batch([email(n, body=f"<p>Hello {n}</p>", text=f"Hello {n}") for n in range(3)])
    [request] = fake.sent(SENDGRID)
    assert [part["value"] for part in request.body["content"]] == [TEXT_TAG, HTML_TAG]
    assert request.body["personalizations"][2]["substitutions"] == {HTML_TAG: "<p>Hello 2</p>", TEXT_TAG: "Hello 2"}


def test_sendgrid_never_names_an_address_twice_in_a_request_and_sends_a_large_message_alone(
    sendgrid: SendGridEmail, fake: FakeProviders
) -> None:
    large = "<p>" + "x" * SUBSTITUTIONS_LIMIT + "</p>"
    items = [email(0, body="<p>A</p>"), email(1, body="<p>B</p>", to="c0@example.com"), email(2, body=large), email(3, body="<p>C</p>")]
    answers = sendgrid.send_batch(items)
    assert [type(a) for a in answers] == [ProviderResult] * 4
    requests = fake.sent(SENDGRID)
    recipients = sorted(sorted(p["to"][0]["email"] for p in r.body["personalizations"]) for r in requests)
    assert recipients == [["c0@example.com"], ["c0@example.com", "c3@example.com"], ["c2@example.com"]]


def test_sendgrid_retries_every_message_of_a_request_it_could_not_take(sendgrid: SendGridEmail, fake: FakeProviders) -> None:
    fake.fail_next(SENDGRID, Fault(503))
    answers = sendgrid.send_batch([email(n) for n in range(2)])
    assert [type(a) for a in answers] == [RetryableFailure] * 2
    assert len(fake.sent(SENDGRID)) == 1


def test_fcm_sends_a_batch_with_send_each_and_answers_each_message_from_its_tokens(
    fcm: FcmPush, fake: FakeProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    send_each = messaging.send_each

    def counted(batch: list[messaging.Message], **kwargs: object) -> messaging.BatchResponse:
        calls.append(len(batch))
        return send_each(batch, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(messaging, "send_each", counted)
    fake.unregistered_tokens.update({"dead-1", "dead-2"})
    items = [
        Outgoing(PUSH, "p-1:step:1", ("tok-1", "dead-1")),
        Outgoing(PUSH, "p-2:step:1", ("dead-2",)),
        Outgoing(PUSH, "p-3:step:1", ("tok-3",)),
    ]
    answers = fcm.send_batch(items)
    assert calls == [4]
    assert len([r for r in fake.sent(FCM)]) == 4
    first, second, third = answers
    assert isinstance(first, ProviderResult) and first.invalid_recipients == ("dead-1",)
    assert isinstance(second, PermanentFailure) and second.invalid_recipients == ("dead-2",)
    assert isinstance(third, ProviderResult) and third.invalid_recipients == ()


def test_twilio_answers_each_message_of_a_batch_on_its_own(twilio: TwilioSms, fake: FakeProviders) -> None:
    fake.fail_next(TWILIO, Fault(400, {"code": 21211, "message": "Invalid 'To' Phone Number"}))
    answers = twilio.send_batch([Outgoing(replace(SMS, to=f"+3361234567{n}"), f"s-{n}:step:1") for n in range(4)])
    assert sorted(type(a).__name__ for a in answers) == ["PermanentFailure", "ProviderResult", "ProviderResult", "ProviderResult"]
    assert len(fake.sent(TWILIO)) == 4


def test_messages_of_a_batch_keep_their_own_address(sendgrid: SendGridEmail, fake: FakeProviders) -> None:
    message: Message = replace(EMAIL, to="Ann Example <ann@example.com>")
    sendgrid.send_batch([Outgoing(message, "e-1:s:1"), email(2)])
    [request] = fake.sent(SENDGRID)
    assert request.body["personalizations"][0]["to"] == [{"email": "ann@example.com", "name": "Ann Example"}]
