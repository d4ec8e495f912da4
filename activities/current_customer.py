"""The customer an activity works for: the one its workflow was started for, as that customer is now.

An enrollment started for an anonymous visitor keeps the visitor's id in its workflow's input for good;
once the visitor logs in, their profile, consent, delivery ledger and caps are the known customer's
(orchestrator/store/identities.py). So every activity first puts its request on the customer the id is
now, and the rest of it reads and writes that customer's rows. A known customer's id is never merged:
it costs nothing. An anonymous id whose merge commits after this read is caught where it matters, under
the customer's lock (`StoreSession.refuse_if_merged`): the activity is retried, and then reads the known customer.
"""

from __future__ import annotations

from orchestrator.store import Store
from orchestrator.store.identities import ForCustomer
from orchestrator.store.identities import as_current as current_requests


def current_request(store: Store, request: ForCustomer) -> ForCustomer:
    """`request` for the customer its `customer_id` is now (`current_requests` for a batch: one read for them all)."""
    return current_requests(store, [request])[0]
