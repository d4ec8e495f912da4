"""Building send requests and customers for the personalization tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from activities.messages import Message, build_message
from orchestrator import ir
from orchestrator.personalization.unsubscribe import UnsubscribeConfig
from orchestrator.runtime.contracts import SendRequest
from orchestrator.store.profiles import apply_traits, new_profile

LINKS = UnsubscribeConfig("https://journeys.shop.example", b"test-secret", mailto="unsubscribe@shop.example")
ANN: dict[str, Any] = {"email": "ann@example.com", "phone": "+14155552671", "push_tokens": ["tok-1"], "first_name": "Ann"}
IDENTIFIED_AT = datetime(2026, 3, 1, tzinfo=UTC)


def request(
    *,
    channel: ir.Channel = "email",
    category: ir.Category = "marketing",
    subject: str | None = "Hello",
    body: str | None = "<p>Hi</p>",
    title: str | None = None,
    url: str | None = None,
    event: dict[str, Any] | None = None,
    variants: dict[str, str] | None = None,
    timezone: str = "UTC",
) -> SendRequest:
    step = ir.SendStep(
        id="reminder",
        channel=channel,
        next="end",
        category=category,
        subject=subject,
        title=title,
        body=body,
        url=url,
        variants=tuple(ir.TemplateVariant(locale, text) for locale, text in (variants or {}).items()),
    )
    return SendRequest(
        enrollment_id="e-1",
        journey_id="cart",
        version="v1",
        visit=1,
        customer_id="ann",
        step=step,
        settings=ir.Settings(timezone=timezone),
        event=event,
        now="2026-03-01T09:00:00+00:00",
    )


def build(req: SendRequest, **traits: Any) -> Message:
    """The message for Ann, identified with ANN and `traits` (a None trait removes it), on the step's channel."""
    profile = apply_traits(new_profile("ann", IDENTIFIED_AT), {**ANN, **traits}, IDENTIFIED_AT)
    return build_message(req, req.step.channel, profile, unsubscribe=LINKS)
