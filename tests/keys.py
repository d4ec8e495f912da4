"""The keys tests run with: a hash secret for customer keys, payload keys for the codec. Fixed, so failures reproduce."""

from __future__ import annotations

from orchestrator.privacy.keyed_hash import HashSecret
from orchestrator.privacy.payload_codec import PayloadKey, PayloadKeys
from orchestrator.runtime.ids import CustomerKeys

HASH_SECRET = HashSecret(b"tests-hash-secret-not-for-production")
CUSTOMER_KEYS = CustomerKeys(HASH_SECRET)
PAYLOAD_KEYS = PayloadKeys((PayloadKey("test-1", bytes(range(32))),))
PAYLOAD_KEYS_TEXT = PAYLOAD_KEYS.text()
"""As JOURNEY_PAYLOAD_KEYS holds them."""
KEYS_ENVIRONMENT = {"JOURNEY_PAYLOAD_KEYS": PAYLOAD_KEYS_TEXT, "JOURNEY_HASH_SECRET": HASH_SECRET.key.decode()}
"""The variables without which `journey api`, `journey worker` and `journey deploy` refuse to start."""
