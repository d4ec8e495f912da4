"""The SQLite engine, tuned for many threads of one process sharing one file.

What `Store` does differently on SQLite, and why, kept apart from the store's API:
- the engine (`sqlite_engine`): pooled driver connections, WAL, and the PRAGMAs every
  connection starts with (secure_delete among them: deleted rows are overwritten),
  and `truncate_wal`, which leaves no older page version in the WAL; a connection a forked child
  inherited is never used nor closed;
- `KeptConnections`: SQLAlchemy connections kept between sessions, one set for writers and
  one for readers, since making one per session costs more than a short transaction;
- `SQLiteTransaction`: a session's BEGIN and COMMIT sent to the driver's connection directly;
- `_SQLiteConnection` and `_WriterTurns`: the process's writers queue on a lock of their own
  before BEGIN IMMEDIATE, and the process checkpoints the WAL outside their turn.

PostgreSQL needs none of this: its sessions use SQLAlchemy's pool and transactions as they are.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool

from orchestrator.store.profiles import dumps

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for the single write lock before failing: long enough for a burst."""
SQLITE_CHECKPOINT_EVERY = 100
"""Write commits between this process's own WAL checkpoints: a send's commits write a few pages each, so the
WAL is copied back before it reaches the mark where SQLite's own checkpoint would run inside a commit
(see `_SQLiteConnection._checkpoint`)."""
SQLITE_POOL_SIZE = 16
"""SQLite connections kept open for reuse: the worker's activity threads plus the API's, roughly."""
READ_ONLY_OPTION = "journey_read_only"
"""Execution option marking a `Store.read` connection (SQLite begins it DEFERRED, not IMMEDIATE)."""
_forked_connections: list[Any] = []
"""SQLite connections a forked child inherited: never used, never closed (see `sqlite_engine`)."""
_process = os.getpid()
"""This process's id, renewed in a forked child: `os.getpid()` is a system call, and sessions ask twice each."""


def _renew_process_id() -> None:
    global _process
    _process = os.getpid()


os.register_at_fork(after_in_child=_renew_process_id)


class KeptConnections:
    """Up to `limit` idle SQLAlchemy connections, each holding one pooled driver connection; thread-safe.

    A connection is kept only between transactions and only while usable (not closed, not
    invalidated). After a fork the child never uses or closes what the parent kept (see
    `sqlite_engine`): it starts with none.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._idle: list[Connection] = []
        self._lock = threading.Lock()
        self._pid = _process

    def take(self) -> Connection | None:
        with self._lock:
            if self._pid != _process:
                _forked_connections.extend(self._idle)
                self._idle, self._pid = [], _process
            return self._idle.pop() if self._idle else None

    def give_back(self, connection: Connection) -> bool:
        """Keep `connection` for the next session; False if it cannot be kept (the caller closes it)."""
        if connection.closed or connection.invalidated or connection.in_transaction():
            return False
        with self._lock:
            if self._pid != _process or len(self._idle) >= self.limit:
                return False
            self._idle.append(connection)
            return True

    def close_all(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


def sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # Pooled connections: opening one costs a connect, four PRAGMAs and, on close, a WAL checkpoint
    # when it was the last one open, far more than a session's own work; a pooled
    # session costs only its BEGIN and COMMIT. LIFO keeps a few warm connections in use; connections
    # over `pool_size` (a burst of threads) are opened and closed as before. A connection made
    # before a fork is never used or closed by the child (see `_checkout`).
    engine = create_engine(
        url,
        poolclass=QueuePool,
        pool_size=SQLITE_POOL_SIZE,
        max_overflow=-1,
        pool_use_lifo=True,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "factory": _SQLiteConnection},
        json_serializer=dumps,
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, record: Any) -> None:
        record.info["pid"] = os.getpid()
        dbapi_connection._turns = _writer_turns_for(database)
        # The driver's own transaction handling is off so that `begin` below is the only BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # A deleted row's bytes are overwritten, not left in free pages: an erased customer's e-mail must not be
        # readable in the file afterwards (docs/privacy.md, "Erasure"; bench/RESULTS.md measures the cost).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        # A connection inherited through fork() belongs to the parent: SQLite forbids using it in the
        # child, and closing it here could disturb the parent's locks. Keep it referenced (so garbage
        # collection never closes it) and let the pool open a fresh one.
        if record.info.get("pid") != os.getpid():
            _forked_connections.append(dbapi_connection)
            record.dbapi_connection = proxy.dbapi_connection = None
            raise exc.DisconnectionError("SQLite connection made in another process")

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # Writers take the write lock up front: a deferred transaction that reads then writes can fail
        # with SQLITE_BUSY mid-way instead of waiting, and IMMEDIATE makes sessions serial. `Store.read`
        # sessions begin DEFERRED: a WAL reader sees a snapshot and neither waits for nor blocks writers.
        # Straight to the driver: SQLAlchemy's statement machinery would double the cost of a short session.
        dbapi_connection = connection.connection.dbapi_connection
        if dbapi_connection.in_transaction:
            return  # a `SQLiteTransaction` began it; SQLAlchemy is only starting to track it (autobegin)
        if connection.get_execution_options().get(READ_ONLY_OPTION):
            _begin_sqlite(dbapi_connection, "BEGIN")
            return
        _begin_writer(dbapi_connection)

    return engine


class SQLiteTransaction:
    """A store session's transaction on SQLite, begun and ended on the driver's connection.

    SQLAlchemy's transaction objects (`Connection.begin()`, its events, its commit chain) cost more
    Python than the SQLite work of a short session, a visible share of a send's own work
    (bench/send_path.py). The send path's statements run on the driver's cursor (`Prepared`), so
    SQLAlchemy need not know about the transaction; when a session does run a statement through
    `Connection.execute`, SQLAlchemy begins tracking it (the `begin` listener then sends nothing),
    and the transaction ends through SQLAlchemy so that its state stays right.
    """

    __slots__ = ("_connection", "_dbapi", "_read_only")

    def __init__(self, connection: Connection, read_only: bool) -> None:
        self._connection = connection
        self._read_only = read_only
        self._dbapi: Any = None

    def __enter__(self) -> None:
        dbapi = self._connection.connection.dbapi_connection
        if self._read_only:
            _begin_sqlite(dbapi, "BEGIN")
        else:
            _begin_writer(dbapi)
        self._dbapi = dbapi

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, traceback: Any) -> None:
        connection, dbapi = self._connection, self._dbapi
        if connection.in_transaction():
            if kind is None:
                connection.commit()
            else:
                connection.rollback()
            return
        ending = "COMMIT" if kind is None else "ROLLBACK"
        try:
            dbapi.commit() if kind is None else dbapi.rollback()
        except sqlite3.Error as failure:
            if kind is None:
                dbapi.rollback()  # a failed COMMIT leaves the transaction open (SQLITE_BUSY); end it and the writer's turn
            raise exc.DBAPIError.instance(ending, None, failure, sqlite3.Error) from failure


def _begin_writer(dbapi_connection: Any) -> None:
    """BEGIN IMMEDIATE, after this process's other writers (see `_SQLiteConnection`)."""
    if isinstance(dbapi_connection, _SQLiteConnection):
        dbapi_connection.take_writer_turn()
    try:
        _begin_sqlite(dbapi_connection, "BEGIN IMMEDIATE")
    except BaseException:
        if isinstance(dbapi_connection, _SQLiteConnection):
            dbapi_connection.end_writer_turn()
        raise


def _begin_sqlite(dbapi_connection: Any, statement: str) -> None:
    """Run BEGIN on the sqlite3 connection; its errors raised as SQLAlchemy's (the API answers 503 to OperationalError)."""
    try:
        dbapi_connection.execute(statement)
    except sqlite3.Error as error:
        raise exc.DBAPIError.instance(statement, None, error, sqlite3.Error) from error


class _SQLiteConnection(sqlite3.Connection):
    """A sqlite3 connection whose writers queue on a lock of this process before BEGIN IMMEDIATE.

    SQLite's own busy handler does not queue: a writer that finds the write lock taken sleeps
    1, 2, 5, 10... ms and tries again, so under load the lock sits free while the waiters sleep
    (threads mixing short write transactions with other work commit more per second with
    turns; under pure write contention it is the same). The threads of one process take
    turns on a `threading.Lock` per database file instead, so BEGIN IMMEDIATE finds the lock
    free unless another process holds it (then SQLite's busy handler waits as before). The turn
    ends when the transaction does (commit, rollback or close; SQLAlchemy's pool rolls back a
    connection it gets back in a transaction).
    """

    _turns: _WriterTurns | None = None
    _holds_turn = False

    def take_writer_turn(self) -> None:
        if self._turns is None:
            return
        if not self._turns.lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            cause = sqlite3.OperationalError("database is locked (waited for this process's other writers)")
            raise exc.OperationalError("BEGIN IMMEDIATE", None, cause)
        self._holds_turn = True

    def end_writer_turn(self) -> None:
        if self._holds_turn:
            self._holds_turn = False
            assert self._turns is not None
            self._turns.lock.release()

    def commit(self) -> None:
        checkpoint = False
        try:
            super().commit()
            checkpoint = self._holds_turn and self._turns is not None and self._turns.checkpoint_due()
        finally:
            self.end_writer_turn()
        if checkpoint:
            self._checkpoint()

    def _checkpoint(self) -> None:
        """Copy the WAL back into the database, outside the writers' turn.

        SQLite's own automatic checkpoint (at 1,000 WAL pages) runs inside the commit that
        crosses the mark, while this process's other writers wait for the turn: a long stall, with
        its fsync, in which no session of the process can write. Run here, after the turn is
        handed on, it costs only this thread. PASSIVE never waits for readers or writers; the
        automatic checkpoint stays on as the backstop when this one cannot finish.
        """
        try:
            self.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:
            pass

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.end_writer_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.end_writer_turn()


def truncate_wal(engine: Engine) -> None:
    """Copy the WAL back into the database and truncate it to nothing, on a connection of its own.

    Not on a pooled connection: SQLite refuses a TRUNCATE checkpoint ("database table is locked") on one
    that has statements of its own still open. It waits (busy timeout) for readers of older snapshots.
    """
    database = engine.url.database
    if not database or database == ":memory:":
        return
    connection = sqlite3.connect(database, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    finally:
        connection.close()


class _WriterTurns:
    """The writers of one database file in this process: the lock they take turns on, and their commits."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._commits = 0

    def checkpoint_due(self) -> bool:
        """Count a commit (the caller holds the turn); True every `SQLITE_CHECKPOINT_EVERY` commits."""
        self._commits += 1
        if self._commits < SQLITE_CHECKPOINT_EVERY:
            return False
        self._commits = 0
        return True


_writer_turns: dict[str, _WriterTurns] = {}
_writer_turns_guard = threading.Lock()


def _forget_writer_turns() -> None:
    """In a forked child: the parent's locks may be held by threads that do not exist here."""
    global _writer_turns_guard
    _writer_turns.clear()
    _writer_turns_guard = threading.Lock()


os.register_at_fork(after_in_child=_forget_writer_turns)


def _writer_turns_for(database: str | None) -> _WriterTurns | None:
    """The turns the writers of `database` take in this process (None for an in-memory database)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    key = os.path.realpath(database)
    with _writer_turns_guard:
        return _writer_turns.setdefault(key, _WriterTurns())
