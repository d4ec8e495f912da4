"""Turning a send step into a concrete message for one customer: address and rendered content."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateError

from orchestrator.runtime.contracts import SendRequest
from orchestrator.templating import render


@dataclass(frozen=True)
class Message:
    channel: str
    to: str
    subject: str | None
    body: str
    title: str | None = None
    preheader: str | None = None
    url: str | None = None


class Undeliverable(Exception):
    """The message cannot be made for this customer (no address, or a template that fails)."""


def template_context(customer: dict[str, Any], request: SendRequest) -> dict[str, Any]:
    return {
        "customer": customer,
        "event": request.event or {},
        "journey": {"id": request.journey_id, "version": request.version, "step": request.step_id},
    }


def address(channel: str, customer: dict[str, Any]) -> str:
    if channel == "email":
        value = customer.get("email")
    elif channel == "sms":
        value = customer.get("phone")
    else:
        tokens = customer.get("push_tokens") or []
        value = tokens[0] if tokens else None
    if not value:
        what = {"email": "email address", "sms": "phone number", "push": "push token"}[channel]
        raise Undeliverable(f"the profile has no {what}")
    return str(value)


def build_message(request: SendRequest, customer: dict[str, Any]) -> Message:
    """Render every part of the message; raises Undeliverable with the reason when that fails."""
    to = address(request.channel, customer)
    context = template_context(customer, request)

    def part(source: str | None, *, html: bool = False) -> str | None:
        if source is None:
            return None
        try:
            return render(source, context, html=html)
        except TemplateError as exc:
            raise Undeliverable(f"template error: {exc}") from exc

    is_email = request.channel == "email"
    return Message(
        channel=request.channel,
        to=to,
        subject=part(request.subject),
        body=part(request.body, html=is_email) or "",
        title=part(request.title),
        preheader=part(request.preheader),
        url=part(request.url),
    )
