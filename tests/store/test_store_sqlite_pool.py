"""The SQLite engine: pooled connections, read-only sessions, writers taking turns, and forks."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import orchestrator.store.sqlite as sqlite_module
from orchestrator.store import Store
from orchestrator.store.values import DeliveryKey
from tests.store.support import AT, delivery_row


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'journey.db'}")
    store.migrate()
    try:
        yield store
    finally:
        store.dispose()


def _driver_connection(store: Store) -> object:
    with store.session() as session:
        return session._conn.connection.dbapi_connection


def test_sessions_reuse_a_pooled_connection(sqlite_store: Store) -> None:
    assert _driver_connection(sqlite_store) is _driver_connection(sqlite_store)


def test_a_read_session_does_not_wait_for_a_writer_and_sees_the_last_commit(sqlite_store: Store) -> None:
    with sqlite_store.session() as session:
        session.identify("c1", {"plan": "pro"}, AT)
    with sqlite_store.session() as writer:
        writer.identify("c1", {"plan": "team"}, AT)
        # Same thread, writer still open: a session that waited for the write lock would never get
        # it and fail with "database is locked"; a read neither waits nor sees the uncommitted write.
        with sqlite_store.read() as reader:
            profile = reader.get_profile("c1")
    assert profile is not None and profile.traits["plan"] == "pro"


def test_writers_in_one_process_take_turns(sqlite_store: Store) -> None:
    order: list[str] = []
    first_in = threading.Event()

    def second() -> None:
        first_in.wait()
        with sqlite_store.session() as session:
            order.append("second")
            session.identify("c1", {"plan": "team"}, AT)

    thread = threading.Thread(target=second)
    thread.start()
    with sqlite_store.session() as session:
        first_in.set()
        time.sleep(0.2)
        order.append("first")
        session.identify("c1", {"plan": "pro"}, AT)
    thread.join(5)
    assert order == ["first", "second"]
    with sqlite_store.read() as session:
        profile = session.get_profile("c1")
    assert profile is not None and profile.traits["plan"] == "team"


def test_a_session_that_raises_ends_its_turn(sqlite_store: Store) -> None:
    with pytest.raises(RuntimeError), sqlite_store.session() as session:
        session.identify("c1", {"plan": "pro"}, AT)
        raise RuntimeError("boom")
    finished = threading.Event()

    def write() -> None:
        with sqlite_store.session() as session:
            session.identify("c1", {"plan": "team"}, AT)
        finished.set()

    threading.Thread(target=write).start()
    assert finished.wait(5)


def test_a_session_of_driver_statements_that_raises_writes_nothing_and_ends_its_turn(sqlite_store: Store) -> None:
    # claim_delivery runs on the driver's cursor only: SQLAlchemy never learns of this transaction.
    with pytest.raises(RuntimeError), sqlite_store.session() as session:
        session.claim_delivery(DeliveryKey("e1", "s1", 1), "email", AT)
        raise RuntimeError("boom")
    assert delivery_row(sqlite_store, DeliveryKey("e1", "s1", 1)) is None
    finished = threading.Event()

    def write() -> None:
        with sqlite_store.session() as session:
            session.claim_delivery(DeliveryKey("e1", "s1", 1), "email", AT)
        finished.set()

    threading.Thread(target=write).start()
    assert finished.wait(5)


def test_a_session_mixing_driver_and_sqlalchemy_statements_commits_both_once(sqlite_store: Store) -> None:
    connection = _driver_connection(sqlite_store)
    with sqlite_store.session() as session:
        session.claim_delivery(DeliveryKey("e1", "s1", 1), "email", AT)  # the driver's cursor
        session.identify("c1", {"plan": "pro"}, AT)  # Connection.execute: SQLAlchemy takes over the open transaction
        session.claim_delivery(DeliveryKey("e1", "s2", 1), "email", AT)
    assert not connection.in_transaction  # type: ignore[attr-defined]
    assert delivery_row(sqlite_store, DeliveryKey("e1", "s1", 1)) is not None
    assert delivery_row(sqlite_store, DeliveryKey("e1", "s2", 1)) is not None
    with sqlite_store.read() as session:
        profile = session.get_profile("c1")
        assert profile is not None and profile.traits == {"plan": "pro"}
    assert _driver_connection(sqlite_store) is connection  # kept for the next session, not discarded


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_opens_its_own_connections(sqlite_store: Store) -> None:
    with sqlite_store.session() as session:
        session.identify("c1", {"plan": "pro"}, AT)
    pid = os.fork()
    if pid == 0:  # the child: write through the inherited store, then leave without cleanup
        code = 1
        try:
            with sqlite_store.session() as session:
                session.identify("c2", {"plan": "team"}, AT)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    with sqlite_store.session() as session:  # the parent's pooled connection still works
        assert session.get_profile("c2") is not None
        session.identify("c1", {"plan": "team"}, AT)


def _write_lock_free(store: Store) -> bool:
    """Whether another connection could take SQLite's write lock right now."""
    other = sqlite3.connect(store.engine.url.database or "", timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()


def test_kept_connections_stay_readers_or_writers(sqlite_store: Store) -> None:
    # Connections are kept between sessions: a reader's must never serve a writer, nor a writer's a reader.
    for _ in range(3):
        with sqlite_store.read():
            assert _write_lock_free(sqlite_store)
        with sqlite_store.session():
            assert not _write_lock_free(sqlite_store)
    assert _write_lock_free(sqlite_store)


def test_the_process_checkpoints_the_wal_itself(sqlite_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    # SQLite's automatic checkpoint would wait for 1,000 WAL pages, inside some writer's commit; the
    # store checkpoints every SQLITE_CHECKPOINT_EVERY commits, after the writer's turn has passed on.
    monkeypatch.setattr(sqlite_module, "SQLITE_CHECKPOINT_EVERY", 10)
    for number in range(10):
        with sqlite_store.session() as session:
            session.identify(f"c{number}", {"plan": "pro"}, AT)
    database_file_alone = sqlite3.connect(f"file:{sqlite_store.engine.url.database}?immutable=1", uri=True)
    try:
        (copied,) = database_file_alone.execute("SELECT count(*) FROM profiles").fetchone()
    finally:
        database_file_alone.close()
    assert 1 <= copied <= 10
