"""Deploy and broadcast fixtures: a real Temporal dev server (in memory) for the module, a store per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.client import Client

from orchestrator.store import Store
from tests.runtime.support import dev_environment


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def temporal() -> AsyncIterator[Client]:
    async with dev_environment() as env:
        yield env.client


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(f"sqlite:///{tmp_path / 'journey.db'}")
    opened.migrate()
    try:
        yield opened
    finally:
        opened.dispose()
