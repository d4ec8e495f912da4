"""Unsubscribe links for marketing email: a signed per-customer URL, the List-Unsubscribe headers and a footer.

The link is JOURNEY_PUBLIC_URL + `/v1/unsubscribe/<token>`, where the token is the
customer id sealed (AES-SIV, orchestrator/privacy/sealing.py) under a key derived from
JOURNEY_UNSUBSCRIBE_SECRET: whoever sees the link (a mail log, a forwarded email) cannot
read the id from it, a link cannot be forged for another customer, and it needs no
database row. Links sent before had the id in base64 next to an HMAC-SHA256 tag
(`<id>.<tag>`); they are still accepted, their tag checked, for as long as the secret
that signed them is configured (docs/privacy.md). Templates read
it as `{{ unsubscribe_url }}`; a marketing HTML email without it gets a small
footer with one. JOURNEY_UNSUBSCRIBE_MAILTO (an address) adds a mailto: form to
`List-Unsubscribe`. `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058)
is only sent with an https URL, as the RFC requires.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote

from markupsafe import escape

from orchestrator.privacy.sealing import Sealer

DEV_PUBLIC_URL = "http://127.0.0.1:8080"
DEV_SECRET = b"journey-dev-unsubscribe-secret"
"""The key of `development()`: public, so links signed with it can be forged; a process that uses it says so when it starts."""
_TAG_BYTES = 16

_FOOTER_TEXT = {
    "en": "Don't want these emails?",
    "fr": "Vous ne souhaitez plus recevoir ces e-mails ?",
    "de": "Sie möchten diese E-Mails nicht mehr erhalten?",
    "es": "¿No quieres recibir estos correos?",
    "it": "Non vuoi più ricevere queste email?",
    "pt": "Não quer receber estes e-mails?",
    "nl": "Wilt u deze e-mails niet meer ontvangen?",
}
_FOOTER_LINK = {
    "en": "Unsubscribe",
    "fr": "Se désabonner",
    "de": "Abmelden",
    "es": "Darse de baja",
    "it": "Annulla l'iscrizione",
    "pt": "Cancelar inscrição",
    "nl": "Afmelden",
}
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


@dataclass(frozen=True)
class UnsubscribeConfig:
    public_url: str
    """Where the API is reachable from the internet, without a trailing slash."""
    secret: bytes
    """Key of the HMAC that signs tokens."""
    mailto: str | None = None
    """Address for the mailto: form of List-Unsubscribe (none: only the URL)."""

    @classmethod
    def development(cls) -> UnsubscribeConfig:
        """Links to the local API, signed with a key anyone can read in this file: for `journey dev`, simulations and tests."""
        return cls(public_url=DEV_PUBLIC_URL, secret=DEV_SECRET)

    def token(self, customer_id: str) -> str:
        """The customer id sealed under the secret, base64url: no `.`, which tells it from the tokens of before."""
        return _token(self.secret, customer_id)

    def customer_of(self, token: str) -> str | None:
        """The customer id a token was made for, or None when it is malformed, forged or made under another secret."""
        try:
            if "." in token:
                return self._signed_customer_of(token)
            opened = _sealer(self.secret).open(_unb64(token))
            return opened.decode() if opened is not None else None
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None

    def _signed_customer_of(self, token: str) -> str | None:
        """A token of the form links had before they were sealed: `<customer id, base64url>.<HMAC tag, base64url>`."""
        encoded, _, tag = token.partition(".")
        customer_id = _unb64(encoded).decode()
        return customer_id if hmac.compare_digest(_unb64(tag), self._tag(customer_id)) else None

    def url(self, customer_id: str) -> str:
        return f"{self.public_url}/v1/unsubscribe/{self.token(customer_id)}"

    def headers(self, customer_id: str) -> dict[str, str]:
        """List-Unsubscribe (and List-Unsubscribe-Post for an https URL) for one customer's marketing email."""
        url = self.url(customer_id)
        targets = [f"<{url}>"]
        if self.mailto:
            targets.append(f"<mailto:{self.mailto}?subject={quote('unsubscribe ' + self.token(customer_id))}>")
        headers = {"List-Unsubscribe": ", ".join(targets)}
        if url.startswith("https://"):
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        return headers

    def _tag(self, customer_id: str) -> bytes:
        return _tag(self.secret, customer_id)


def ensure_unsubscribe_link(html: str, url: str, language: str) -> str:
    """`html` unchanged when it already links to `url`; otherwise with a small footer that does."""
    if url in html or str(escape(url)) in html:
        return html
    text = _FOOTER_TEXT.get(language, _FOOTER_TEXT["en"])
    link = _FOOTER_LINK.get(language, _FOOTER_LINK["en"])
    footer = (
        f'\n<p style="font-size:12px;color:#666666;margin-top:24px">{escape(text)} '
        f'<a href="{escape(url)}" style="color:#666666">{escape(link)}</a></p>\n'
    )
    ends = list(_BODY_END.finditer(html))
    if ends:
        at = ends[-1].start()
        return html[:at] + footer + html[at:]
    return html + footer


def _tag(secret: bytes, customer_id: str) -> bytes:
    return hmac.new(secret, b"unsubscribe:" + customer_id.encode(), hashlib.sha256).digest()[:_TAG_BYTES]


@lru_cache(maxsize=4)
def _sealer(secret: bytes) -> Sealer:
    return Sealer(secret, "journey unsubscribe token")


@lru_cache(maxsize=64)
def _token(secret: bytes, customer_id: str) -> str:
    # Cached: one marketing email seals its customer's token two or three times (the link, List-Unsubscribe,
    # the mailto: subject). A few recent customers suffice; the key includes the secret, so a new one seals anew.
    return _b64(_sealer(secret).seal(customer_id.encode()))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    if not text or not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
