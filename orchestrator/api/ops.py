"""GET /healthz (no key: for load balancers) and POST /v1/admin/reload."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from orchestrator.api.answers import ActiveJourney, Health, Reloaded
from orchestrator.api.state import ApiRuntime, runtime

health = APIRouter(tags=["operations"])
admin = APIRouter(prefix="/v1/admin", tags=["operations"])

Runtime = Annotated[ApiRuntime, Depends(runtime)]


@health.get("/healthz", response_model=Health, responses={503: {"model": Health, "description": "The database does not answer."}})
def healthz(api: Runtime) -> JSONResponse:
    """200 while the database answers. `temporal` reports whether Temporal does: without it, calls that
    start or reach enrollments are refused with 503, everything else is still accepted."""
    try:
        with api.store.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        database = "ok"
    except SQLAlchemyError as exc:
        database = f"error: {type(exc).__name__}"
    temporal = "ok" if api.gateway.reachable(api.settings.health_timeout) else "unreachable"
    status = "down" if database != "ok" else "ok" if temporal == "ok" else "degraded"
    body = Health(status=status, database=database, temporal=temporal, active_journeys=len(api.router.catalog.snapshot.active))
    return JSONResponse(body.model_dump(), status_code=503 if status == "down" else 200)


@admin.post("/reload", response_model=Reloaded)
def reload(api: Runtime) -> Reloaded:
    """Re-read the active journeys now (they are re-read every few seconds anyway): call it after `journey deploy`."""
    snapshot = api.router.refresh_catalog()
    return Reloaded(active=[ActiveJourney(id=j.id, version=j.version) for j in snapshot.active])
