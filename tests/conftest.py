"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.postgres import BINARY_GLOB, PostgresServer, find_binaries, start_server


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
