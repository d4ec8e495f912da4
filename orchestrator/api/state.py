"""What the endpoints share: the runtime the app's lifespan builds, and the dependency that hands it out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from fastapi import Request

from orchestrator.routing.gateway import LoopGateway
from orchestrator.routing.router import Router
from orchestrator.store import Store


@dataclass(frozen=True)
class ApiSettings:
    """Timeouts of the read endpoints."""

    status_query_timeout: timedelta = timedelta(seconds=2)
    """How long GET /v1/customers/{id}/journeys waits for running enrollments to say where they are."""
    health_timeout: timedelta = timedelta(seconds=2)
    """How long /healthz waits for Temporal's health check."""


@dataclass(frozen=True)
class ApiRuntime:
    """Built by the lifespan, on `app.state.runtime`: the endpoints' view of the world."""

    store: Store
    router: Router
    gateway: LoopGateway
    settings: ApiSettings


async def runtime(request: Request) -> ApiRuntime:
    """The endpoints' dependency on what the lifespan built."""
    found = getattr(request.app.state, "runtime", None)
    if found is None:
        raise RuntimeError("the API's lifespan has not run: serve the app with lifespan events on")
    assert isinstance(found, ApiRuntime)
    return found
