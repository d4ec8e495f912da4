"""The keyed hashes the store keeps where it must not keep the personal data itself.

An erased customer's addresses stay as suppression entries and the customer as the subject of
an audit row, each as an HMAC under the deployment's hash secret (JOURNEY_HASH_SECRET,
orchestrator/privacy/keyed_hash.py): whoever reads the database cannot tell whether a known
address was ever a customer's without the secret. One function per use, each its own purpose,
so the hashes of one value for different uses cannot be linked.
"""

from __future__ import annotations

from orchestrator.privacy.keyed_hash import HashSecret

DEVELOPMENT_SECRET = HashSecret(b"journey development hash secret: set JOURNEY_HASH_SECRET")
"""What a store is given when no secret is configured (tests, simulations, `journey dev` without one): public, so
its hashes are as good as unkeyed. `journey api` and `journey worker` warn when they run on it."""


def address_hash(secret: HashSecret, channel: str, address: str) -> str:
    """The suppression key of an address: e-mail addresses compared without case, as mail servers do."""
    normalized = address.strip().lower() if channel == "email" else address.strip()
    return secret.hexdigest("suppressed-address", f"{channel}\x00{normalized}")


def customer_hash(secret: HashSecret, customer_id: str) -> str:
    """How an erasure names its customer: the audit row and the refusal of sends in flight, never the id itself."""
    return secret.hexdigest("erased-customer", customer_id)
