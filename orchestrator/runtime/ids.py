"""Workflow ids of enrollments, and the customer key in them: no customer id (sometimes an e-mail address) in clear.

The router names every enrollment it starts `<journey>-<customer key>-<n>`, and the
`CustomerId` search attribute carries the same customer key, so an operator who knows a
customer id finds that customer's enrollments in the Temporal UI (`journey customers key ID`
prints the key) without the id being stored there.

The customer key is a keyed hash (orchestrator/privacy/keyed_hash.py) under the deployment's
JOURNEY_HASH_SECRET: without the secret, hashing a known e-mail address does not find its
enrollments. Enrollments started before the secret was introduced carry the unkeyed
`sha256(id)[:20]` in their ids and `CustomerId`; they are never renamed (a workflow id cannot
change), and nothing recomputes their ids: routing reaches them through the ids the
enrollment index stored (orchestrator/store/enrollments.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from orchestrator.privacy.keyed_hash import HashSecret

KEY_LENGTH = 20
"""Hex digits of a customer key: 80 bits, no collision in any realistic number of customers."""
_PURPOSE = "customer-key"


@dataclass(frozen=True)
class CustomerKeys:
    """Makes the customer keys and enrollment ids of one deployment, under its hash secret."""

    secret: HashSecret

    def key(self, customer_id: str) -> str:
        """The opaque, stable key of a customer in workflow ids and in `CustomerId`."""
        return self.secret.hexdigest(_PURPOSE, customer_id, KEY_LENGTH)

    def enrollment_id(self, journey_id: str, customer_id: str, number: int) -> str:
        """The workflow id of a customer's `number`th entry into a journey."""
        return enrollment_id(journey_id, self.key(customer_id), number)


def enrollment_id(journey_id: str, customer_key: str, number: int) -> str:
    """The workflow id of the `number`th entry into a journey of the customer whose key is `customer_key`."""
    return f"{journey_id}-{customer_key}-{number}"


def cohort_id(journey_id: str, run_key: str, page: int) -> str:
    """The workflow id of the cohort that runs page number `page` of the broadcast run `run_key` (the broadcast workflow's
    id): a retried page starts the same cohort, and no customer is named in it."""
    return f"cohort-{journey_id}-{run_key}-{page}"


def unkeyed_customer_key(customer_id: str) -> str:
    """The customer key of enrollments started before keyed hashes: anyone can compute it, so nothing new uses it.

    Kept so that `journey customers key` can also name a customer's older enrollments in the Temporal UI.
    """
    return hashlib.sha256(customer_id.encode()).hexdigest()[:KEY_LENGTH]
