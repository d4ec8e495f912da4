"""Store fixtures: every store test runs once on SQLite and once on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator import ir
from orchestrator.compiler import compile_file, compile_text
from orchestrator.store import Store
from tests.store.support import JOURNEYS


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file in tmp_path, or a fresh database on the session's PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'journey.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A migrated store on `database_url`."""
    store = Store(database_url)
    store.migrate()
    try:
        yield store
    finally:
        store.dispose()


@pytest.fixture(scope="session")
def cart_v1() -> ir.Journey:
    """The shipped abandoned-cart journey, compiled."""
    result = compile_file(JOURNEYS / "abandoned_cart.yaml")
    assert result.journey is not None, result.diagnostics
    return result.journey


@pytest.fixture(scope="session")
def cart_v2(cart_v1: ir.Journey) -> ir.Journey:
    """The same journey with one change (a longer wait for the open): a new version."""
    text = (JOURNEYS / "abandoned_cart.yaml").read_text()
    assert "within: 2d" in text
    result = compile_text(text.replace("within: 2d", "within: 3d"), file="abandoned_cart.yaml", directory=JOURNEYS)
    assert result.journey is not None, result.diagnostics
    assert result.journey.id == cart_v1.id and result.journey.version != cart_v1.version
    return result.journey
