"""The one interface every channel provider implements, and the errors it raises.

A provider turns a rendered `Message` into one accepted send and answers with the
provider's message id. It never touches the store: the send activity owns the
delivery ledger, the outbox and the profile; a provider only reports what the
store must learn (`invalid_recipients`: push tokens the provider says are dead).

Errors are typed so the activity can decide without knowing the provider:
`PermanentFailure` (the request can never succeed: a bad address, a refused
sender) marks the delivery failed and the journey moves on; `RetryableFailure`
(429, 5xx, timeouts, connection errors) makes the activity raise, so Temporal
retries it with backoff, waiting at least `retry_after` when the provider said so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Protocol

from activities.messages import Message

# Defined with the ledger, which stores it so that provider webhooks find their delivery; re-exported here.
from orchestrator.store.values import message_reference as message_reference

DEFAULT_TIMEOUT_SECONDS = 10.0
"""Per-request HTTP timeout: short, so a hung call ends well inside the activity's 60 s start-to-close timeout."""


@dataclass(frozen=True)
class ProviderResult:
    provider_message_id: str
    """The provider's id of the accepted message (SendGrid X-Message-Id, Twilio SID, FCM message name)."""
    invalid_recipients: tuple[str, ...] = ()
    """Push tokens the provider reported as no longer registered: the activity removes them from the profile."""


class ProviderError(Exception):
    """A send the provider did not accept."""

    def __init__(self, reason: str, *, invalid_recipients: Sequence[str] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.invalid_recipients = tuple(invalid_recipients)


class PermanentFailure(ProviderError):
    """The provider refused the message for good (400-class): retrying cannot help."""


class RetryableFailure(ProviderError):
    """The provider could not take the message now (429, 5xx, timeout): retry later."""

    def __init__(self, reason: str, *, retry_after: float | None = None, invalid_recipients: Sequence[str] = ()) -> None:
        super().__init__(reason, invalid_recipients=invalid_recipients)
        self.retry_after = retry_after
        """Seconds the provider asked us to wait (its Retry-After header), if it said."""


class Provider(Protocol):
    name: str
    """How `journey dev` and logs name it: `sendgrid`, `twilio`, `fcm`, `sandbox`."""

    def describe(self) -> str:
        """One line for `journey dev`: the provider and where it sends (never a credential)."""
        ...

    def send(self, message: Message, delivery_key: str, recipients: Sequence[str] = ()) -> ProviderResult:
        """Send `message` once. `delivery_key` is `<enrollment>:<step>:<visit>`; only its hash leaves the process.

        `recipients` overrides `message.to` where a channel has several addresses (a profile's push tokens).
        """
        ...


def retry_after_seconds(headers: Mapping[str, str] | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not headers:
        return None
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    value = str(value).strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def classify_status(status: int, reason: str, headers: Mapping[str, str] | None = None) -> PermanentFailure | RetryableFailure:
    """The error for an HTTP status the provider answered with: 429, 5xx and 408 retryable, other 4xx permanent."""
    if status in (408, 429) or status >= 500:
        return RetryableFailure(f"HTTP {status}: {reason}", retry_after=retry_after_seconds(headers))
    return PermanentFailure(f"HTTP {status}: {reason}")
