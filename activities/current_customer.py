"""The customer an activity works for: the one its workflow was started for, as that customer is now.

An enrollment started for an anonymous visitor keeps the visitor's id in its workflow's input for good;
once the visitor logs in, their profile, consent, delivery ledger and caps are the known customer's
(orchestrator/store/identities.py). So every activity first puts its request on the customer the id is
now, and the rest of it reads and writes that customer's rows. A known customer's id is never merged:
it costs nothing. An anonymous id whose merge commits after this read is caught where it matters, under
the customer's lock (`StoreSession.refuse_if_merged`): the activity is retried, and then reads the known customer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Protocol, TypeVar

from orchestrator.store import Store
from orchestrator.store.identities import is_anonymous


class _ForCustomer(Protocol):
    customer_id: str


R = TypeVar("R", bound=_ForCustomer)


def current_request(store: Store, request: R) -> R:
    """`request` for the customer its `customer_id` is now."""
    return current_requests(store, [request])[0]


def current_requests(store: Store, requests: Sequence[R]) -> list[R]:
    """Each of `requests` for the customer its `customer_id` is now, in one read for them all (a cohort's batch)."""
    anonymous = {request.customer_id for request in requests if request.customer_id is not None and is_anonymous(request.customer_id)}
    if not anonymous:
        return list(requests)
    with store.read() as session:
        now = session.current_customers(anonymous)
    return [dataclasses.replace(r, customer_id=now[r.customer_id]) if r.customer_id in now else r for r in requests]  # type: ignore[type-var]
