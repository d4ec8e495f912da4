"""The sandbox provider: nothing leaves the process; the outbox row the activity writes is the delivery.

The default for every channel without credentials, so `journey dev`, `journey
simulate` and the tests work offline; GET /v1/customers/{id}/messages shows what
the customer would have received.
"""

from __future__ import annotations

from collections.abc import Sequence

from activities.messages import Message
from activities.providers.base import ProviderResult

SANDBOX_MESSAGE_ID = "sandbox"


class Sandbox:
    name = "sandbox"

    def describe(self) -> str:
        return "sandbox (rendered into the outbox: GET /v1/customers/{id}/messages)"

    def send(self, message: Message, delivery_key: str, recipients: Sequence[str] = ()) -> ProviderResult:
        return ProviderResult(SANDBOX_MESSAGE_ID)
