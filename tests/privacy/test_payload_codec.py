"""The payload codec: AES-256-GCM with key ids; the current key encrypts, every key decrypts, plain payloads pass through."""

from __future__ import annotations

import os

import pytest
from cryptography.exceptions import InvalidTag
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.converter import DataConverter

from orchestrator.privacy.payload_codec import ENCRYPTED_ENCODING, KEY_ID_METADATA, PayloadKey, PayloadKeys, encrypting_converter

EMAIL = "ann@example.com"
OLD = PayloadKey("2026-01", os.urandom(32))
NEW = PayloadKey("2026-07", os.urandom(32))


async def encoded(keys: PayloadKeys, value: object) -> Payload:
    (payload,) = await encrypting_converter(keys).encode([value])
    return payload


async def decoded(keys: PayloadKeys, payload: Payload) -> object:
    (value,) = await encrypting_converter(keys).decode([payload])
    return value


async def test_a_payload_leaves_the_process_encrypted_under_the_current_key() -> None:
    payload = await encoded(PayloadKeys((OLD,)), {"customer_id": EMAIL})
    assert payload.metadata["encoding"] == ENCRYPTED_ENCODING and payload.metadata[KEY_ID_METADATA] == b"2026-01"
    assert EMAIL.encode() not in payload.SerializeToString()
    assert await decoded(PayloadKeys((OLD,)), payload) == {"customer_id": EMAIL}


async def test_after_rotation_new_payloads_use_the_new_key_and_old_ones_still_decrypt() -> None:
    before = await encoded(PayloadKeys((OLD,)), {"customer_id": EMAIL})
    rotated = PayloadKeys((NEW, OLD))
    after = await encoded(rotated, {"customer_id": EMAIL})
    assert after.metadata[KEY_ID_METADATA] == b"2026-07"
    assert await decoded(rotated, before) == await decoded(rotated, after) == {"customer_id": EMAIL}


async def test_a_payload_whose_key_was_removed_names_the_key_to_add_back() -> None:
    payload = await encoded(PayloadKeys((OLD,)), "x")
    with pytest.raises(ValueError, match=r"encrypted with key '2026-01'.*add it back to JOURNEY_PAYLOAD_KEYS"):
        await decoded(PayloadKeys((NEW,)), payload)


async def test_a_changed_payload_does_not_decrypt() -> None:
    payload = await encoded(PayloadKeys((OLD,)), "x")
    payload.data = payload.data[:-1] + bytes([payload.data[-1] ^ 1])
    with pytest.raises(InvalidTag):
        await decoded(PayloadKeys((OLD,)), payload)


async def test_a_payload_written_before_encryption_reads_as_it_was() -> None:
    (plain,) = await DataConverter.default.encode([{"customer_id": EMAIL}])
    assert await decoded(PayloadKeys((OLD,)), plain) == {"customer_id": EMAIL}


async def test_failure_messages_are_encrypted_too() -> None:
    converter = encrypting_converter(PayloadKeys((OLD,)))
    failure = Failure()
    await converter.encode_failure(RuntimeError(f"no address for {EMAIL}"), failure)
    assert EMAIL.encode() not in failure.SerializeToString()
    assert EMAIL in str(await converter.decode_failure(failure))


def test_keys_are_read_current_first_and_never_quoted_in_an_error() -> None:
    ring = PayloadKeys((NEW, OLD))
    assert PayloadKeys.parse(ring.text()) == ring and PayloadKeys.parse(ring.text()).current.id == "2026-07"
    short = "k1:" + "QUJD"  # 3 bytes
    with pytest.raises(ValueError, match=r"key 'k1' is 3 bytes: an AES-256 key is 32 random bytes") as refused:
        PayloadKeys.parse(short)
    assert "QUJD" not in str(refused.value)
    with pytest.raises(ValueError, match="given twice"):
        PayloadKeys.parse(f"{ring.text()},{OLD.id}:{ring.text().split(':')[-1]}")
    assert "<hidden>" in repr(ring) and ring.text().split(":")[-1] not in repr(ring)
