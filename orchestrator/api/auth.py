"""API keys: `Authorization: Bearer <key>`, or HTTP Basic with the key as the username.

Basic is how Segment's and RudderStack's webhook destinations authenticate
(the write key as username, an empty password). Keys come from
JOURNEY_API_KEYS (comma-separated, read when the process starts), so one can be
rotated by adding the new key, moving senders over, then removing the old one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging

from fastapi import Request

from orchestrator.api.errors import ApiError

log = logging.getLogger(__name__)

KEYS_VARIABLE = "JOURNEY_API_KEYS"
OPEN_CALLER = "no API key (auth disabled)"
CHALLENGE = 'Bearer realm="journey", Basic realm="journey"'


def presented_key(authorization: str | None) -> str | None:
    """The key in an Authorization header (Bearer, or Basic with the key as username); None if there is none."""
    if not authorization:
        return None
    scheme, _, credentials = authorization.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer":
        return credentials or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        username, _, _password = decoded.partition(":")
        return username or None
    return None


class ApiKeyAuth:
    """A FastAPI dependency that lets a request through only with one of `keys`.

    With no keys configured every request is refused, unless the app was made with
    `disabled=True` (the local `journey dev` stack): forgetting JOURNEY_API_KEYS must
    never open an API that writes profiles.
    """

    def __init__(self, keys: frozenset[str] | None, *, disabled: bool = False) -> None:
        self.keys = tuple(k.encode() for k in sorted(keys or ()))
        self.open = disabled and not self.keys
        if self.open:
            log.warning("the API accepts calls without an API key (auth disabled, no JOURNEY_API_KEYS)")

    async def __call__(self, request: Request) -> None:
        if self.open:
            request.state.caller = OPEN_CALLER
            return
        if not self.keys:
            raise _unauthorized(f"this API has no keys configured: set {KEYS_VARIABLE} where it runs")
        key = presented_key(request.headers.get("authorization"))
        if key is None:
            raise _unauthorized("missing API key: send `Authorization: Bearer <key>`, or HTTP Basic auth with the key as the username")
        presented = key.encode()
        # Compare with every key, each in constant time: how long this takes says nothing about the keys.
        matched = [hmac.compare_digest(presented, known) for known in self.keys]
        if not any(matched):
            raise _unauthorized("invalid API key")
        request.state.caller = key_name(key)


def key_name(key: str) -> str:
    """How an audit names the key of a call: a fingerprint an operator can compute from the key, never the key itself.

    Keys are long random strings (JOURNEY_API_KEYS), so a short unkeyed digest of one cannot be turned back into it.
    """
    return "api-key:" + hashlib.sha256(key.encode()).hexdigest()[:12]


def caller(request: Request) -> str:
    """Who made this call, as `ApiKeyAuth` found it (audits record it)."""
    return str(getattr(request.state, "caller", OPEN_CALLER))


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": CHALLENGE})
