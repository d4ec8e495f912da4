"""API fixtures: one Temporal dev server for the session; per test a store, a worker and the app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from temporalio.client import Client

from tests.api.support import Stack, open_stack
from tests.runtime.support import dev_environment


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def temporal() -> AsyncIterator[Client]:
    """A real `temporal server start-dev` (in memory) with the enrollments' search attributes registered."""
    async with dev_environment() as env:
        yield env.client


@pytest_asyncio.fixture(loop_scope="session")
async def stack(tmp_path: Path, temporal: Client) -> AsyncIterator[Stack]:
    async with open_stack(tmp_path, temporal) as opened:
        yield opened
