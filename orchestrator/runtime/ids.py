"""Workflow ids of enrollments, and the customer key in them: no customer id (sometimes an e-mail address) in clear.

The router names every enrollment it starts with `enrollment_id`; the search
attributes carry the same `customer_key`, so an operator who knows a customer id
finds that customer's enrollments in the Temporal UI without the id being stored
there.
"""

from __future__ import annotations

import hashlib


def customer_key(customer_id: str) -> str:
    """An opaque, stable key for a customer in workflow ids: ids can be e-mail addresses, which must not leak."""
    return hashlib.sha256(customer_id.encode()).hexdigest()[:20]


def enrollment_id(journey_id: str, customer_id: str, number: int) -> str:
    """The workflow id of a customer's `number`th entry into a journey: `<journey>-<customer key>-<n>`."""
    return f"{journey_id}-{customer_key(customer_id)}-{number}"
