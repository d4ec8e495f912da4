"""Erasing a customer everywhere we hold their personal data: the store and Temporal (docs/privacy.md, "Erasure").

Three steps, each safe to run again, so a repeated request finishes what a failed one began:
1. the tombstone, written under the customer's lock (which waits for a router's lease): from then
   on routing refuses the customer's calls and the delivery gate their sends, so nothing new starts;
2. their workflows are ended (terminated: no further step, no further send) and every run's history
   is deleted from Temporal; an enrollment run by a broadcast cohort has no workflow of its own: its
   cohort is told to forget it (`forget_member`: dropped at once, nothing more of it carried out),
   and the cohort's history, which holds the other members too, stays until the namespace's
   retention deletes it after the cohort closes;
3. in one store transaction, each address is kept as a suppression entry (a keyed hash), every row
   holding their personal data is deleted, and the tombstone becomes the audit row.
What an anonymous profile merged into them held is theirs (orchestrator/store/identities.py), and goes with it.
If Temporal cannot be reached in step 2 the request fails with the tombstone in place: the customer
gets no messages meanwhile, and the request tried again continues the same erasure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from orchestrator.privacy.keyed_hash import HashSecret
from orchestrator.runtime.ids import CustomerKeys, unkeyed_customer_key
from orchestrator.store import Enrollment, Store


class WorkflowEraser(Protocol):
    """The Temporal side (orchestrator/routing/gateway.py's `LoopGateway`)."""

    def end_and_delete(self, enrollment_ids: list[str], customer_keys: list[str]) -> tuple[int, int]: ...

    def forget_members(self, members: list[Enrollment]) -> int: ...


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
    cohort_members_forgotten: int
    """Enrollments still running in a broadcast cohort, dropped from it (the cohort took `forget_member`)."""
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
        enrollments = session.enrollments_for(customer_id)
        merged = [merge.anonymous_id for merge in session.merges_into(customer_id)]
    # A cohort member has no workflow of its own: its history is its cohort's, shared with the other members, so it is
    # forgotten, not deleted. One that has ended carries out nothing more: only running members are signalled.
    members = [e for e in enrollments if e.cohort_id is not None and e.status == "running"]
    forgotten = temporal.forget_members(members) if members else 0
    own_workflows = [e.enrollment_id for e in enrollments if e.cohort_id is None]
    # An anonymous profile merged into them started its enrollments under its own key.
    keys = [key for customer in (customer_id, *merged) for key in customer_keys(store.hash_secret, customer)]
    ended, deleted = temporal.end_and_delete(own_workflows, keys)
    completed_at = datetime.now(UTC)
    with store.session(lock_customer=customer_id) as session:
        removed = session.erase_customer_rows(erasure_id, customer_id, completed_at)
    store.forget_deleted_pages()
    return ErasureReport(requested_by, requested_at, completed_at, ended, deleted, forgotten, removed, earlier)
