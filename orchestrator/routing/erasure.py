"""Erasing a customer everywhere we hold their personal data: the store and Temporal (docs/privacy.md, "Erasure").

Three steps, each safe to run again, so a repeated request finishes what a failed one began:
1. the tombstone, written under the customer's lock (which waits for a router's lease): from then
   on routing refuses the customer's calls and the delivery gate their sends, so nothing new starts;
2. their workflows are ended (terminated: no further step, no further send) and every run's history
   is deleted from Temporal;
3. in one store transaction, each address is kept as a suppression entry (a keyed hash), every row
   holding their personal data is deleted, and the tombstone becomes the audit row.
If Temporal cannot be reached in step 2 the request fails with the tombstone in place: the customer
gets no messages meanwhile, and the request tried again continues the same erasure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from orchestrator.privacy.keyed_hash import HashSecret
from orchestrator.runtime.ids import CustomerKeys, unkeyed_customer_key
from orchestrator.store import Store


class WorkflowEraser(Protocol):
    """The Temporal side (orchestrator/routing/gateway.py's `LoopGateway`)."""

    def end_and_delete(self, enrollment_ids: list[str], customer_keys: list[str]) -> tuple[int, int]: ...


@dataclass(frozen=True)
class ErasureReport:
    """What one erasure did, without any of the data: the API's answer and the CLI's output."""

    requested_by: str
    requested_at: datetime
    completed_at: datetime
    enrollments_ended: int
    """Enrollments that were still running, ended."""
    histories_deleted: int
    """Workflow runs whose Temporal history was deleted."""
    removed: dict[str, int]
    """Rows deleted, per store table, and `suppressed_addresses`: the suppression entries written."""
    earlier_erasures: int
    """Erasures of the same customer id completed before this one (a repeated request finds nothing more to remove)."""


def customer_keys(secret: HashSecret, customer_id: str) -> list[str]:
    """The keys that stand for the customer in workflow ids and `CustomerId` (orchestrator/runtime/ids.py): the keyed
    one under the deployment's secret, and the unkeyed one of enrollments started before keyed hashes."""
    return [CustomerKeys(secret).key(customer_id), unkeyed_customer_key(customer_id)]


def erase_customer(store: Store, temporal: WorkflowEraser, customer_id: str, requested_by: str) -> ErasureReport:
    """Erase `customer_id` (module docstring). Raises TemporalUnavailable if step 2 cannot be done."""
    requested_at = datetime.now(UTC)
    with store.session(lock_customer=customer_id) as session:
        erasure_id = session.begin_erasure(customer_id, requested_by, requested_at)
        earlier = session.earlier_erasures(customer_id)
        enrollment_ids = [e.enrollment_id for e in session.enrollments_for(customer_id)]
    ended, deleted = temporal.end_and_delete(enrollment_ids, customer_keys(store.hash_secret, customer_id))
    completed_at = datetime.now(UTC)
    with store.session(lock_customer=customer_id) as session:
        removed = session.erase_customer_rows(erasure_id, customer_id, completed_at)
    store.forget_deleted_pages()
    return ErasureReport(requested_by, requested_at, completed_at, ended, deleted, removed, earlier)
