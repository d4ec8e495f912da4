"""Fixtures of the end-to-end tests: real processes on free ports, always cleaned up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.host.devserver import DevServer
from tests.stack.processes import Processes, start_temporal


@pytest.fixture(scope="module")
def temporal_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    """One dev server for the module's tests that do not stop it (each test has its own task queue and store)."""
    server = start_temporal(tmp_path_factory.mktemp("temporal"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    """Start `journey worker` / `journey api` through this; whatever is still running at the end is killed."""
    started = Processes(tmp_path / "logs")
    try:
        yield started
    finally:
        started.close()
