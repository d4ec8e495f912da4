"""The sandbox provider: nothing leaves the process; the outbox row the activity writes is the delivery.

The default for every channel without credentials, so `journey dev`, `journey
simulate` and the tests work offline; GET /v1/customers/{id}/messages shows what
the customer would have received.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from activities.messages import Message
from activities.providers.base import ProviderResult

if TYPE_CHECKING:
    from activities.providers.batches import Answer, Outgoing

SANDBOX_MESSAGE_ID = "sandbox"
SANDBOX_BATCH_SIZE = 1_000_000
"""A whole batch at once: nothing leaves the process, and the batch's outbox rows are written in one transaction."""


class Sandbox:
    name = "sandbox"
    batch_size = SANDBOX_BATCH_SIZE

    def describe(self) -> str:
        return "sandbox (rendered into the outbox: GET /v1/customers/{id}/messages)"

    def send(self, message: Message, delivery_key: str, recipients: Sequence[str] = ()) -> ProviderResult:
        return ProviderResult(SANDBOX_MESSAGE_ID)

    def send_batch(self, items: Sequence[Outgoing]) -> list[Answer]:
        return [ProviderResult(SANDBOX_MESSAGE_ID) for _ in items]
