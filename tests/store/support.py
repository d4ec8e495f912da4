"""Constants and helpers shared by the store tests (fixtures are in conftest.py)."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Table, func, select

from orchestrator.store import Delivery, Enrollment, Store
from orchestrator.store.schema import deliveries, enrollments
from orchestrator.store.values import DeliveryKey

JOURNEYS = Path(__file__).parents[2] / "journeys"
AT = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)
"""A fixed instant with microseconds, so a round trip that drops them shows."""

T = TypeVar("T")


def count_rows(store: Store, table: Table, **where: Any) -> int:
    """Rows of `table` (matching the column values in `where`), read outside any store session."""
    query = select(func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    with store.engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def enrollment_row(store: Store, enrollment_id: str) -> Enrollment | None:
    """The index row of `enrollment_id`, read outside any store session (the tests' reader; the product reads by customer)."""
    return _one_row(store, enrollments, enrollments.c.enrollment_id == enrollment_id, Enrollment)


def delivery_row(store: Store, key: DeliveryKey) -> Delivery | None:
    """The ledger row of `key`, read outside any store session (the tests' reader; the send path reads `delivery_outcome`)."""
    match = (deliveries.c.enrollment_id == key.enrollment_id) & (deliveries.c.step_id == key.step_id) & (deliveries.c.visit == key.visit)
    return _one_row(store, deliveries, match, Delivery)


def _one_row(store: Store, table: Table, where: ColumnElement[bool], value: type[T]) -> T | None:
    """The row of `table` that `where` selects, as `value`, a store dataclass whose fields are columns of `table`.

    Read with SQLAlchemy and the table's column types, so timestamps come back as the store gives them.
    """
    with store.engine.connect() as connection:
        row = connection.execute(select(table).where(where)).one_or_none()
    if row is None:
        return None
    return value(**{field.name: getattr(row, field.name) for field in fields(value)})
