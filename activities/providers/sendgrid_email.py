"""Email through SendGrid's v3 mail send, with the official SDK (`sendgrid.SendGridAPIClient`).

Each message carries an opaque `journey_message_id` (a hash of the ledger key) in
`custom_args`, so SendGrid's event webhook can be matched to the delivery ledger
without any PII; the message's category (marketing, transactional) becomes a
SendGrid category for its statistics. The plain-text part goes before the HTML
one, as SendGrid requires.
"""

from __future__ import annotations

import json
import urllib.error
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from python_http_client import exceptions as http_errors
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import Category, Content, CustomArg, From, Header, Mail, To

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


@dataclass(frozen=True)
class SendGridSettings:
    api_key: str
    sender: str
    """SENDGRID_FROM: `news@shop.example` or `Shop <news@shop.example>`."""
    host: str = DEFAULT_HOST
    rate_per_second: float = DEFAULT_RATE
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SendGridSettings | None:
        """SENDGRID_API_KEY and SENDGRID_FROM, or None (no SendGrid: the sandbox delivers email)."""
        key, sender = env.get("SENDGRID_API_KEY"), env.get("SENDGRID_FROM")
        if not key or not sender:
            return None
        return cls(
            api_key=key,
            sender=sender,
            host=env.get("SENDGRID_BASE_URL") or DEFAULT_HOST,
            rate_per_second=float(env.get("SENDGRID_RATE_PER_SECOND") or DEFAULT_RATE),
            timeout_seconds=float(env.get("PROVIDER_TIMEOUT_SECONDS") or DEFAULT_TIMEOUT_SECONDS),
        )


class SendGridEmail:
    name = "sendgrid"

    def __init__(self, settings: SendGridSettings, bucket: TokenBucket | None = None) -> None:
        self.settings = settings
        self.client = SendGridAPIClient(api_key=settings.api_key, host=settings.host.rstrip("/"))
        self.bucket = bucket or shared_bucket(f"sendgrid:{message_reference(settings.api_key)}", settings.rate_per_second)

    def describe(self) -> str:
        return f"sendgrid ({self.settings.host})"

    def mail(self, message: Message, delivery_key: str, to: str) -> Mail:
        """The v3 mail send body for `message`."""
        mail = Mail(from_email=From(self.settings.sender), to_emails=To(to), subject=message.subject or "")
        if message.text:
            mail.add_content(Content("text/plain", message.text))
        mail.add_content(Content("text/html", message.body))
        for name, value in message.headers.items():
            mail.add_header(Header(name, value))
        if message.category:
            mail.add_category(Category(message.category))
        mail.add_custom_arg(CustomArg("journey_message_id", message_reference(delivery_key)))
        return mail

    def send(self, message: Message, delivery_key: str, recipients: Sequence[str] = ()) -> ProviderResult:
        body = self.mail(message, delivery_key, recipients[0] if recipients else message.to).get()
        self.bucket.acquire()
        try:
            response = self.client.client.mail.send.post(request_body=body, timeout=self.settings.timeout_seconds)
        except http_errors.HTTPError as exc:
            raise classify_status(exc.status_code, _reason(exc.body), exc.headers) from exc
        except (TimeoutError, urllib.error.URLError, ConnectionError) as exc:
            raise RetryableFailure(f"sendgrid unreachable: {exc}") from exc
        return ProviderResult(response.headers.get("X-Message-Id") or "")


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
