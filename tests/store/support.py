"""Constants and helpers shared by the store tests (fixtures are in conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Table, func, select

from orchestrator.store import Store

JOURNEYS = Path(__file__).parents[2] / "journeys"
AT = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)
"""A fixed instant with microseconds, so a round trip that drops them shows."""


def count_rows(store: Store, table: Table, **where: Any) -> int:
    """Rows of `table` (matching the column values in `where`), read outside any store session."""
    query = select(func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    with store.engine.connect() as connection:
        return int(connection.execute(query).scalar_one())
