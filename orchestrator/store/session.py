"""StoreSession: every read and write of the store, inside one transaction (see `Store.session`).

Each concern keeps its queries in a module of its own, as a subclass of `Queries` (the
session's connection and the dialect's INSERT): leases.py, profiles_table.py with
number_opt_outs.py, consent.py and profile_history.py, events.py, enrollments.py, problems.py, ledger.py,
gate_facts.py, provider_events.py, outbox.py, journey_counts.py (with fold.py, journey_facts.py
and journeys.py), erasure.py (with suppressions.py and retention.py), history_reads.py (a backtest's bulk reads),
send_batches.py (a batch of sends' reads and writes), broadcasts.py (broadcast runs, their cohorts and progress),
identities.py (anonymous profiles merged into known customers). `StoreSession` combines
them as mixins rather than holding one object per concern, so that a call site reads
`session.mark_delivery(...)` whatever the concern: the session is one transaction, and which table a method touches is the method's
business, not its caller's. The concerns share nothing but the connection; where one needs
another (a profile that gets a number which texted STOP), its class inherits that one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import NestedTransaction

from orchestrator.store.broadcasts import BroadcastQueries
from orchestrator.store.enrollments import EnrollmentQueries
from orchestrator.store.erasure import ErasureQueries
from orchestrator.store.events import EventQueries
from orchestrator.store.gate_facts import GateFactQueries
from orchestrator.store.history_reads import HistoryQueries
from orchestrator.store.identities import IdentityQueries
from orchestrator.store.journey_counts import JourneyCountQueries
from orchestrator.store.leases import LeaseQueries
from orchestrator.store.ledger import LedgerQueries
from orchestrator.store.outbox import OutboxQueries
from orchestrator.store.problems import ProblemQueries
from orchestrator.store.profiles_table import ProfileQueries
from orchestrator.store.provider_events import ProviderEventQueries
from orchestrator.store.send_batches import SendBatchQueries


class StoreSession(
    IdentityQueries,
    LeaseQueries,
    ProfileQueries,
    EventQueries,
    EnrollmentQueries,
    ProblemQueries,
    LedgerQueries,
    GateFactQueries,
    ProviderEventQueries,
    OutboxQueries,
    JourneyCountQueries,
    ErasureQueries,
    HistoryQueries,
    SendBatchQueries,
    BroadcastQueries,
):
    """The store's operations, all in the transaction of the `Store.session()` that made this object."""

    @contextmanager
    def savepoint(self) -> Iterator[NestedTransaction]:
        """A nested transaction: released when the block ends, unless rolled back inside it."""
        with self._conn.begin_nested() as nested:
            yield nested
