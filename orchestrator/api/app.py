"""The app factory: the ingestion API over one store and one Temporal client.

Threading model. Endpoints that touch the store are plain `def` functions, so
FastAPI runs them in its thread pool: a call holds its customers' leases (but
no database transaction) while the Router makes its Temporal calls, and blocking a
thread for that is the simple, correct shape. The Temporal client is driven by
the event loop the app is served on (uvicorn's); the Router's gateway hands
each call to that loop (`run_coroutine_threadsafe`) and waits for the answer
from the handler's thread. The loop itself never blocks on the database.

The client is either connected in the app's lifespan, on that loop (`connect`
is a coroutine function, as `journey api` does), or handed in already
connected (`journey dev`, tests); a temporalio client may be used from any loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from temporalio.client import Client

from orchestrator import __version__
from orchestrator.api import broadcasts, codec, customers, erasure, facts, ingest, journeys, ops, unsubscribe, webhooks
from orchestrator.api.auth import ApiKeyAuth
from orchestrator.api.errors import install_error_handlers
from orchestrator.api.ingest_metrics import CountIngestCalls, metrics
from orchestrator.api.limits import RequestBodyChecks
from orchestrator.api.state import ApiRuntime, ApiSettings
from orchestrator.console.access import ConsoleAccess
from orchestrator.console.app import install_console
from orchestrator.privacy.keyed_hash import HashSecret
from orchestrator.routing.gateway import LoopGateway
from orchestrator.routing.router import Router
from orchestrator.store import Store

log = logging.getLogger(__name__)

Connect = Callable[[], Awaitable[Client]]


def create_app(
    store: Store,
    connect: Connect | Client,
    *,
    api_keys: frozenset[str] | None,
    hash_secret: HashSecret,
    task_queue: str,
    search_attributes: bool,
    auth_disabled: bool = False,
    catalog_refresh: timedelta = timedelta(seconds=5),
    temporal_timeout: timedelta = timedelta(seconds=10),
    settings: ApiSettings | None = None,
) -> FastAPI:
    """The ingestion API (docs/api.md). Serve it with `orchestrator.api.serve` or any ASGI server, lifespan on.

    `store` must be migrated. `connect` is a connected client, or a coroutine function that
    connects one (called in the lifespan, on the serving loop). Requests need one of `api_keys`;
    with none, every request is refused unless `auth_disabled` (the local dev stack only).
    `hash_secret` keys the ids of the enrollments it starts: the workers' must be the same.
    `catalog_refresh`: how often the active journeys are re-read, so that `journey deploy`
    from another process takes effect without a restart (POST /v1/admin/reload forces it).
    `temporal_timeout`: how long one Temporal call may take before the call is answered 503.
    `settings`: the read endpoints' timeouts, the keys that check provider webhooks and
    unsubscribe links, and the console's (default: `ApiSettings()`, which configures no provider webhook).
    The console (orchestrator/console/) is served at /console: open exactly when the API is
    (`auth_disabled` with no keys) and no console password is set, else behind its login.
    """
    auth = ApiKeyAuth(api_keys, disabled=auth_disabled)
    endpoint_settings = settings or ApiSettings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = connect if isinstance(connect, Client) else await connect()
        gateway = LoopGateway(
            client, asyncio.get_running_loop(), task_queue=task_queue, search_attributes=search_attributes, timeout=temporal_timeout
        )
        router = await asyncio.to_thread(lambda: Router(store, gateway, hash_secret=hash_secret))
        app.state.runtime = ApiRuntime(store, router, gateway, endpoint_settings)
        refresher = asyncio.create_task(_refresh_catalog(router, catalog_refresh), name="journey-catalog-refresh")
        try:
            yield
        finally:
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher

    app = FastAPI(
        title="Journey Orchestrator API",
        version=__version__,
        description="Segment-compatible event ingestion (identify, track, batch), customer lookups and journey analytics. See docs/api.md.",
        lifespan=lifespan,
        # Served below, behind the key: FastAPI's own pages would be open to anyone.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    app.add_middleware(RequestBodyChecks)
    app.add_middleware(CountIngestCalls)  # added last, so outermost: it sees the body checks' answers too
    authenticated = [Depends(auth)]
    _serve_documentation(app, authenticated)
    app.include_router(ingest.router, dependencies=authenticated)
    app.include_router(customers.router, dependencies=authenticated)
    app.include_router(erasure.router, dependencies=authenticated)
    app.include_router(journeys.router, dependencies=authenticated)
    app.include_router(broadcasts.router, dependencies=authenticated)
    app.include_router(facts.router, dependencies=authenticated)
    app.include_router(ops.admin, dependencies=authenticated)
    app.include_router(codec.router, dependencies=authenticated)
    app.include_router(codec.preflight)
    app.include_router(ops.health)
    app.include_router(metrics)  # no key, like /healthz: scraped by Prometheus (docs/operations.md)
    app.include_router(unsubscribe.router)
    app.include_router(webhooks.router)  # signed by the providers instead of an API key
    console = endpoint_settings.console
    install_console(app, ConsoleAccess.build(console, api_keys=api_keys, api_open=auth.open), repo_url=console.repo_url)
    _document_400_not_422(app)
    return app


def _serve_documentation(app: FastAPI, authenticated: list[Any]) -> None:
    """/openapi.json, /docs and /redoc, behind the API key like the endpoints they describe.

    The schema lists every endpoint, and the key check is what keeps it from strangers;
    under `journey dev` (auth disabled) they are as open as the rest. A browser asked for a
    key gets the Basic challenge of the 401 and sends the key it is given on every request,
    /openapi.json included.
    """

    @app.get("/openapi.json", include_in_schema=False, dependencies=authenticated)
    async def openapi_json() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=authenticated)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{app.title} - Swagger UI")

    @app.get("/redoc", include_in_schema=False, dependencies=authenticated)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title=f"{app.title} - ReDoc")


def _document_400_not_422(app: FastAPI) -> None:
    """Bad payloads are answered 400 (errors.py); drop the 422 FastAPI documents for every body."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    responses = operation.get("responses", {})
                    if responses.get("422", {}).get("description") == "Validation Error":  # FastAPI's, not an endpoint's own
                        responses.pop("422")
            for name in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(name, None)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


async def _refresh_catalog(router: Router, every: timedelta) -> None:
    """Re-read the active journeys every `every`, in a thread (it reads the store); keep going on errors."""
    while True:
        await asyncio.sleep(every.total_seconds())
        try:
            await asyncio.to_thread(router.refresh_catalog)
        except Exception:
            log.exception("refreshing the journey catalog failed; routing keeps the previous one")
