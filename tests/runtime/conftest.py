"""Workflow tests on Temporal's time-skipping test server: one server for the whole session.

`simulator` runs a journey for one customer exactly as `journey simulate` does (scripted
events in, a timeline out); `env` is its server, for tests that drive enrollments
themselves through `tests.runtime.support.harness`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from orchestrator.simulation.simulator import Simulator
from orchestrator.store import Store


@pytest.fixture(scope="session")
async def simulator() -> AsyncIterator[Simulator]:
    async with Simulator.start() as simulator:
        yield simulator


@pytest.fixture(scope="session")
def env(simulator: Simulator) -> WorkflowEnvironment:
    return simulator.env


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    store.migrate()
    yield store
    store.dispose()
