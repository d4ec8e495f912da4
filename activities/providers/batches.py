"""Many messages through one provider at once: what a batch of sends (activities/batch_sends.py) asks of a provider.

A provider may take a batch its own way (`BatchProvider`): SendGrid many messages per request
(personalizations), FCM `send_each`, Twilio one request per message on a few threads under its
rate limit, the sandbox nothing at all. Any other provider is called once per message. Either way
the answer is per message and in order, the very answer `Provider.send` gives for it alone: a
`ProviderResult`, or the `PermanentFailure` or `RetryableFailure` it would raise. A failure of one
message never costs the others theirs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from activities.messages import Message
from activities.providers.base import Provider, ProviderError, ProviderResult

Answer = ProviderResult | ProviderError
"""What became of one message of a batch: accepted, or the error its own send would raise."""


@dataclass(frozen=True)
class Outgoing:
    """One message of a batch, with what `Provider.send` takes besides it."""

    message: Message
    delivery_key: str
    """`<enrollment>:<step>:<visit>`; only its hash leaves the process."""
    recipients: tuple[str, ...] = ()
    """Overrides `message.to` (a profile's push tokens)."""


@runtime_checkable
class BatchProvider(Protocol):
    batch_size: int
    """Messages per `send_batch` call: the batch's outcomes are recorded after each call, so this bounds what a crash
    can leave sent but unrecorded."""

    def send_batch(self, items: Sequence[Outgoing]) -> list[Answer]:
        """One answer per item, in order (at most `batch_size` items)."""
        ...


def batch_size(provider: Provider) -> int:
    """How many messages `send_batch` hands `provider` at a time: its own batch size, else one."""
    return provider.batch_size if isinstance(provider, BatchProvider) else 1


def send_batch(provider: Provider, items: Sequence[Outgoing]) -> list[Answer]:
    """Each item's answer: through the provider's batch call if it has one, else one `send` each."""
    if isinstance(provider, BatchProvider):
        return provider.send_batch(items)
    return [send_one(provider, item) for item in items]


def send_one(provider: Provider, item: Outgoing) -> Answer:
    """`provider.send` for one item, its failure returned rather than raised."""
    try:
        return provider.send(item.message, item.delivery_key, item.recipients)
    except ProviderError as exc:
        return exc
