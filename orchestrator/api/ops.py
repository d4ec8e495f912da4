"""GET /healthz and GET /readyz (no key: for load balancers and orchestrators) and POST /v1/admin/reload."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from orchestrator.api.answers import ActiveJourney, Health, Ready, Reloaded
from orchestrator.api.readiness import check_readiness, database_state
from orchestrator.api.state import ApiRuntime, runtime

health = APIRouter(tags=["operations"])
admin = APIRouter(prefix="/v1/admin", tags=["operations"])

Runtime = Annotated[ApiRuntime, Depends(runtime)]


@health.get("/healthz", response_model=Health, responses={503: {"model": Health, "description": "The database does not answer."}})
def healthz(api: Runtime) -> JSONResponse:
    """200 while the database answers. `temporal` reports whether Temporal does: without it, calls that
    start or reach enrollments are refused with 503, everything else is still accepted."""
    database = database_state(api.store)
    temporal = "ok" if api.gateway.reachable(api.settings.health_timeout) else "unreachable"
    status = "down" if database != "ok" else "ok" if temporal == "ok" else "degraded"
    body = Health(status=status, database=database, temporal=temporal, active_journeys=len(api.router.catalog.snapshot.active))
    return JSONResponse(body.model_dump(), status_code=503 if status == "down" else 200)


@health.get("/readyz", response_model=Ready, responses={503: {"model": Ready, "description": "Not ready: `reasons` say why."}})
def readyz(api: Runtime) -> JSONResponse:
    """200 when every event can be taken: the database answers, Temporal answers, and its namespace takes the calls
    (it exists, the enrollments' search attributes are registered). 503 otherwise, each reason with its fix.
    Checked at most once per few seconds (READY_CACHE), whoever asks."""
    found = api.readiness.get(lambda: check_readiness(api.store, api.gateway, api.settings.health_timeout))
    body = Ready(ready=found.ready, database=found.database, temporal=found.temporal, reasons=found.reasons)
    return JSONResponse(body.model_dump(), status_code=200 if found.ready else 503)


@admin.post("/reload", response_model=Reloaded)
def reload(api: Runtime) -> Reloaded:
    """Re-read the active journeys now (they are re-read every few seconds anyway): call it after `journey deploy`."""
    snapshot = api.router.refresh_catalog()
    return Reloaded(active=[ActiveJourney(id=j.id, version=j.version) for j in snapshot.active])
