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
from orchestrator.api.state import ApiRuntime
from orchestrator.compiler import compile_text
from orchestrator.host.settings import ApiServerSettings
from orchestrator.routing.gateway import LoopGateway
from orchestrator.routing.router import Router
from orchestrator.store import Store
from tests.keys import HASH_SECRET, KEYS_ENVIRONMENT
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


@pytest.fixture
def unset() -> tuple[str, ...]:
    """Variables the operator left unset; a test names them with `@pytest.mark.parametrize("unset", [("NAME",)])`."""
    return ()


@pytest_asyncio.fixture
async def client(
    store: Store, gateway: RecordingGateway, signer: SendGridSigner, unset: tuple[str, ...]
) -> AsyncIterator[httpx.AsyncClient]:
    """The webhook endpoints behind an httpx client (ASGI transport), configured as an operator would: by the environment."""
    environment = KEYS_ENVIRONMENT | {
        "SENDGRID_WEBHOOK_PUBLIC_KEY": signer.public_key,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "JOURNEY_PUBLIC_URL": PUBLIC_URL,
        "JOURNEY_API_KEYS": "not-used-by-webhooks",  # `journey api` does not start without one
    }
    for name in unset:
        del environment[name]
    settings = ApiServerSettings.read(environment).endpoints
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(webhooks.router)
    app.state.runtime = ApiRuntime(store, Router(store, gateway, hash_secret=HASH_SECRET), cast(LoopGateway, gateway), settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.internal") as client:
        yield client
