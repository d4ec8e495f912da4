"""What a batch of sends reads and writes (activities/batch_sends.py): the single send path's statements, for many rows at once.

A cohort sends to up to a page of customers in one activity. Statement for statement the single
path (ledger.py, gate_facts.py, outbox.py) would cost a page a few thousand statements and, on
PostgreSQL, as many round trips; here each kind of read is one statement over the page's
customers or keys (`IN` lists, so `Connection.execute`, not `Prepared`), and each kind of write
one `executemany` of the same INSERT or UPDATE the single path runs row by row. The rules stay
where they are: which deliveries hold a slot under the caps is `ADMITTED_MARKETING`, which rows an
outcome may overwrite is `status = 'intent'`, a claim is `ON CONFLICT DO NOTHING`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql

from orchestrator.store.erasure import ERASURE_GUARDED
from orchestrator.store.gate_facts import ADMITTED_MARKETING
from orchestrator.store.hashes import customer_hash
from orchestrator.store.ledger import DELIVERY_BY_KEY, key_params
from orchestrator.store.outbox import outbox_row
from orchestrator.store.profiles_table import profile_from_row
from orchestrator.store.queries import Queries
from orchestrator.store.schema import customer_locks, deliveries, erasures, outbox_messages, profiles, utc
from orchestrator.store.values import DeliveryKey, OutboxMessage, Profile


@dataclass(frozen=True)
class CappedSend:
    """A delivery holding a slot under the caps, with its key: a batch leaves out the one it is deciding."""

    key: DeliveryKey
    journey_id: str
    admitted_at: datetime


class SendBatchQueries(Queries):
    """The ledger, profiles, erasures and outbox as a batch of sends reads and writes them."""

    def lock_customers(self, customer_ids: Sequence[str]) -> datetime | None:
        """`lock_customer` for every one of `customer_ids`: the latest end of a router's lease on any of them, if one has a holder.

        PostgreSQL: one upsert over the customers' lock rows in id order (two batches lock their common
        customers in the same order, so they cannot deadlock). SQLite: the session already holds the
        single write lock; only the leases are read.
        """
        ids = sorted(set(customer_ids))
        if not ids:
            return None
        if self._dialect == "sqlite":
            query = select(customer_locks.c.held_until).where(customer_locks.c.customer_id.in_(ids), customer_locks.c.holder.is_not(None))
            leases = [row.held_until for row in self._conn.execute(query)]
        else:
            statement = postgresql.insert(customer_locks).values([{"customer_id": customer_id} for customer_id in ids])
            statement = statement.on_conflict_do_update(
                index_elements=[customer_locks.c.customer_id],
                set_={"holder": customer_locks.c.holder},
                where=customer_locks.c.holder.is_not(None),  # locks the row without writing it, as `lock_customer` does
            ).returning(customer_locks.c.held_until)
            leases = [row.held_until for row in self._conn.execute(statement)]
        live = [until for until in leases if until is not None]
        return max(live) if live else None

    def erased_among(self, customer_ids: Iterable[str], at: datetime) -> set[str]:
        """Those of `customer_ids` for whom `erased_recently(customer_id, at)` holds."""
        by_hash = {customer_hash(self._secret, customer_id): customer_id for customer_id in customer_ids}
        if not by_hash:
            return set()
        query = select(erasures.c.customer_hash).where(erasures.c.customer_hash.in_(list(by_hash)) & ERASURE_GUARDED)
        return {by_hash[row.customer_hash] for row in self._conn.execute(query, {"erased_now": utc(at, "at")})}

    def gate_facts_of(self, customer_ids: Iterable[str], since: datetime) -> tuple[dict[str, Profile], dict[str, list[CappedSend]]]:
        """`gate_facts` for many customers: their profiles (those who have one) and their deliveries that count under the caps
        since `since`, each with its key (the caller leaves out the delivery it decides)."""
        ids = sorted(set(customer_ids))
        if not ids:
            return {}, {}
        rows = self._conn.execute(select(profiles).where(profiles.c.customer_id.in_(ids)))
        found = {row.customer_id: profile_from_row(row) for row in rows}
        d = deliveries.c
        query = select(d.customer_id, d.enrollment_id, d.step_id, d.visit, d.journey_id, d.admitted_at).where(
            d.customer_id.in_(ids) & ADMITTED_MARKETING
        )
        sends: dict[str, list[CappedSend]] = {}
        for row in self._conn.execute(query, {"sends_since": utc(since, "since")}):
            key = DeliveryKey(row.enrollment_id, row.step_id, row.visit)
            sends.setdefault(row.customer_id, []).append(CappedSend(key, row.journey_id or "", row.admitted_at))
        return found, sends

    def deliveries_of(self, keys: Iterable[DeliveryKey], *, for_update: bool = False) -> dict[DeliveryKey, tuple[str, str | None]]:
        """(status, reason) of the ledger rows of `keys` that were claimed (`delivery_outcome` for each). `for_update`:
        locked until the transaction ends (PostgreSQL), so an outcome written over `intent` next cannot race another attempt's."""
        wanted = set(keys)
        if not wanted:
            return {}
        d = deliveries.c
        query = select(d.enrollment_id, d.step_id, d.visit, d.status, d.reason).where(
            d.enrollment_id.in_(sorted({key.enrollment_id for key in wanted}))
        )
        if for_update:
            query = query.with_for_update()
        found = {}
        for enrollment_id, step_id, visit, status, reason in self._conn.execute(query):
            key = DeliveryKey(enrollment_id, step_id, visit)
            if key in wanted:
                found[key] = (status, reason)
        return found

    def claim_deliveries(self, claims: Sequence[Mapping[str, Any]]) -> None:
        """Insert new ledger rows (`claim_row` values), each unless its key is claimed already (ON CONFLICT DO NOTHING)."""
        if claims:
            self._conn.execute(self._insert(deliveries).on_conflict_do_nothing(), list(claims))

    def decide_deliveries(self, changes: Sequence[tuple[DeliveryKey, Mapping[str, Any]]]) -> None:
        """Write each change over its row if the row is still `intent` (what `mark_delivery`, `admit_delivery` and
        `note_delivery` do one at a time); one `executemany` per set of columns changed."""
        by_columns: dict[frozenset[str], list[dict[str, Any]]] = {}
        for key, values in changes:
            by_columns.setdefault(frozenset(values), []).append({**values, **key_params(key)})
        for rows in by_columns.values():
            self._conn.execute(_UPDATE_UNDECIDED, rows)

    def add_outbox_messages(self, messages: Sequence[OutboxMessage]) -> None:
        """`add_outbox_message` for each, in order (their ids follow it)."""
        if messages:
            self._conn.execute(outbox_messages.insert(), [outbox_row(message) for message in messages])


def claim_row(
    key: DeliveryKey,
    channel: str,
    at: datetime,
    *,
    customer_id: str,
    journey_id: str,
    category: str,
    status: str = "intent",
    reason: str | None = None,
    admitted_at: datetime | None = None,
) -> dict[str, Any]:
    """The row `claim_delivery` inserts for `key`, as `claim_deliveries` takes it; `status` may be any state a first
    attempt can leave it in (a batch writes a template failure decided in the same transaction as `failed`)."""
    return {
        "enrollment_id": key.enrollment_id,
        "step_id": key.step_id,
        "visit": key.visit,
        "channel": channel,
        "status": status,
        "provider_message_id": None,
        "reason": reason,
        "created_at": utc(at, "at"),
        "updated_at": utc(at, "at"),
        "customer_id": customer_id,
        "journey_id": journey_id,
        "category": category,
        "admitted_at": utc(admitted_at, "admitted_at") if admitted_at is not None else None,
        "message_ref": key.reference(),
    }


_UPDATE_UNDECIDED = update(deliveries).where(DELIVERY_BY_KEY & (deliveries.c.status == "intent"))
