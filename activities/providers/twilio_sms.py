"""SMS through Twilio's Messages resource, with the official SDK (`twilio.rest.Client`).

The sender is a Messaging Service (TWILIO_MESSAGING_SERVICE_SID, preferred: Twilio
picks the number and queues over the sender's rate) or a number (TWILIO_FROM).
With JOURNEY_PUBLIC_URL set, Twilio reports delivery status to
`JOURNEY_PUBLIC_URL/webhooks/twilio/status`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from activities.messages import Message
from activities.providers.base import (
    DEFAULT_TIMEOUT_SECONDS,
    ProviderResult,
    RetryableFailure,
    classify_status,
)
from activities.providers.batches import Answer, Outgoing, send_one
from activities.providers.ratelimit import TokenBucket, shared_bucket

DEFAULT_BASE_URL = "https://api.twilio.com"
DEFAULT_RATE = 10.0
STATUS_CALLBACK_PATH = "/webhooks/twilio/status"
BATCH_THREADS = 8
"""Requests in flight at once for a batch: Twilio takes one message per request, so a batch sent one after the other
would go at one message per round trip; on a few threads the account's rate (TWILIO_RATE_PER_SECOND) is the limit."""


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str
    auth_token: str
    sender: str | None = None
    """TWILIO_FROM: an E.164 number or alphanumeric sender id."""
    messaging_service_sid: str | None = None
    public_url: str | None = None
    base_url: str = DEFAULT_BASE_URL
    rate_per_second: float = DEFAULT_RATE
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    @property
    def status_callback(self) -> str | None:
        return self.public_url.rstrip("/") + STATUS_CALLBACK_PATH if self.public_url else None


class _RecordingHttpClient(TwilioHttpClient):
    """Twilio's HTTP client, keeping each thread's last response: TwilioRestException drops the headers (Retry-After)."""

    def __init__(self, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self._last = threading.local()

    def request(self, *args: Any, **kwargs: Any) -> Response:
        self._last.response = None
        response = super().request(*args, **kwargs)
        self._last.response = response
        return response

    def last_headers(self) -> Mapping[str, str] | None:
        response = getattr(self._last, "response", None)
        return response.headers if response is not None else None


class TwilioSms:
    name = "twilio"

    def __init__(self, settings: TwilioSettings, bucket: TokenBucket | None = None) -> None:
        self.settings = settings
        self.http = _RecordingHttpClient(settings.timeout_seconds)
        self.client = Client(settings.account_sid, settings.auth_token, http_client=self.http)
        self.client.api.base_url = settings.base_url.rstrip("/")  # the SDK's documented domain override
        self.bucket = bucket or shared_bucket(f"twilio:{settings.account_sid}", settings.rate_per_second)

    @property
    def batch_size(self) -> int:
        """About a second's worth of messages at the account's rate: a batch's outcomes are recorded at least that often."""
        return max(1, int(self.settings.rate_per_second))

    def send_batch(self, items: Sequence[Outgoing]) -> list[Answer]:
        """One request per message (Messages has no batch call), `BATCH_THREADS` at a time, each under the token bucket."""
        if len(items) <= 1:
            return [send_one(self, item) for item in items]
        with ThreadPoolExecutor(min(len(items), BATCH_THREADS), thread_name_prefix="twilio-batch") as pool:
            return list(pool.map(lambda item: send_one(self, item), items))

    def describe(self) -> str:
        sender = f"messaging service {self.settings.messaging_service_sid}" if self.settings.messaging_service_sid else self.settings.sender
        return f"twilio ({sender}, {self.settings.base_url})"

    def send(self, message: Message, delivery_key: str, recipients: Sequence[str] = ()) -> ProviderResult:
        params: dict[str, Any] = {"to": recipients[0] if recipients else message.to, "body": message.body}
        if self.settings.messaging_service_sid:
            params["messaging_service_sid"] = self.settings.messaging_service_sid
        else:
            params["from_"] = self.settings.sender
        if self.settings.status_callback:
            params["status_callback"] = self.settings.status_callback
        self.bucket.acquire()
        try:
            sent = self.client.messages.create(**params)
        except TwilioRestException as exc:
            raise classify_status(exc.status, f"Twilio error {exc.code}: {exc.msg}", self.http.last_headers()) from exc
        except requests.RequestException as exc:
            raise RetryableFailure(f"twilio unreachable: {exc}") from exc
        return ProviderResult(sent.sid or "")
