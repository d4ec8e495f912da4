"""Checking `X-Twilio-Signature` with the SDK's `RequestValidator`: an HMAC, keyed by the auth token, of URL + form fields.

Twilio signs the URL it called. Behind a proxy or load balancer that URL is not
the one this process sees, so JOURNEY_PUBLIC_URL (the base URL Twilio is given,
e.g. `https://journeys.shop.example`) is used to rebuild it; without it, the
request's own URL is used, which is right only when Twilio reaches us directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from starlette.datastructures import ImmutableMultiDict
from twilio.request_validator import RequestValidator, get_signature_algorithm

from orchestrator.webhooks.errors import WebhookRefused

AUTH_TOKEN_VARIABLE = "TWILIO_AUTH_TOKEN"
PUBLIC_URL_VARIABLE = "JOURNEY_PUBLIC_URL"
SIGNATURE_HEADER = "X-Twilio-Signature"
SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
"""Present when the account signs with another algorithm (HMAC-SHA256); absent means HMAC-SHA1."""


@dataclass(frozen=True)
class TwilioWebhookSettings:
    auth_token: str | None = None
    """TWILIO_AUTH_TOKEN; None: Twilio requests are refused with 503."""
    public_url: str | None = None
    """JOURNEY_PUBLIC_URL without a trailing slash; None: the request's own URL is what Twilio signed."""

    def signed_url(self, request_url: str, path: str, query: str) -> str:
        """The URL Twilio called: the public base URL with this path and query, or the request's URL."""
        if self.public_url is None:
            return request_url
        return f"{self.public_url}{path}" + (f"?{query}" if query else "")


def verify_twilio(settings: TwilioWebhookSettings, url: str, form: ImmutableMultiDict[str, str], headers: Mapping[str, str]) -> None:
    """Return if the request was signed with our auth token; raise WebhookRefused (401, 403, 503) otherwise."""
    if settings.auth_token is None:
        raise WebhookRefused(503, "webhook_not_configured", f"{AUTH_TOKEN_VARIABLE} is not set: Twilio requests cannot be verified")
    signature = headers.get(SIGNATURE_HEADER)
    if not signature:
        raise WebhookRefused(401, "signature_missing", f"the {SIGNATURE_HEADER} header is missing")
    algorithm = get_signature_algorithm(headers.get(SETTINGS_HEADER))
    if not RequestValidator(settings.auth_token).validate(url, form, signature, algorithm):
        hint = "" if settings.public_url else f" (behind a proxy? set {PUBLIC_URL_VARIABLE} to the URL Twilio is given)"
        raise WebhookRefused(403, "signature_invalid", f"the Twilio signature does not match {url}{hint}")
