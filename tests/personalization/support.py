"""Building send requests and customers for the personalization tests."""

from __future__ import annotations

from typing import Any

from activities.messages import Message, build_message
from orchestrator.personalization.unsubscribe import UnsubscribeConfig
from orchestrator.runtime.contracts import SendRequest

LINKS = UnsubscribeConfig("https://journeys.shop.example", b"test-secret", mailto="unsubscribe@shop.example")
ANN: dict[str, Any] = {"id": "ann", "email": "ann@example.com", "phone": "+14155552671", "push_tokens": ["tok-1"], "first_name": "Ann"}


def request(
    *,
    channel: str = "email",
    category: str = "marketing",
    subject: str | None = "Hello",
    body: str | None = "<p>Hi</p>",
    title: str | None = None,
    url: str | None = None,
    event: dict[str, Any] | None = None,
    variants: dict[str, str] | None = None,
    timezone: str = "UTC",
) -> SendRequest:
    return SendRequest(
        enrollment_id="e-1",
        journey_id="cart",
        version="v1",
        step_id="reminder",
        visit=1,
        customer_id="ann",
        channel=channel,
        category=category,
        subject=subject,
        preheader=None,
        title=title,
        body=body,
        url=url,
        event=event,
        now="2026-03-01T09:00:00+00:00",
        settings={"timezone": timezone},
        variants=variants or {},
    )


def build(req: SendRequest, **traits: Any) -> Message:
    return build_message(req, {**ANN, **traits}, unsubscribe=LINKS)
