"""Fixtures shared by every test folder."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator

import pytest

from tests.postgres import BINARY_GLOB, PostgresServer, find_binaries, start_server


@pytest.fixture(scope="module", autouse=True)
def earlier_modules_left_out_of_garbage_collection() -> Iterator[None]:
    """What the test modules before this one left alive is kept out of the garbage collector's full passes while it runs.

    By the simulation tests the suite's process holds about two million objects, and a full pass over them stopped every
    thread for about two seconds (measured with gc.callbacks in a CI run). The time-skipping server's clock runs on in
    real time while an activity holds its lock, so a simulated run caught by such a pause had its later steps late by
    whole seconds, and a test comparing two runs failed. Frozen objects are still freed when their last reference goes;
    unfrozen again after the module, so the session's own teardown collects everything.
    """
    gc.freeze()
    yield
    gc.unfreeze()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server for the whole test session (see tests/postgres.py).

    Without server binaries the tests that need it are skipped, unless JOURNEY_REQUIRE_POSTGRES=1
    (CI sets it), where a missing PostgreSQL must fail the build rather than quietly skip.
    """
    if find_binaries() is None:
        reason = f"PostgreSQL server binaries not found ({BINARY_GLOB}/initdb); install the Debian 'postgresql' package"
        if os.environ.get("JOURNEY_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{reason} (JOURNEY_REQUIRE_POSTGRES=1)", pytrace=False)
        pytest.skip(reason)
    server = start_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a fresh, empty database on the session's server, dropped after the test."""
    name = postgres_server.create_database()
    try:
        yield postgres_server.url(name)
    finally:
        postgres_server.drop_database(name)
