"""Turning a send step into a concrete message for one customer: address and rendered content.

Rendering happens here, in the send activity, never in the workflow. Every part
is rendered once with the customer's data in scope (data is inserted, never
rendered again), in the customer's locale and time zone, from the template
variant for that locale. HTML email gets a plain-text part; marketing email gets
an unsubscribe link and the List-Unsubscribe headers. Any failure raises
Undeliverable("template error: ..."), which the send activity records as a
failed delivery with that reason before the journey moves on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orchestrator.language.clock import customer_zone
from orchestrator.language.scope import JourneyInScope, expression_scope
from orchestrator.language.templating import render
from orchestrator.personalization.locales import DEFAULT_LOCALE, Locality, parse_locale, pick_variant
from orchestrator.personalization.plaintext import html_to_text
from orchestrator.personalization.unsubscribe import UnsubscribeConfig, ensure_unsubscribe_link
from orchestrator.runtime.contracts import SendRequest


@dataclass(frozen=True)
class Message:
    channel: str
    to: str
    subject: str | None
    body: str
    title: str | None = None
    preheader: str | None = None
    url: str | None = None
    text: str | None = None
    """Plain-text part of an HTML email (None for SMS and push)."""
    headers: dict[str, str] = field(default_factory=dict)
    """Extra email headers, e.g. List-Unsubscribe and List-Unsubscribe-Post on marketing email."""
    category: str = "marketing"
    """marketing | transactional (from SendRequest.category)."""


class Undeliverable(Exception):
    """The message cannot be made for this customer (no address, or a template that fails)."""


def locality(customer: dict[str, Any], settings: dict[str, Any]) -> Locality:
    """The customer's locale (else `en`) and time zone (else the journey's `settings.timezone`, else UTC)."""
    default_zone = settings.get("timezone") if isinstance(settings.get("timezone"), str) else "UTC"
    return Locality(parse_locale(customer.get("locale"), DEFAULT_LOCALE), customer_zone(customer.get("timezone"), default_zone))


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


def build_message(request: SendRequest, customer: dict[str, Any], *, unsubscribe: UnsubscribeConfig) -> Message:
    """Render every part of the message; raises Undeliverable with the reason when that fails.

    `unsubscribe` signs the unsubscribe links (orchestrator.personalization.unsubscribe).
    """
    to = address(request.channel, customer)
    where = locality(customer, request.settings or {})
    customer_id = str(customer.get("id") or request.customer_id)
    unsubscribe_url = unsubscribe.url(customer_id)
    journey = JourneyInScope(request.journey_id, request.version, request.step_id)
    context = expression_scope(customer, request.event, journey, unsubscribe_url=unsubscribe_url)
    is_email = request.channel == "email"
    marketing = request.category != "transactional"

    def part(name: str, source: str | None, *, html: bool = False) -> str | None:
        if source is None:
            return None
        try:
            return render(source, context, html=html, locality=where)
        except Exception as exc:  # any failure of a marketer's template fails this one send, never the worker
            detail = str(exc) or type(exc).__name__
            raise Undeliverable(f"template error in {name}: {detail}") from exc

    source = pick_variant(request.body, request.variants, where.tag) if request.variants else request.body
    body = part("body", source, html=is_email) or ""
    text: str | None = None
    headers: dict[str, str] = {}
    if is_email:
        if marketing:
            body = ensure_unsubscribe_link(body, unsubscribe_url, where.locale.language)
            headers = unsubscribe.headers(customer_id)
        text = html_to_text(body)
    return Message(
        channel=request.channel,
        to=to,
        subject=part("subject", request.subject),
        body=body,
        title=part("title", request.title),
        preheader=part("preheader", request.preheader),
        url=part("url", request.url),
        text=text,
        headers=headers,
        category=request.category,
    )
