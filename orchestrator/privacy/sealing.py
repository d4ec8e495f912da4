"""Sealed values: short data carried in links, readable and verifiable only with the secret.

AES-SIV (RFC 5297) is authenticated encryption that needs no nonce: the same value
sealed under the same secret gives the same text, so a link can be made again at any
time without storing anything, and a changed or forged one fails to open. The key
is derived from the caller's secret and purpose with HKDF-SHA256, so one configured
secret can serve several purposes without their sealed values being interchangeable.
The value is padded to a multiple of 16 bytes first: the length of a sealed e-mail
address says little about the address.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_BLOCK = 16
_PAD_MARK = b"\x80"  # ISO/IEC 7816-4: a 0x80 byte, then zeros to the block's end


class Sealer:
    """Seals and opens values under a key derived from `secret` for `purpose`."""

    def __init__(self, secret: bytes, purpose: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=64, salt=None, info=purpose.encode()).derive(secret)
        self._cipher = AESSIV(key)  # 64 bytes: AES-256-SIV

    def __repr__(self) -> str:
        return "Sealer(<hidden>)"

    def seal(self, value: bytes) -> bytes:
        padded = value + _PAD_MARK
        padded += b"\x00" * (-len(padded) % _BLOCK)
        return self._cipher.encrypt(padded, None)

    def open(self, sealed: bytes) -> bytes | None:
        """The value, or None when `sealed` was not made by this secret and purpose (or was changed)."""
        try:
            padded = self._cipher.decrypt(sealed, None)
        except (InvalidTag, ValueError):
            return None
        value, mark, _zeros = padded.rstrip(b"\x00").rpartition(_PAD_MARK)
        return value if mark else None
