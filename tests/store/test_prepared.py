"""Prepared statements (the send path's): the same rows, conversions and errors as `Connection.execute`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, exc, insert, select, update

from orchestrator.store import Store
from orchestrator.store.prepared import Prepared
from orchestrator.store.schema import outbox_messages, profiles
from tests.store.support import AT

BY_CUSTOMER = profiles.c.customer_id == bindparam("who")


def test_rows_come_back_as_connection_execute_returns_them(store: Store) -> None:
    with store.session() as session:
        session.identify("c1", {"email": "ann@example.com", "timezone": "Europe/Paris", "plan": {"tier": "gold"}}, AT)
    statement = select(profiles).where(BY_CUSTOMER)
    with store.read() as session:
        connection = session._conn
        expected = connection.execute(statement, {"who": "c1"}).one()
        row = Prepared(statement).first(connection, {"who": "c1"})
    assert row is not None
    assert tuple(row) == tuple(expected)
    assert row.updated_at == AT and row.updated_at.tzinfo is not None  # UTC attached, as the column type does
    assert row.traits == {"plan": {"tier": "gold"}}  # JSON decoded
    assert row.email == "ann@example.com"


def test_insert_and_update_take_their_columns_from_the_parameters(store: Store) -> None:
    add = Prepared(insert(outbox_messages))
    change = Prepared(update(outbox_messages).where(outbox_messages.c.customer_id == bindparam("who")))
    message = {
        "customer_id": "c1",
        "enrollment_id": "e1",
        "journey_id": "cart",
        "version": "v1",
        "step_id": "reminder",
        "channel": "email",
        "to_address": "ann@example.com",
        "subject": "Hi",
        "body": "Hello",
        "sent_at": AT,
    }
    later = datetime(2026, 3, 3, 8, 30, tzinfo=UTC)
    with store.session() as session:
        assert add.run(session._conn, message) == 1
        assert change.run(session._conn, {"who": "c1", "subject": "Hello again", "sent_at": later}) == 1
        assert change.run(session._conn, {"who": "nobody", "subject": "x"}) == 0
    with store.read() as session:
        messages = session.messages_for("c1")
    assert [(m.subject, m.body, m.sent_at) for m in messages] == [("Hello again", "Hello", later)]


def test_a_constraint_violation_is_sqlalchemys_error_and_the_transaction_writes_nothing(store: Store) -> None:
    add = Prepared(insert(outbox_messages))
    with pytest.raises(exc.IntegrityError), store.session() as session:
        session.identify("c1", {"email": "ann@example.com"}, AT)
        add.run(session._conn, {"customer_id": "c1", "enrollment_id": "e1", "body": None})
    with store.read() as session:
        assert session.get_profile("c1") is None


def test_a_missing_parameter_is_named() -> None:
    statement = Prepared(select(profiles).where(BY_CUSTOMER))
    store = Store("sqlite://")
    with store.read() as session, pytest.raises(KeyError, match="who"):
        statement.first(session._conn, {})


def test_in_lists_are_refused_rather_than_compiled_wrong(store: Store) -> None:
    statement = Prepared(select(profiles).where(profiles.c.customer_id.in_(bindparam("ids", expanding=True))))
    with store.read() as session, pytest.raises(NotImplementedError, match="IN"):
        statement.rows(session._conn, {"ids": ["c1", "c2"]})


def test_asking_rows_of_a_statement_that_returns_none_runs_nothing(store: Store) -> None:
    add = Prepared(insert(outbox_messages))
    with store.session() as session, pytest.raises(TypeError, match="returns no rows"):
        add.rows(session._conn, {"customer_id": "c1", "enrollment_id": "e1"})
    with store.read() as session:
        assert session.messages_for("c1") == []
