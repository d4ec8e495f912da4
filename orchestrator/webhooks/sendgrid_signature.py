"""Checking SendGrid's Signed Event Webhook: an ECDSA signature over timestamp + body, with the SDK's `EventWebhook`.

The verification key is the one shown under Settings > Mail Settings > Event Webhook
(base64 DER, as SendGrid displays it), in SENDGRID_WEBHOOK_PUBLIC_KEY. The signed
timestamp must be within SENDGRID_WEBHOOK_MAX_AGE_SECONDS (default 300) of our
clock, either way: a captured request cannot be replayed later.
"""

from __future__ import annotations

import binascii
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from sendgrid.helpers.eventwebhook import EventWebhook
from sendgrid.helpers.eventwebhook.eventwebhook_header import EventWebhookHeader

from orchestrator.webhooks.errors import WebhookRefused

PUBLIC_KEY_VARIABLE = "SENDGRID_WEBHOOK_PUBLIC_KEY"
DEFAULT_MAX_AGE_SECONDS = 300
SIGNATURE_HEADER = EventWebhookHeader.SIGNATURE
TIMESTAMP_HEADER = EventWebhookHeader.TIMESTAMP


@dataclass(frozen=True)
class SendGridWebhookSettings:
    public_key: str | None = None
    """SENDGRID_WEBHOOK_PUBLIC_KEY; None: SendGrid events are refused with 503."""
    max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS
    """How far the signed timestamp may be from our clock, either way (SENDGRID_WEBHOOK_MAX_AGE_SECONDS)."""


@functools.lru_cache(maxsize=4)
def _verifier(public_key: str) -> tuple[EventWebhook, EllipticCurvePublicKey]:
    webhook = EventWebhook()
    try:
        key = webhook.convert_public_key_to_ecdsa(public_key)
    except ValueError as exc:
        raise WebhookRefused(503, "webhook_misconfigured", f"{PUBLIC_KEY_VARIABLE} is not a SendGrid verification key: {exc}") from None
    assert isinstance(key, EllipticCurvePublicKey)
    return webhook, key


def verify_sendgrid(settings: SendGridWebhookSettings, body: bytes, headers: Mapping[str, str], now: datetime) -> None:
    """Return if `body` was signed by SendGrid recently; raise WebhookRefused otherwise.

    401: a signature header is missing. 403: the signature does not match, or the timestamp is
    not recent. 503: no key is configured (SendGrid keeps retrying, so events wait for the fix).
    """
    if settings.public_key is None:
        raise WebhookRefused(503, "webhook_not_configured", f"{PUBLIC_KEY_VARIABLE} is not set: SendGrid events cannot be verified")
    signature, timestamp = headers.get(SIGNATURE_HEADER), headers.get(TIMESTAMP_HEADER)
    for name, value in ((SIGNATURE_HEADER, signature), (TIMESTAMP_HEADER, timestamp)):
        if not value:
            raise WebhookRefused(401, "signature_missing", f"the {name} header is missing: is the Signed Event Webhook enabled?")
    assert signature is not None and timestamp is not None
    if not timestamp.strip().isdigit():
        raise WebhookRefused(403, "signature_invalid", f"the {TIMESTAMP_HEADER} header is not a Unix time: {timestamp[:40]!r}")
    age = now.timestamp() - int(timestamp)
    if abs(age) > settings.max_age_seconds:
        raise WebhookRefused(
            403, "signature_stale", f"the signed timestamp is {age:.0f} s from our clock (at most {settings.max_age_seconds} s either way)"
        )
    webhook, key = _verifier(settings.public_key)
    try:
        payload = body.decode("utf-8")
        valid = webhook.verify_signature(payload, signature, timestamp, key)
    except (UnicodeDecodeError, binascii.Error, ValueError):
        valid = False  # a signature that is not base64 or not DER, or a body that is not text: not SendGrid's
    if not valid:
        raise WebhookRefused(403, "signature_invalid", "the SendGrid signature does not match the body and timestamp")
