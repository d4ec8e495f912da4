"""Email through SendGrid's v3 mail send, with the official SDK (`sendgrid.SendGridAPIClient`).

Each message carries an opaque `journey_message_id` (a hash of the ledger key) in
`custom_args`, so SendGrid's event webhook can be matched to the delivery ledger
without any PII; the message's category (marketing, transactional) becomes a
SendGrid category for its statistics. The plain-text part goes before the HTML
one, as SendGrid requires.

The request body is built as the v3 JSON directly (`SendGridEmail.body`), the same
body the SDK's `Mail` helper makes (tests/activities/providers/test_providers.py
compares the two): the helper's objects cost more than the rest of building the
request, most of it parsing the sender's address again on every send.
"""

from __future__ import annotations

import json
import re
import urllib.error
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from python_http_client import exceptions as http_errors
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import From, To
from sendgrid.helpers.mail.validators import ValidateApiKey

from activities.messages import Message
from activities.providers.base import (
    DEFAULT_TIMEOUT_SECONDS,
    ProviderResult,
    RetryableFailure,
    classify_status,
    message_reference,
)
from activities.providers.ratelimit import TokenBucket, shared_bucket

DEFAULT_HOST = "https://api.sendgrid.com"
DEFAULT_RATE = 100.0
_API_KEY_CHECK = ValidateApiKey()
"""The check the SDK's `Content` makes: refuse a part that begins with a SendGrid API key."""
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
"""An ASCII dot-atom address, which the SDK's `To` parses into itself alone; anything else goes through `To`."""


@dataclass(frozen=True)
class SendGridSettings:
    api_key: str
    sender: str
    """SENDGRID_FROM: `news@shop.example` or `Shop <news@shop.example>`."""
    host: str = DEFAULT_HOST
    rate_per_second: float = DEFAULT_RATE
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS


class SendGridEmail:
    name = "sendgrid"

    def __init__(self, settings: SendGridSettings, bucket: TokenBucket | None = None) -> None:
        self.settings = settings
        self.client = SendGridAPIClient(api_key=settings.api_key, host=settings.host.rstrip("/"))
        self.bucket = bucket or shared_bucket(f"sendgrid:{message_reference(settings.api_key)}", settings.rate_per_second)
        self._sender: dict[str, Any] = From(settings.sender).get()

    def describe(self) -> str:
        return f"sendgrid ({self.settings.host})"

    def body(self, message: Message, delivery_key: str, to: str) -> dict[str, Any]:
        """The v3 mail send body for `message`: what the SDK's `Mail` helper's `get()` gives, keys in the same order."""
        content = [{"type": "text/html", "value": _checked(message.body)}]
        if message.text:
            content.insert(0, {"type": "text/plain", "value": _checked(message.text)})
        body: dict[str, Any] = {
            "from": dict(self._sender),
            "subject": message.subject or "",
            "personalizations": [{"to": [{"email": to} if _PLAIN_ADDRESS.fullmatch(to) else To(to).get()]}],
            "content": content,
        }
        if message.headers:
            body["headers"] = dict(message.headers)
        if message.category:
            body["categories"] = [message.category]
        body["custom_args"] = {"journey_message_id": message_reference(delivery_key)}
        return body

    def send(self, message: Message, delivery_key: str, recipients: Sequence[str] = ()) -> ProviderResult:
        body = self.body(message, delivery_key, recipients[0] if recipients else message.to)
        self.bucket.acquire()
        try:
            response = self.client.client.mail.send.post(request_body=body, timeout=self.settings.timeout_seconds)
        except http_errors.HTTPError as exc:
            raise classify_status(exc.status_code, _reason(exc.body), exc.headers) from exc
        except (TimeoutError, urllib.error.URLError, ConnectionError) as exc:
            raise RetryableFailure(f"sendgrid unreachable: {exc}") from exc
        return ProviderResult(response.headers.get("X-Message-Id") or "")


def _checked(text: str) -> str:
    """`text`, unless it begins with a SendGrid API key (ApiKeyIncludedException, as the SDK's `Content` raises)."""
    _API_KEY_CHECK.validate_message_text(text)
    return text


def _reason(body: bytes | str | None) -> str:
    """SendGrid's error text (`{"errors": [{"message": ...}]}`), shortened; raw text otherwise."""
    text = body.decode(errors="replace") if isinstance(body, bytes) else str(body or "")
    try:
        errors = json.loads(text).get("errors") or []
        messages = [e.get("message", "") for e in errors if isinstance(e, dict)]
        if messages:
            return "; ".join(messages)[:300]
    except (ValueError, AttributeError):
        pass
    return text[:300]
