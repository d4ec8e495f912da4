"""Fixtures for the provider tests: the local fake APIs and providers pointed at them with the real SDKs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from activities.providers.fcm_push import FcmPush, FcmSettings
from activities.providers.ratelimit import TokenBucket
from activities.providers.sendgrid_email import SendGridEmail, SendGridSettings
from activities.providers.twilio_sms import TwilioSettings, TwilioSms
from tests.activities.providers.fakes import FakeProviders, service_account

TIMEOUT = 0.5
"""Client timeout in these tests: a fake that sleeps 1 s is a timeout."""


class FakeClock:
    """A monotonic clock that only `sleep` moves, for token buckets that never really wait."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def unlimited() -> TokenBucket:
    return TokenBucket(10_000)


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeProviders]:
    with FakeProviders() as fake:
        yield fake


@pytest.fixture(autouse=True)
def _clean(fake: FakeProviders) -> None:
    fake.clear()
    fake.unregistered_tokens.clear()


@pytest.fixture
def sendgrid(fake: FakeProviders) -> SendGridEmail:
    settings = SendGridSettings("SG.test-key", "Shop <news@shop.example>", host=fake.url, timeout_seconds=TIMEOUT)
    return SendGridEmail(settings, bucket=unlimited())


@pytest.fixture
def twilio(fake: FakeProviders) -> TwilioSms:
    settings = TwilioSettings(
        "AC0123", "auth-token", sender="+15550100", public_url="https://journeys.example", base_url=fake.url, timeout_seconds=TIMEOUT
    )
    return TwilioSms(settings, bucket=unlimited())


@pytest.fixture(scope="session")
def fcm_account(fake: FakeProviders) -> dict[str, str]:
    return service_account(f"{fake.url}/token")


@pytest.fixture
def fcm(fake: FakeProviders, fcm_account: dict[str, str]) -> Iterator[FcmPush]:
    push = FcmPush(FcmSettings(fcm_account, base_url=fake.url, timeout_seconds=TIMEOUT), bucket=unlimited())
    yield push
    push.close()
