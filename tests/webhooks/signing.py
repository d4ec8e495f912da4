"""Signing webhook requests the way SendGrid and Twilio do, with keys made here."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from twilio.request_validator import RequestValidator

SENDGRID_SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"


@dataclass
class SendGridSigner:
    """An ECDSA P-256 key pair like the one SendGrid signs events with; `public_key` is what its console shows."""

    private_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    @property
    def public_key(self) -> str:
        der = self.private_key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(der).decode()

    def sign(self, body: bytes, timestamp: int) -> str:
        return base64.b64encode(self.private_key.sign(str(timestamp).encode() + body, ec.ECDSA(hashes.SHA256()))).decode()

    def request(self, events: Sequence[dict[str, Any]], *, timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
        """A body of `events` and the headers SendGrid would send with it."""
        body = json.dumps(list(events)).encode()
        at = int(time.time()) if timestamp is None else timestamp
        return body, {SENDGRID_SIGNATURE: self.sign(body, at), SENDGRID_TIMESTAMP: str(at), "Content-Type": "application/json"}


def twilio_request(auth_token: str, url: str, fields: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """A form body of `fields` and its X-Twilio-Signature for `url`, as Twilio signs a webhook."""
    signature = RequestValidator(auth_token).compute_signature(url, fields)
    return urlencode(fields).encode(), {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"}
