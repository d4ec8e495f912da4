"""Delivery-control fixtures: a migrated store on SQLite and on PostgreSQL, and a time-skipping simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from orchestrator.simulation.simulator import Simulator
from orchestrator.store import Store


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated store: a SQLite file, or a fresh database on the session's PostgreSQL (skipped without one)."""
    url = f"sqlite:///{tmp_path / 'journey.db'}" if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))
    store = Store(url)
    store.migrate()
    try:
        yield store
    finally:
        store.dispose()


@pytest.fixture(scope="session")
async def simulator() -> AsyncIterator[Simulator]:
    async with Simulator.start() as simulator:
        yield simulator
