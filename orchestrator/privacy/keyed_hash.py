"""Keyed hashes: values that stand for personal data, and that cannot be computed from the data without the secret.

An unkeyed hash of an e-mail address is no protection: anyone can hash a known address
and look for the result. An HMAC-SHA256 under a secret can only be matched by whoever
holds the secret. Each use names its purpose, which is hashed in with the value, so the
hashes one secret makes for different purposes (the customer key of workflow ids, a
suppression entry) cannot be linked to each other.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

MIN_SECRET_BYTES = 16
"""A shorter secret could be guessed by trying: the hashes would be as good as unkeyed."""


@dataclass(frozen=True, repr=False)  # repr=False: the secret never reaches a log or a traceback's locals
class HashSecret:
    """The secret of keyed hashes (JOURNEY_HASH_SECRET, or the one `journey dev` keeps under `.journey/`)."""

    key: bytes

    def __post_init__(self) -> None:
        if len(self.key) < MIN_SECRET_BYTES:
            raise ValueError(f"the secret is too short: use at least {MIN_SECRET_BYTES} random bytes, e.g. $(openssl rand -hex 32)")

    def hexdigest(self, purpose: str, value: str, length: int = 64) -> str:
        """The first `length` hex digits of HMAC-SHA256(secret, purpose NUL value)."""
        message = purpose.encode() + b"\x00" + value.encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()[:length]

    def __repr__(self) -> str:
        return "HashSecret(<hidden>)"
