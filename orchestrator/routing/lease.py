"""Customer leases: one customer's routed calls apply in order without a database lock held across Temporal calls.

Routing plans its Temporal calls in one short transaction, makes them, and
records their effects in a second short transaction (orchestrator/routing/router.py).
Between the two, the customer's *lease* keeps every other routed call for that
customer waiting: in this process a `threading.Lock` per customer (no polling,
first come first served), across processes a lease row in `customer_locks`
with an expiry, so a process that dies holding one blocks that customer only
until the lease runs out. On SQLite this is what lets different customers'
calls reach Temporal concurrently: the database's single write lock is held for
milliseconds per call, not for a Temporal round trip.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

LEASE_TTL = timedelta(seconds=60)
"""How long a lease lasts: longer than a routed call's Temporal calls take (10 s each, a few in a row)."""

LEASE_WAIT = timedelta(seconds=15)
"""How long a call waits for another holder's lease before answering 503 (retry later)."""


class CustomerBusy(RuntimeError):
    """Another call for the same customer held its lease too long: nothing was applied, retry later.

    `retry_after`: seconds until the lease in the way runs out, when known (the API's `Retry-After`)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CustomerBeingErased(CustomerBusy):
    """The customer is being erased: nothing was applied; a call retried once the erasure is done is a new customer's."""


def give_up_on(held_until: datetime, deadline: float) -> None:
    """Raise CustomerBusy, with the seconds until the lease runs out, once waiting for it is over or pointless: a lease
    taken longer ago than LEASE_WAIT outlived any call (its holder died) and holds until it expires."""
    now = datetime.now(UTC)
    orphaned = now - (held_until - LEASE_TTL) > LEASE_WAIT
    if orphaned or time.monotonic() >= deadline:
        left = max(1.0, (held_until - now).total_seconds())
        raise CustomerBusy(f"another process holds this customer for {left:.0f} s more; retry then", retry_after=left)


def new_holder() -> str:
    """A lease holder id unique to this process and router: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LocalCustomerLocks:
    """One lock per customer in this process, created on demand and dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, customer_ids: Sequence[str], wait: timedelta = LEASE_WAIT) -> Iterator[None]:
        """Hold every customer's lock (taken in sorted order, so two holders cannot deadlock).

        Raises CustomerBusy when one is not free within `wait`.
        """
        held: list[str] = []
        try:
            for customer_id in sorted(set(customer_ids)):
                lock = self._check_out(customer_id)
                if not lock.acquire(timeout=wait.total_seconds()):
                    self._check_in(customer_id)
                    raise CustomerBusy("another call for this customer is still being applied; retry shortly")
                held.append(customer_id)
            yield
        finally:
            for customer_id in reversed(held):
                self._locks[customer_id][0].release()
                self._check_in(customer_id)

    def __len__(self) -> int:
        return len(self._locks)

    def _check_out(self, customer_id: str) -> threading.Lock:
        with self._mutex:
            lock, users = self._locks.get(customer_id) or (threading.Lock(), 0)
            self._locks[customer_id] = (lock, users + 1)
            return lock

    def _check_in(self, customer_id: str) -> None:
        with self._mutex:
            lock, users = self._locks[customer_id]
            if users == 1:
                del self._locks[customer_id]
            else:
                self._locks[customer_id] = (lock, users - 1)
