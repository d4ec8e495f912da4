"""Encrypted Temporal payloads: AES-256-GCM with a key id in each payload, so keys can rotate.

Everything a client or worker hands Temporal as a payload (workflow inputs and results,
signals, activity arguments and results, queries, markers) is encrypted before it leaves
the process, and failure messages and stack traces are moved into an encrypted payload
too. The server, its database and anyone reading the Temporal UI without the keys see
`binary/encrypted` and ciphertext.

The shape is Temporal's own encryption sample (samples-python `encryption/codec.py`):
the whole serialized payload (its metadata included) is encrypted, nonce first, with the
metadata `encoding: binary/encrypted` and `encryption-key-id: <id>`, and no associated
data. Keeping to it means Temporal's codec servers in other languages can decode our
histories with the same keys.

Rotation: `PayloadKeys` is an ordered ring. The first key encrypts every new payload;
every key of the ring decrypts, chosen by the payload's key id. Add a new key first, keep
the old ones as long as histories encrypted with them may still be read (running
enrollments, and closed ones within the namespace's retention). Payloads written before
encryption was turned on carry no `binary/encrypted` encoding and pass through as they
are, so enrollments that were running keep working.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec

ENCRYPTED_ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
KEY_BYTES = 32
"""AES-256."""
_NONCE_BYTES = 12
_KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
KEYS_FORMAT = "<id>:<base64 of 32 random bytes>[,<id>:<key>...], the current key first, e.g. k1:$(openssl rand -base64 32)"


class UnknownPayloadKey(ValueError):
    """A payload was encrypted with a key the ring does not hold (removed too early, or another deployment's)."""

    def __init__(self, key_id: str) -> None:
        super().__init__(
            f"a payload is encrypted with key {key_id!r}, which is not among the configured payload keys:"
            f" add it back to JOURNEY_PAYLOAD_KEYS (after the current key)"
        )
        self.key_id = key_id


@dataclass(frozen=True, repr=False)  # repr=False: keys never reach a log or a traceback's locals
class PayloadKey:
    id: str
    key: bytes

    def __post_init__(self) -> None:
        if not _KEY_ID.fullmatch(self.id):
            raise ValueError(f"key id {self.id!r}: use 1 to 64 letters, digits, '.', '_' or '-'")
        if len(self.key) != KEY_BYTES:
            raise ValueError(f"key {self.id!r} is {len(self.key)} bytes: an AES-256 key is {KEY_BYTES} random bytes")

    @classmethod
    def generate(cls, key_id: str) -> PayloadKey:
        return cls(key_id, os.urandom(KEY_BYTES))

    def __repr__(self) -> str:
        return f"PayloadKey({self.id!r}, <hidden>)"


@dataclass(frozen=True)
class PayloadKeys:
    """The ring: `keys[0]` encrypts, all of them decrypt."""

    keys: tuple[PayloadKey, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("no key: give at least one")
        ids = [key.id for key in self.keys]
        if len(set(ids)) != len(ids):
            raise ValueError(f"key ids must differ: {sorted({i for i in ids if ids.count(i) > 1})} given twice")

    @property
    def current(self) -> PayloadKey:
        return self.keys[0]

    @classmethod
    def parse(cls, text: str) -> PayloadKeys:
        """`id:base64key,id:base64key`, the current key first. The ValueError never quotes a key."""
        keys = []
        for number, entry in enumerate((part.strip() for part in text.split(",")), start=1):
            key_id, colon, encoded = entry.partition(":")
            if not colon:
                raise ValueError(f"entry {number} has no ':' between its id and its key; write {KEYS_FORMAT}")
            try:
                key = base64.b64decode(encoded.strip().replace("-", "+").replace("_", "/"), validate=True)
            except (binascii.Error, ValueError):
                raise ValueError(f"key {key_id.strip()!r} is not base64; write {KEYS_FORMAT}") from None
            keys.append(PayloadKey(key_id.strip(), key))
        return cls(tuple(keys))

    def text(self) -> str:
        """The form `parse` reads (what `journey dev` keeps in its data dir)."""
        return ",".join(f"{key.id}:{base64.b64encode(key.key).decode()}" for key in self.keys)


class EncryptionCodec(PayloadCodec):
    """The payload codec of every client and worker, and of the API's codec endpoint."""

    def __init__(self, keys: PayloadKeys) -> None:
        super().__init__()
        self.keys = keys

    @cached_property
    def _ciphers(self) -> dict[str, AESGCM]:
        return {key.id: AESGCM(key.key) for key in self.keys.keys}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        current = self.keys.current
        nonce = os.urandom(_NONCE_BYTES)
        sealed = nonce + self._ciphers[current.id].encrypt(nonce, payload.SerializeToString(), None)
        return Payload(metadata={"encoding": ENCRYPTED_ENCODING, KEY_ID_METADATA: current.id.encode()}, data=sealed)

    def decrypt(self, payload: Payload) -> Payload:
        """The payload as it was before `encrypt`; one that was never encrypted (written before keys were set) as it is.

        Raises UnknownPayloadKey for a key id the ring does not hold, and cryptography's
        InvalidTag for a payload that was changed or encrypted under another key of the same id.
        """
        if payload.metadata.get("encoding") != ENCRYPTED_ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise UnknownPayloadKey(key_id)
        data = payload.data
        return Payload.FromString(cipher.decrypt(data[:_NONCE_BYTES], data[_NONCE_BYTES:], None))


def encrypting_converter(keys: PayloadKeys, base: DataConverter | None = None) -> DataConverter:
    """`base` (default: Temporal's) with payloads encrypted under `keys`, failure messages and stack traces included."""
    return dataclasses.replace(
        base or DataConverter.default,
        payload_codec=EncryptionCodec(keys),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )

