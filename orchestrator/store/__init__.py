"""The store: profiles, events, deployed journeys, the enrollment index, the delivery ledger, the outbox.

SQLite by default (a file under `.journey/`), PostgreSQL when `DATABASE_URL` says so; one code
path through SQLAlchemy Core, one schema through Alembic migrations shipped in the package.

This module is the API: `Store`, a pool that opens sessions (`session()` writes, `read()` reads).
The rest, by concern:
- session.py: `StoreSession`, the operations of one transaction, combined from one module per
  concern: leases.py (customer locks, routers' leases), profiles_table.py (profiles) with
  number_opt_outs.py, consent.py (the consent records) and profile_history.py (the profile as it was
  at an instant; profile_timeline.py its pure rules), events.py, journeys.py (deployed versions), enrollments.py (the index),
  problems.py (what went wrong at an enrollment's steps), ledger.py (the delivery ledger),
  gate_facts.py (what the delivery gate reads), provider_events.py (the webhook log) and
  outbox.py; queries.py holds what they share;
- values.py: the frozen values they take and give; profiles.py: the pure rules of a profile change;
- schema.py: the tables; migrations/: the schema's history; prepared.py: the send path's statements,
  compiled once and run on the driver's cursor;
- sqlite.py: the SQLite engine's tuning (pooled and kept connections, writers' turns, checkpoints).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, create_engine
from sqlalchemy.engine import make_url

from orchestrator import ir
from orchestrator.analytics.counts import JourneyCounts
from orchestrator.privacy.keyed_hash import HashSecret
from orchestrator.store.fold import FOLD_BATCH
from orchestrator.store.hashes import DEVELOPMENT_SECRET
from orchestrator.store.profiles import ProfileFieldErrors, dumps
from orchestrator.store.session import StoreSession
from orchestrator.store.sqlite import READ_ONLY_OPTION, SQLITE_POOL_SIZE, KeptConnections, SQLiteTransaction, sqlite_engine, truncate_wal
from orchestrator.store.values import (
    Delivery,
    Enrollment,
    EnrollmentProblem,
    EventRow,
    JourneyFact,
    OutboxMessage,
    Profile,
    ProfileFieldError,
)

__all__ = [
    "Delivery",
    "Enrollment",
    "EnrollmentProblem",
    "EventRow",
    "JourneyFact",
    "OutboxMessage",
    "PoolSize",
    "Profile",
    "ProfileFieldError",
    "ProfileFieldErrors",
    "Store",
    "StoreSession",
]

MIGRATIONS = Path(__file__).parent / "migrations"
LEASE_WAIT_FOR_SESSIONS = timedelta(seconds=75)
"""How long a `lock_customer` session waits for a router's lease: past its expiry (60 s), so it always ends."""


@dataclass(frozen=True)
class PoolSize:
    """PostgreSQL connections a process keeps open (`kept`) and opens besides when busy (`overflow`); SQLite ignores it."""

    kept: int = 10
    overflow: int = 20

    @property
    def most(self) -> int:
        return self.kept + self.overflow


class Store:
    """A connection pool to one database. Thread-safe; make one per process and share it."""

    def __init__(self, url: str, hash_secret: HashSecret | None = None, pool: PoolSize | None = None) -> None:
        """`hash_secret` keys the hashes kept instead of erased customers' data (JOURNEY_HASH_SECRET); default: a public
        development secret (orchestrator/store/hashes.py). `pool`: DATABASE_POOL_SIZE and DATABASE_POOL_OVERFLOW."""
        self.url = url
        self.hash_secret = hash_secret or DEVELOPMENT_SECRET
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        self._kept: dict[bool, KeptConnections] | None = None
        if self.dialect == "sqlite":
            self.engine = sqlite_engine(url)
            self._kept = {False: KeptConnections(SQLITE_POOL_SIZE), True: KeptConnections(SQLITE_POOL_SIZE)}
        elif self.dialect == "postgresql":
            if parsed.drivername == "postgresql":
                url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
            # json_serializer on both engines: dates as ISO text and no NaN, the same JSON on either database.
            pool = pool or PoolSize()
            self.engine = create_engine(url, pool_size=pool.kept, max_overflow=pool.overflow, pool_pre_ping=True, json_serializer=dumps)
        else:
            raise ValueError(f"DATABASE_URL must be sqlite:///PATH or postgresql://..., not {parsed.drivername}://")

    @classmethod
    def at(
        cls, url: str | None, default_dir: Path | str = ".journey", hash_secret: HashSecret | None = None, pool: PoolSize | None = None
    ) -> Store:
        """The database at `url` (DATABASE_URL) if given, else SQLite at `<default_dir>/journey.db` (the folder is created)."""
        if not url:
            folder = Path(default_dir)
            folder.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{folder / 'journey.db'}"
        return cls(url, hash_secret, pool)

    def migrate(self) -> None:
        """Bring the schema up to the newest migration; safe to run on every start, from many processes."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as connection:
            if self.dialect == "postgresql":
                # Two processes starting at once must not both create the tables.
                connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7462093118)")
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def fold_journey_facts(self, per_transaction: int = FOLD_BATCH) -> int:
        """Fold the journey facts recorded since the last fold into the counts; how many.

        In transactions of about `per_transaction` facts, so that a long backlog holds the writer lock
        (SQLite) or the fold's position (PostgreSQL) one round at a time and ingestion goes on between.
        """
        folded = 0
        while True:
            with self.session() as session:
                done = session.fold_facts(limit=per_transaction)
            folded += done
            if done < per_transaction:
                return folded

    def journey_counts(
        self, journeys: Sequence[ir.Journey], *, first_day: date | None, last_day: date | None, now: datetime
    ) -> JourneyCounts:
        """A report's counts (`StoreSession.journey_counts`), current: what was recorded until now is folded first,
        then the counts are read in a read-only transaction, which takes no lock."""
        self.fold_journey_facts()
        with self.read() as session:
            return session.journey_counts(journeys, first_day=first_day, last_day=last_day, now=now)

    @contextmanager
    def session(
        self, lock_customer: str | None = None, *, lock_customers: Sequence[str] = (), waiting: Callable[[], None] | None = None
    ) -> Iterator[StoreSession]:
        """One transaction: committed when the block ends, rolled back (nothing written) if it raises.

        `lock_customer` serializes this transaction with every other one that locks the same
        customer, so one customer's events apply in order even across API processes. It also
        waits while a router holds the customer's lease (orchestrator/routing/lease.py), between
        planning a call and committing it: what such a session writes (an enrollment's end, a
        trait, a delivery) then never falls between the two. `lock_customers` does the same for
        many customers at once (a batch of sends), waiting while a router holds any of their leases.
        `waiting` is called at each turn of that wait (an activity's heartbeat: the wait is alive).
        """
        deadline = time.monotonic() + LEASE_WAIT_FOR_SESSIONS.total_seconds()
        pause = 0.005
        with self._connection(read_only=False) as connection:
            while True:
                with self._transaction(connection, read_only=False):
                    session = StoreSession(connection, self.hash_secret)
                    if lock_customer is None and not lock_customers:
                        yield session
                        return
                    if lock_customer is not None:
                        leased_until = session.lock_customer(lock_customer)
                    else:
                        leased_until = session.lock_customers(lock_customers)
                    if leased_until is None or leased_until <= datetime.now(UTC) or time.monotonic() >= deadline:
                        yield session
                        return
                if waiting is not None:
                    waiting()
                time.sleep(pause)
                pause = min(pause * 2, 0.1)

    @contextmanager
    def read(self) -> Iterator[StoreSession]:
        """A transaction for reading only: one consistent snapshot, without taking any lock.

        On SQLite it begins DEFERRED instead of IMMEDIATE, so it neither waits for the write
        lock nor holds it (WAL readers never block). Writing in it is a bug: on SQLite the write
        may fail with "database is locked" instead of waiting its turn.
        """
        with self._connection(read_only=True) as connection, self._transaction(connection, read_only=True):
            yield StoreSession(connection, self.hash_secret)

    def _transaction(self, connection: Connection, read_only: bool) -> AbstractContextManager[Any]:
        """The transaction of one session: SQLAlchemy's on PostgreSQL, `SQLiteTransaction` on SQLite."""
        if self._kept is None:
            return connection.begin()
        return SQLiteTransaction(connection, read_only)

    @contextmanager
    def _connection(self, read_only: bool) -> Iterator[Connection]:
        """A connection outside any transaction: on SQLite one kept from an earlier session if there is one.

        Making a SQLAlchemy `Connection` and handing its driver connection back to the pool costs
        more in events and bookkeeping than an empty transaction, on every session, and every send
        runs more than one. On PostgreSQL every session checks out from
        the pool as usual, which pings the server first (`pool_pre_ping`): a kept connection would
        skip that check after a database restart, where SQLite has no server to lose.
        """
        kept = self._kept[read_only] if self._kept is not None else None
        connection = kept.take() if kept is not None else None
        if connection is None:
            connection = self.engine.connect()
            if read_only:
                connection.execution_options(**{READ_ONLY_OPTION: True})
        try:
            yield connection
        finally:
            if kept is None or not kept.give_back(connection):
                connection.close()

    def forget_deleted_pages(self) -> None:
        """SQLite: copy the write-ahead log back into the database and truncate it, so that no page version from before
        a deletion stays in the files (deleted rows themselves are overwritten: `secure_delete`, sqlite.py).
        PostgreSQL keeps deleted row versions until VACUUM: an operator's job (docs/privacy.md, "Erasure")."""
        if self._kept is None:
            return
        truncate_wal(self.engine)

    def dispose(self) -> None:
        if self._kept is not None:
            for kept in self._kept.values():
                kept.close_all()
        self.engine.dispose()
