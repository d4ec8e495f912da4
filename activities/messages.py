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

from orchestrator import ir
from orchestrator.language.clock import customer_zone
from orchestrator.language.scope import JourneyInScope, expression_scope
from orchestrator.language.templating import render
from orchestrator.personalization.locales import DEFAULT_LOCALE, Locality, parse_locale, pick_variant
from orchestrator.personalization.plaintext import html_to_text
from orchestrator.personalization.unsubscribe import UnsubscribeConfig, ensure_unsubscribe_link
from orchestrator.runtime.contracts import SendRequest
from orchestrator.store.values import Profile, customer_context


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
    """marketing | transactional (the send step's category)."""


class Undeliverable(Exception):
    """The message cannot be made for this customer (no address, or a template that fails)."""

    @property
    def status(self) -> str:
        """The delivery's outcome: `failed` for a template error (the journey's to fix), `suppressed` otherwise."""
        return "failed" if str(self).startswith("template error") else "suppressed"


def locality(profile: Profile | None, settings: ir.Settings) -> Locality:
    """The customer's locale (else `en`) and time zone (else the journey's `settings.timezone`)."""
    locale, zone = (profile.locale, profile.timezone) if profile is not None else (None, None)
    return Locality(parse_locale(locale, DEFAULT_LOCALE), customer_zone(zone, settings.timezone))


def address(channel: str, profile: Profile | None) -> str:
    """Where a message on `channel` goes: the profile's e-mail, phone number, or first push token."""
    if profile is None:
        value = None
    elif channel == "email":
        value = profile.email
    elif channel == "sms":
        value = profile.phone
    else:
        value = profile.push_tokens[0] if profile.push_tokens else None
    if not value:
        what = {"email": "email address", "sms": "phone number", "push": "push token"}[channel]
        raise Undeliverable(f"the profile has no {what}")
    return str(value)


def build_message(request: SendRequest, channel: str, profile: Profile | None, *, unsubscribe: UnsubscribeConfig) -> Message:
    """Render every part of `request.step` for `profile`, to go on `channel`; raises Undeliverable with the reason when that fails.

    `channel` is the one the delivery gate chose: the step's own, or one of its fallbacks.
    `unsubscribe` signs the unsubscribe links (orchestrator.personalization.unsubscribe).
    """
    step = request.step
    to = address(channel, profile)
    where = locality(profile, request.settings)
    unsubscribe_url = unsubscribe.url(request.customer_id)
    journey = JourneyInScope(request.journey_id, request.version, step.id)
    context = expression_scope(
        customer_context(request.customer_id, profile), request.event, journey, events=request.events, unsubscribe_url=unsubscribe_url
    )
    is_email = channel == "email"
    marketing = step.category != "transactional"

    def part(name: str, source: str | None, *, html: bool = False) -> str | None:
        if source is None:
            return None
        try:
            return render(source, context, html=html, locality=where)
        except Exception as exc:  # any failure of a marketer's template fails this one send, never the worker
            detail = str(exc) or type(exc).__name__
            raise Undeliverable(f"template error in {name}: {detail}") from exc

    variants = {variant.locale: variant.body for variant in step.variants}
    source = pick_variant(step.body, variants, where.tag) if variants else step.body
    body = part("body", source, html=is_email) or ""
    text: str | None = None
    headers: dict[str, str] = {}
    if is_email:
        if marketing:
            body = ensure_unsubscribe_link(body, unsubscribe_url, where.locale.language)
            headers = unsubscribe.headers(request.customer_id)
        text = html_to_text(body)
    return Message(
        channel=channel,
        to=to,
        subject=part("subject", step.subject),
        body=body,
        title=part("title", step.title),
        preheader=part("preheader", step.preheader),
        url=part("url", step.url),
        text=text,
        headers=headers,
        category=step.category,
    )
