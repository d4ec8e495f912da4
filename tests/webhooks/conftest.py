"""The webhook endpoints over a real store (SQLite and PostgreSQL) and the real router, with Temporal replaced by a recorder."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import cast

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from orchestrator.api import webhooks
from orchestrator.api.errors import install_error_handlers
from orchestrator.api.state import ApiRuntime, ApiSettings
from orchestrator.compiler import compile_text
from orchestrator.routing.gateway import LoopGateway
from orchestrator.routing.router import Router
from orchestrator.store import Store
from tests.webhooks.signing import SendGridSigner
from tests.webhooks.support import AT, OPEN_WAITER, PUBLIC_URL, TWILIO_TOKEN, RecordingGateway


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = f"sqlite:///{tmp_path / 'journey.db'}" if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))
    store = Store(url)
    store.migrate()
    result = compile_text(OPEN_WAITER, file="reminder_opened.yaml", directory=tmp_path)
    assert result.journey is not None, result.diagnostics
    with store.session() as session:
        session.deploy(result.journey, AT)
    try:
        yield store
    finally:
        store.dispose()


@pytest.fixture
def gateway() -> RecordingGateway:
    return RecordingGateway()


@pytest.fixture
def signer() -> SendGridSigner:
    return SendGridSigner()


@pytest_asyncio.fixture
async def client(
    store: Store, gateway: RecordingGateway, signer: SendGridSigner, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    """The webhook endpoints behind an httpx client (ASGI transport), configured as an operator would."""
    monkeypatch.setenv("SENDGRID_WEBHOOK_PUBLIC_KEY", signer.public_key)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TWILIO_TOKEN)
    monkeypatch.setenv("JOURNEY_PUBLIC_URL", PUBLIC_URL)
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(webhooks.router)
    app.state.runtime = ApiRuntime(store, Router(store, gateway), cast(LoopGateway, gateway), ApiSettings())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.internal") as client:
        yield client
