"""Migrations, the schema they build, where the store lives, and how it handles time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import CheckConstraint, inspect, select

from orchestrator import ir
from orchestrator.store import MIGRATIONS, OutboxMessage, Store, StoreSession
from orchestrator.store.schema import events, metadata
from orchestrator.store.values import DeliveryKey
from tests.store.support import AT, count_rows, delivery_row, enrollment_row


def _schema_snapshot(store: Store) -> dict[str, tuple[list[tuple[str, bool]], list[tuple[str, tuple[str, ...]]], list[str]]]:
    """Tables with their columns (name, nullable), indexes and check constraints, as the database reports them."""
    with store.engine.connect() as connection:
        inspector = inspect(connection)
        return {
            table: (
                [(column["name"], column["nullable"]) for column in inspector.get_columns(table)],
                sorted((index["name"], tuple(index["column_names"])) for index in inspector.get_indexes(table)),
                sorted(str(check["name"]) for check in inspector.get_check_constraints(table)),
            )
            for table in sorted(inspector.get_table_names())
        }


def test_migrate_creates_exactly_the_tables_and_columns_of_the_metadata(store: Store) -> None:
    snapshot = _schema_snapshot(store)
    assert set(snapshot) == {*metadata.tables, "alembic_version"}
    for name, table in metadata.tables.items():
        columns, indexes, checks = snapshot[name]
        assert columns == [(column.name, column.nullable) for column in table.columns], name
        assert indexes == sorted((str(index.name), tuple(c.name for c in index.columns)) for index in table.indexes), name
        assert checks == sorted(str(c.name) for c in table.constraints if isinstance(c, CheckConstraint)), name


def test_migration_and_metadata_do_not_drift(store: Store) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
        assert compare_metadata(context, metadata) == []


def test_migrate_again_changes_nothing_and_keeps_the_data(store: Store) -> None:
    with store.session() as session:
        session.identify("c1", {"plan": "pro"}, AT)
    before = _schema_snapshot(store)

    store.migrate()
    store.migrate()

    assert _schema_snapshot(store) == before
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    with store.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_heads() == (head,)
    with store.session() as session:
        profile = session.get_profile("c1")
    assert profile is not None and profile.traits == {"plan": "pro"}


def test_a_database_url_is_used_as_given(database_url: str, tmp_path: Path) -> None:
    unused = tmp_path / "unused"
    store = Store.at(database_url, unused)
    try:
        store.migrate()
        with store.session() as session:
            session.identify("c1", {}, AT)
    finally:
        store.dispose()
    assert store.url == database_url
    assert not unused.exists()
    reopened = Store(database_url)
    try:
        with reopened.session() as session:
            assert session.get_profile("c1") is not None
    finally:
        reopened.dispose()


def test_without_a_database_url_the_store_is_sqlite_in_the_given_folder(tmp_path: Path) -> None:
    folder = tmp_path / "state" / ".journey"
    store = Store.at(None, folder)
    try:
        store.migrate()
    finally:
        store.dispose()
    assert store.dialect == "sqlite"
    assert store.url == f"sqlite:///{folder / 'journey.db'}"
    assert (folder / "journey.db").is_file()


def test_unsupported_database_url_is_refused() -> None:
    with pytest.raises(ValueError, match=r"sqlite:///PATH or postgresql://"):
        Store("mysql://localhost/journeys")


def test_timestamps_come_back_timezone_aware_utc(store: Store) -> None:
    paris_winter = timezone(timedelta(hours=1))
    local = AT.astimezone(paris_winter)
    with store.session() as session:
        _, created = session.identify("c1", {}, local)
        session.record_event("m1", "c1", "viewed", {}, local, local)
        session.start_enrollment("e1", "j1", "v1", "c1", local)
        session.finish_enrollment("e1", "completed", None, local)
        session.claim_delivery(DeliveryKey("e1", "s1", 1), "email", local)
        session.add_outbox_message(OutboxMessage("c1", "e1", "j1", "v1", "s1", "email", "a@example.com", None, "hi", local))
    with store.session() as session:
        profile = session.get_profile("c1")
        delivery = session.claim_delivery(DeliveryKey("e1", "s1", 1), "email", AT + timedelta(hours=1))[0]
        (message,) = session.messages_for("c1")
    enrollment = enrollment_row(store, "e1")
    with store.engine.connect() as connection:
        event_times = connection.execute(select(events.c.timestamp, events.c.received_at)).one()
    assert profile is not None and enrollment is not None
    read = [
        created.created_at,
        profile.created_at,
        profile.updated_at,
        enrollment.entered_at,
        enrollment.ended_at,
        delivery.created_at,
        delivery.updated_at,
        message.sent_at,
        *event_times,
    ]
    for value in read:
        assert value is not None
        assert value == AT, "same instant, microseconds kept"
        assert value.tzinfo is UTC


NAIVE = datetime(2026, 3, 2, 9, 30)


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(lambda s: s.identify("c1", {}, NAIVE), id="identify"),
        pytest.param(lambda s: s.update_traits("c1", {"a": 1}, [], NAIVE), id="update_traits"),
        pytest.param(lambda s: s.record_event("m1", "c1", "viewed", {}, NAIVE, AT), id="record_event-timestamp"),
        pytest.param(lambda s: s.record_event("m1", "c1", "viewed", {}, AT, NAIVE), id="record_event-received_at"),
        pytest.param(lambda s: s.start_enrollment("e1", "j1", "v1", "c1", NAIVE), id="start_enrollment"),
        pytest.param(lambda s: s.claim_delivery(DeliveryKey("e1", "s1", 1), "email", NAIVE), id="claim_delivery"),
        pytest.param(
            lambda s: s.add_outbox_message(OutboxMessage("c1", "e1", "j1", "v1", "s1", "email", "a@example.com", None, "hi", NAIVE)),
            id="add_outbox_message",
        ),
    ],
)
def test_naive_datetimes_are_refused_with_a_value_error(store: Store, write: Callable[[StoreSession], object]) -> None:
    with store.session() as session, pytest.raises(ValueError, match="must be timezone-aware"):
        write(session)
    assert all(count_rows(store, table) == 0 for table in metadata.tables.values())


def test_naive_datetimes_are_refused_when_finishing_and_marking(store: Store) -> None:
    with store.session() as session:
        session.start_enrollment("e1", "j1", "v1", "c1", AT)
        session.claim_delivery(DeliveryKey("e1", "s1", 1), "email", AT)
    with store.session() as session:
        with pytest.raises(ValueError, match="at must be timezone-aware"):
            session.finish_enrollment("e1", "completed", None, NAIVE)
        with pytest.raises(ValueError, match="at must be timezone-aware"):
            session.mark_delivery(DeliveryKey("e1", "s1", 1), "sent", NAIVE)
        assert session.claim_delivery(DeliveryKey("e1", "s1", 1), "email", AT)[0].status == "intent"
    enrollment = enrollment_row(store, "e1")
    assert enrollment is not None and enrollment.status == "running"


def test_deploy_refuses_a_naive_datetime(store: Store, cart_v1: ir.Journey) -> None:
    with store.session() as session, pytest.raises(ValueError, match="at must be timezone-aware"):
        session.deploy(cart_v1, NAIVE)
    with store.session() as session:
        assert session.active_journeys() == []


@pytest.mark.parametrize(
    "instant",
    [AT, AT.replace(microsecond=0), datetime(2026, 7, 1, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-7)))],
    ids=["microseconds", "whole-second", "other-offset"],
)
def test_sqlite_keeps_timestamps_as_sqlalchemys_datetime_text(tmp_path: Path, instant: datetime) -> None:
    # UTCDateTime writes SQLite's text itself (a faster path): rows written before it, and any range
    # query comparing text, rely on it being exactly what SQLAlchemy's DATETIME writes, and reading it back.
    from sqlalchemy import DateTime
    from sqlalchemy.dialects import sqlite

    store = Store(f"sqlite:///{tmp_path / 'journey.db'}")
    store.migrate()
    with store.session() as session:
        session.claim_delivery(DeliveryKey("e1", "s1", 1), "email", instant)
    with store.engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT created_at FROM deliveries").scalar_one()
    dialect = sqlite.dialect()
    expected = DateTime().dialect_impl(dialect).bind_processor(dialect)(instant.astimezone(UTC).replace(tzinfo=None))
    assert stored == expected
    delivery = delivery_row(store, DeliveryKey("e1", "s1", 1))
    assert delivery is not None and delivery.created_at == instant and delivery.created_at.tzinfo == UTC
    store.dispose()
