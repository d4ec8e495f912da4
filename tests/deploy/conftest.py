"""Deploy and broadcast fixtures: a real Temporal dev server (in memory) for the module, a store per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from orchestrator.binaries import temporal_cli
from orchestrator.runtime.workflow import SEARCH_ATTRIBUTES
from orchestrator.simulation import quiet_runtime
from orchestrator.store import Store


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def temporal() -> AsyncIterator[Client]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(), search_attributes=SEARCH_ATTRIBUTES, runtime=quiet_runtime()
    )
    try:
        yield env.client
    finally:
        await env.shutdown()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(f"sqlite:///{tmp_path / 'journey.db'}")
    opened.migrate()
    try:
        yield opened
    finally:
        opened.dispose()
