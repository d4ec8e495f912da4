"""The store: profiles, events, deployed journeys, the enrollment index, the delivery ledger, the outbox.

SQLite by default (a file under `.journey/`), PostgreSQL when `DATABASE_URL` says so; one code
path through SQLAlchemy Core, one schema through Alembic migrations shipped in the package.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from orchestrator.store.profiles import dumps
from orchestrator.store.session import StoreSession
from orchestrator.store.values import (
    Delivery,
    Enrollment,
    EventRow,
    OutboxMessage,
    Profile,
    ProfileFieldError,
)

__all__ = [
    "Delivery",
    "Enrollment",
    "EventRow",
    "OutboxMessage",
    "Profile",
    "ProfileFieldError",
    "Store",
    "StoreSession",
]

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for the single write lock before failing: long enough for a burst."""


class Store:
    """A connection pool to one database. Thread-safe; make one per process and share it."""

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            self.engine = _sqlite_engine(url)
        elif self.dialect == "postgresql":
            if parsed.drivername == "postgresql":
                url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
            # json_serializer on both engines: dates as ISO text and no NaN, the same JSON on either database.
            self.engine = create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, json_serializer=dumps)
        else:
            raise ValueError(f"DATABASE_URL must be sqlite:///PATH or postgresql://..., not {parsed.drivername}://")

    @classmethod
    def from_env(cls, default_dir: Path | str = ".journey") -> Store:
        """`DATABASE_URL` if set, else SQLite at `<default_dir>/journey.db` (the folder is created)."""
        url = os.environ.get("DATABASE_URL")
        if not url:
            folder = Path(default_dir)
            folder.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{folder / 'journey.db'}"
        return cls(url)

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

    @contextmanager
    def session(self, lock_customer: str | None = None) -> Iterator[StoreSession]:
        """One transaction: committed when the block ends, rolled back (nothing written) if it raises.

        `lock_customer` serializes this transaction with every other one that locks the same
        customer, so one customer's events apply in order even across API processes.
        """
        with self.engine.begin() as connection:
            session = StoreSession(connection)
            if lock_customer is not None:
                session.lock_customer(lock_customer)
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # NullPool: SQLite connections are cheap, and a pooled one carried across threads or a fork is trouble.
    engine = create_engine(
        url,
        poolclass=NullPool,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        json_serializer=dumps,
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own transaction handling is off so that `begin` below is the only BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        # Take the write lock up front: a deferred transaction that reads then writes can fail
        # with SQLITE_BUSY mid-way instead of waiting, and IMMEDIATE makes sessions serial.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
