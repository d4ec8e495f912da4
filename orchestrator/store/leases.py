"""Customer locks and routers' leases: how one customer's writes stay in order across processes.

`lock_customer` is what `Store.session(lock_customer=...)` runs first; `take_leases` and
`release_leases` are routing's (orchestrator/routing/lease.py), whose leases outlive a
transaction. All of them work on the `customer_locks` table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from orchestrator.store.prepared import Prepared
from orchestrator.store.queries import Queries
from orchestrator.store.schema import customer_locks, utc


class LeaseQueries(Queries):
    """The customer locks of `Store.session(lock_customer=...)` and routing's leases."""

    def lock_customer(self, customer_id: str) -> datetime | None:
        """Serialize with every other session that locks `customer_id` until this transaction ends.

        Returns until when a router's lease on the customer runs, if one has a holder (it may have
        expired; see orchestrator/routing/lease.py), read after the lock is taken.
        PostgreSQL: a row lock on the customer's `customer_locks` row (inserted on first use), taken
        by one upsert that also returns the lease: inserting, locking and reading apart would cost a
        round trip each, on every send.
        SQLite: nothing to lock, every session already began IMMEDIATE (the single write lock).
        """
        if self._dialect == "sqlite":
            row = _LEASED_UNTIL.first(self._conn, {"lease_customer": customer_id})
        else:
            row = _LOCK_CUSTOMER.first(self._conn, {"lock_customer_id": customer_id})
        return row.held_until if row is not None else None

    def take_leases(self, customer_ids: Sequence[str], holder: str, now: datetime, until: datetime) -> bool:
        """Lease every one of `customer_ids` to `holder` until `until`; False if another holder's lease is live.

        A lease outlives this transaction (see orchestrator/routing/lease.py): it is how routing keeps
        one customer's calls in order across processes without holding a database lock while Temporal
        answers. On False the caller must roll back, which also undoes the leases that were taken.
        """
        statement = _TAKE_LEASE[self._dialect]
        lease = {"lease_holder": holder, "lease_until": utc(until, "until"), "lease_now": utc(now, "now")}
        for customer_id in dict.fromkeys(customer_ids):
            if self._conn.execute(statement, lease | {"lease_customer": customer_id}).first() is None:
                return False
        return True

    def leased_until(self, customer_ids: Sequence[str], holder: str) -> datetime | None:
        """Until when the last of the other holders' leases on `customer_ids` runs (None: nobody else holds one)."""
        row = customer_locks.c
        query = select(func.max(row.held_until)).where(
            row.customer_id.in_(list(dict.fromkeys(customer_ids))), row.holder.is_not(None), row.holder != holder
        )
        found: datetime | None = self._conn.execute(query).scalar_one_or_none()  # max() keeps the column's type: in UTC
        return found

    def release_leases(self, customer_ids: Sequence[str], holder: str) -> None:
        """End `holder`'s leases on `customer_ids` (a lease another holder took over after it expired stays)."""
        self._conn.execute(_RELEASE_LEASES, {"lease_customers": list(customer_ids), "lease_holder": holder})


def _take_lease(insert: Callable[[Table], Any]) -> Any:
    """Insert the customer's lock row with the lease, or take the lease over if it is free, ours, or expired."""
    statement = insert(customer_locks).values(
        customer_id=bindparam("lease_customer"), holder=bindparam("lease_holder"), held_until=bindparam("lease_until")
    )
    free = (
        customer_locks.c.holder.is_(None)
        | (customer_locks.c.holder == bindparam("lease_holder"))
        | (customer_locks.c.held_until < bindparam("lease_now"))
    )
    lease = {"holder": statement.excluded.holder, "held_until": statement.excluded.held_until}
    taken = statement.on_conflict_do_update(index_elements=[customer_locks.c.customer_id], set_=lease, where=free)
    return taken.returning(customer_locks.c.customer_id)


_TAKE_LEASE = {"sqlite": _take_lease(sqlite.insert), "postgresql": _take_lease(postgresql.insert)}
_LEASED_UNTIL = Prepared(
    select(customer_locks.c.held_until).where(
        customer_locks.c.customer_id == bindparam("lease_customer"), customer_locks.c.holder.is_not(None)
    )
)
"""Asked by every customer-locked session on SQLite; almost always no lease is held."""
_LOCK_CUSTOMER = Prepared(
    postgresql.insert(customer_locks)
    .values(customer_id=bindparam("lock_customer_id"))
    .on_conflict_do_update(
        index_elements=[customer_locks.c.customer_id],
        set_={"holder": customer_locks.c.holder},
        # PostgreSQL locks the row it finds even when this is false, and then returns nothing: a row
        # without a lease holder is locked without writing a new version of it.
        where=customer_locks.c.holder.is_not(None),
    )
    .returning(customer_locks.c.held_until)
)
"""PostgreSQL: lock the customer's row, inserting it on first use; returns it if it is new or has a lease holder."""
_RELEASE_LEASES = (
    update(customer_locks)
    .where(
        customer_locks.c.customer_id.in_(bindparam("lease_customers", expanding=True)),
        customer_locks.c.holder == bindparam("lease_holder"),
    )
    .values(holder=None, held_until=None)
)
