"""API fixtures: one Temporal dev server for the session; per test a store, a worker and the app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from orchestrator.binaries import temporal_cli
from orchestrator.runtime.workflow import SEARCH_ATTRIBUTES
from orchestrator.simulation import quiet_runtime
from tests.api.support import Stack, open_stack


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def temporal() -> AsyncIterator[Client]:
    """A real `temporal server start-dev` (in memory) with the enrollments' search attributes registered."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(), search_attributes=SEARCH_ATTRIBUTES, runtime=quiet_runtime()
    )
    try:
        yield env.client
    finally:
        await env.shutdown()


@pytest_asyncio.fixture(loop_scope="session")
async def stack(tmp_path: Path, temporal: Client) -> AsyncIterator[Stack]:
    async with open_stack(tmp_path, temporal) as opened:
        yield opened
