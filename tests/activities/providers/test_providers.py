"""Each provider through its real SDK against the local fakes: exact payloads, and how failures are classified."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from sendgrid.helpers.mail import Category, Content, CustomArg, From, Header, Mail, To
from sendgrid.helpers.mail.exceptions import ApiKeyIncludedException

from activities.messages import Message
from activities.providers import (
    ChannelProviders,
    PermanentFailure,
    RetryableFailure,
    build_providers,
    message_reference,
)
from activities.providers.base import retry_after_seconds
from activities.providers.fcm_push import DEFAULT_BASE_URL as FCM_DEFAULT_URL
from activities.providers.fcm_push import FcmPush
from activities.providers.ratelimit import TokenBucket
from activities.providers.sendgrid_email import SendGridEmail
from activities.providers.twilio_sms import TwilioSettings, TwilioSms
from orchestrator.host.settings import SettingsError, WorkerSettings
from tests.activities.providers.conftest import TIMEOUT, FakeClock, unlimited
from tests.activities.providers.fakes import FCM, SENDGRID, TOKEN, TWILIO, FakeProviders, Fault
from tests.keys import KEYS_ENVIRONMENT


def worker_providers(env: dict[str, str]) -> ChannelProviders:
    """The providers a worker started with `env` delivers through (at the public address a worker with real providers needs)."""
    return build_providers(WorkerSettings.read(KEYS_ENVIRONMENT | {"JOURNEY_PUBLIC_URL": "https://journeys.shop.example"} | env).providers)


KEY = "cart-3f2a-1:reminder:1"
REF = message_reference(KEY)

EMAIL = Message(
    channel="email",
    to="ann@example.com",
    subject="Ann, you left something behind",
    body="<p>Your cart</p>",
    text="Your cart",
    headers={"List-Unsubscribe": "<https://shop.example/u/abc>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    category="marketing",
)
SMS = Message(channel="sms", to="+33612345678", subject=None, body="Your cart is waiting")
PUSH = Message(
    channel="push", to="tok-a", subject=None, body="Your cart is waiting", title="Still thinking?", url="https://shop.example/c/1"
)


def test_sendgrid_gets_both_parts_headers_category_and_an_opaque_id(sendgrid: SendGridEmail, fake: FakeProviders) -> None:
    result = sendgrid.send(EMAIL, KEY)
    [request] = fake.sent(SENDGRID)
    assert result.provider_message_id.startswith("sg-")
    assert request.path == "/v3/mail/send"
    assert request.headers["authorization"] == "Bearer SG.test-key"
    assert request.body == {
        "from": {"name": "Shop", "email": "news@shop.example"},
        "subject": "Ann, you left something behind",
        "personalizations": [{"to": [{"email": "ann@example.com"}]}],
        "content": [{"type": "text/plain", "value": "Your cart"}, {"type": "text/html", "value": "<p>Your cart</p>"}],
        "headers": {"List-Unsubscribe": "<https://shop.example/u/abc>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        "categories": ["marketing"],
        "custom_args": {"journey_message_id": REF},
    }
    assert KEY not in json.dumps(request.body)


@pytest.mark.parametrize(
    "message",
    [
        EMAIL,
        Message(channel="email", to="Ann Lee <ann@example.com>", subject=None, body="", category=""),
        Message(channel="email", to="josé@exämple.com", subject="", body="<p>x</p>", text="x", category="transactional"),
        Message(channel="email", to="a..b@example.com", subject="Hi", body="<p>x</p>", headers={"X-A": "1", "X-B": "2"}),
        Message(channel="email", to="o'neil+tag@sub.example.co.uk", subject="Hi", body="<p>x</p>", text=""),
    ],
)
def test_sendgrid_body_is_what_the_sdks_mail_helper_makes(sendgrid: SendGridEmail, message: Message) -> None:
    assert sendgrid.body(message, KEY, message.to) == sdk_mail(sendgrid, message, KEY, message.to).get()


def test_sendgrid_refuses_a_part_that_begins_with_an_api_key_as_the_sdk_does(sendgrid: SendGridEmail, fake: FakeProviders) -> None:
    leaky = Message(channel="email", to="ann@example.com", subject="Hi", body="SG.abc123.def456 is our key")
    with pytest.raises(ApiKeyIncludedException):
        sdk_mail(sendgrid, leaky, KEY, leaky.to)
    with pytest.raises(ApiKeyIncludedException):
        sendgrid.send(leaky, KEY)
    assert fake.sent(SENDGRID) == []


def sdk_mail(sendgrid: SendGridEmail, message: Message, delivery_key: str, to: str) -> Mail:
    """The body `SendGridEmail.body` stands for, made with the SDK's `Mail` helper: the reference it is compared with."""
    mail = Mail(from_email=From(sendgrid.settings.sender), to_emails=To(to), subject=message.subject or "")
    if message.text:
        mail.add_content(Content("text/plain", message.text))
    mail.add_content(Content("text/html", message.body))
    for name, value in message.headers.items():
        mail.add_header(Header(name, value))
    if message.category:
        mail.add_category(Category(message.category))
    mail.add_custom_arg(CustomArg("journey_message_id", message_reference(delivery_key)))
    return mail


def test_twilio_gets_to_from_body_and_the_status_callback(twilio: TwilioSms, fake: FakeProviders) -> None:
    result = twilio.send(SMS, KEY)
    [request] = fake.sent(TWILIO)
    assert result.provider_message_id.startswith("SM")
    assert request.path == "/2010-04-01/Accounts/AC0123/Messages.json"
    assert request.body == {
        "To": "+33612345678",
        "From": "+15550100",
        "Body": "Your cart is waiting",
        "StatusCallback": "https://journeys.example/webhooks/twilio/status",
    }


def test_twilio_sends_through_a_messaging_service_when_one_is_set(fake: FakeProviders) -> None:
    settings = TwilioSettings("AC0123", "auth-token", messaging_service_sid="MG42", base_url=fake.url)
    TwilioSms(settings, bucket=unlimited()).send(SMS, KEY)
    assert fake.sent(TWILIO)[0].body == {"To": "+33612345678", "MessagingServiceSid": "MG42", "Body": "Your cart is waiting"}


def test_fcm_sends_one_message_per_token_with_a_token_from_the_fake_oauth_endpoint(fcm: FcmPush, fake: FakeProviders) -> None:
    result = fcm.send(PUSH, KEY, ["tok-a", "tok-b"])
    assert result.provider_message_id.startswith("projects/journey-test/messages/")
    assert len(fake.sent(TOKEN)) == 1
    requests = fake.sent(FCM)
    assert [r.path for r in requests] == ["/v1/projects/journey-test/messages:send"] * 2
    assert requests[0].headers["authorization"] == "Bearer fake-access-token"
    assert [r.body for r in requests] == [
        {
            "message": {
                "token": token,
                "notification": {"title": "Still thinking?", "body": "Your cart is waiting"},
                "data": {"journey_message_id": REF, "url": "https://shop.example/c/1"},
            }
        }
        for token in ("tok-a", "tok-b")
    ]


def test_fcm_reports_unregistered_tokens_and_fails_when_none_is_left(fcm: FcmPush, fake: FakeProviders) -> None:
    fake.unregistered_tokens.add("tok-dead")
    assert fcm.send(PUSH, KEY, ["tok-dead", "tok-a"]).invalid_recipients == ("tok-dead",)
    with pytest.raises(PermanentFailure) as failure:
        fcm.send(PUSH, KEY, ["tok-dead"])
    assert failure.value.invalid_recipients == ("tok-dead",)
    assert "unregistered" in failure.value.reason


TOO_MANY = {"sendgrid": {"errors": [{"message": "too many requests"}]}, "twilio": {"code": 20429, "message": "Too Many Requests"}}
FCM_ERROR = {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}


@pytest.mark.parametrize("route", [SENDGRID, TWILIO, FCM])
def test_429_is_retryable_after_the_providers_retry_after(route: str, request: pytest.FixtureRequest, fake: FakeProviders) -> None:
    provider, message = _provider(route, request)
    fake.fail_next(route, Fault(429, TOO_MANY.get(route, FCM_ERROR), {"Retry-After": "7"}))
    with pytest.raises(RetryableFailure) as failure:
        provider.send(message, KEY)
    assert failure.value.retry_after == 7
    assert "429" in failure.value.reason


@pytest.mark.parametrize("route", [SENDGRID, TWILIO, FCM])
def test_500_and_timeouts_are_retryable(route: str, request: pytest.FixtureRequest, fake: FakeProviders) -> None:
    provider, message = _provider(route, request)
    fake.fail_next(route, Fault(500, {"error": {"code": 500, "message": "boom", "status": "INTERNAL"}}), Fault(delay=TIMEOUT + 0.5))
    for _ in range(2):
        with pytest.raises(RetryableFailure) as failure:
            provider.send(message, KEY)
        assert failure.value.retry_after is None
    provider.send(message, KEY)  # the next one goes through
    assert len(fake.sent(route)) == 3  # one request per send: the SDKs' own retries do not hide failures


def test_400_is_permanent_with_the_providers_reason(sendgrid: SendGridEmail, twilio: TwilioSms, fake: FakeProviders) -> None:
    fake.fail_next(SENDGRID, Fault(400, {"errors": [{"message": "The to email does not contain a valid address."}]}))
    with pytest.raises(PermanentFailure, match=r"HTTP 400: The to email does not contain a valid address\."):
        sendgrid.send(EMAIL, KEY)
    fake.fail_next(TWILIO, Fault(400, {"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400}))
    with pytest.raises(PermanentFailure, match=r"Twilio error 21211: .*not a valid phone number"):
        twilio.send(SMS, KEY)


def test_retry_after_reads_seconds_and_http_dates() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert retry_after_seconds({"retry-after": "3"}) == 3
    assert retry_after_seconds({"Retry-After": "Mon, 05 Jan 2026 09:00:30 GMT"}, now) == 30
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds(None) is None


def test_channels_without_credentials_use_the_sandbox(fake: FakeProviders) -> None:
    assert {channel: text.split()[0] for channel, text in worker_providers({}).describe().items()} == {
        "email": "sandbox",
        "sms": "sandbox",
        "push": "sandbox",
    }
    chosen = worker_providers(
        {"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t", "TWILIO_FROM": "+15550100", "TWILIO_BASE_URL": fake.url}
    )
    assert isinstance(chosen, ChannelProviders)
    assert chosen.describe()["sms"] == f"twilio (+15550100, {fake.url})"
    assert chosen.describe()["email"].startswith("sandbox")
    with pytest.raises(SettingsError, match="TWILIO_FROM"):
        worker_providers({"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"})


def test_real_email_needs_an_unsubscribe_secret_of_its_own(fake: FakeProviders) -> None:
    sendgrid = {"SENDGRID_API_KEY": "SG.k", "SENDGRID_FROM": "news@shop.example", "SENDGRID_BASE_URL": fake.url}
    with pytest.raises(SettingsError, match="JOURNEY_UNSUBSCRIBE_SECRET"):
        worker_providers(sendgrid)  # links signed with the public development key would let anyone unsubscribe anyone
    chosen = worker_providers(sendgrid | {"JOURNEY_UNSUBSCRIBE_SECRET": "0123456789abcdef"})
    assert chosen.describe()["email"].startswith("sendgrid")


@pytest.mark.parametrize("route", [SENDGRID, TWILIO, FCM])
def test_each_request_first_waits_for_the_accounts_token_bucket(route: str, request: pytest.FixtureRequest, fake: FakeProviders) -> None:
    provider, message = _provider(route, request)
    clock = FakeClock()
    waits: list[tuple[float, int]] = []

    def sleep(seconds: float) -> None:
        waits.append((seconds, len(fake.sent(route))))  # how many requests had left when the provider waited
        clock.sleep(seconds)

    provider.bucket = TokenBucket(2, burst=1, clock=clock, sleep=sleep)
    for _ in range(3):
        provider.send(message, KEY)
    assert waits == [(0.5, 1), (0.5, 2)]  # at 2 a second, the 2nd and 3rd requests waited half a second each, before leaving
    assert len(fake.sent(route)) == 3


def test_every_provider_takes_its_credentials_endpoint_and_rate_from_the_environment(
    fake: FakeProviders, fcm_account: dict[str, str], tmp_path: Path
) -> None:
    key_file = tmp_path / "service-account.json"
    key_file.write_text(json.dumps(fcm_account))
    chosen = worker_providers(
        {
            "SENDGRID_API_KEY": "SG.env-key",
            "SENDGRID_FROM": "news@shop.example",
            "SENDGRID_BASE_URL": fake.url,
            "SENDGRID_RATE_PER_SECOND": "40",
            "JOURNEY_UNSUBSCRIBE_SECRET": "0123456789abcdef",
            "TWILIO_ACCOUNT_SID": "AC0123",
            "TWILIO_AUTH_TOKEN": "env-token",
            "TWILIO_FROM": "+15550100",
            "TWILIO_BASE_URL": fake.url,
            "TWILIO_RATE_PER_SECOND": "3",
            "GOOGLE_APPLICATION_CREDENTIALS": str(key_file),
            "FCM_BASE_URL": fake.url,
            "FCM_RATE_PER_SECOND": "250",
        }
    )
    email, sms, push = (chosen.for_channel(channel) for channel in ("email", "sms", "push"))
    assert isinstance(email, SendGridEmail) and isinstance(sms, TwilioSms) and isinstance(push, FcmPush)
    try:
        assert (email.bucket.rate, sms.bucket.rate, push.bucket.rate) == (40, 3, 250)
        email.send(EMAIL, KEY)
        sms.send(SMS, KEY)
        push.send(PUSH, KEY)
    finally:
        push.close()
    (to_sendgrid,), (to_twilio,), (to_fcm,) = fake.sent(SENDGRID), fake.sent(TWILIO), fake.sent(FCM)
    assert to_sendgrid.headers["authorization"] == "Bearer SG.env-key"
    assert to_twilio.path == "/2010-04-01/Accounts/AC0123/Messages.json"
    assert to_twilio.headers["authorization"] == "Basic " + base64.b64encode(b"AC0123:env-token").decode()
    assert to_fcm.path == f"/v1/projects/{fcm_account['project_id']}/messages:send"
    assert to_fcm.headers["authorization"] == "Bearer fake-access-token"  # from the service account's token_uri, on the fake
    inline = WorkerSettings.read(KEYS_ENVIRONMENT | {"FCM_CREDENTIALS_JSON": json.dumps(fcm_account)}).providers.push
    assert inline is not None
    assert (inline.service_account, inline.base_url) == (fcm_account, FCM_DEFAULT_URL)


def _provider(route: str, request: pytest.FixtureRequest) -> tuple[SendGridEmail | TwilioSms | FcmPush, Message]:
    fixture, message = {SENDGRID: ("sendgrid", EMAIL), TWILIO: ("twilio", SMS), FCM: ("fcm", PUSH)}[route]
    return request.getfixturevalue(fixture), message
