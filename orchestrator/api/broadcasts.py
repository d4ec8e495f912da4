"""GET /v1/broadcasts/{run_id}, GET /v1/journeys/{id}/broadcasts and POST /v1/broadcasts/{run_id}/cancel: a broadcast's runs,
how far each has got, and stopping one (docs/api.md, "Broadcasts").

A run is one firing of a scheduled journey, named by its workflow id. Its progress is read from the store only
(orchestrator/store/broadcasts.py defines each count), the numbers `journey broadcast status` prints. A cancel is
noted in the store, then signalled to the run and to every cohort it started (orchestrator/routing/broadcast_cancel.py):
a 503 means a signal was not confirmed; the run is noted cancelled already, and repeating the call finishes it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from orchestrator.api.errors import ApiError
from orchestrator.api.state import ApiRuntime, runtime
from orchestrator.routing.broadcast_cancel import cancel_run
from orchestrator.store.broadcasts import UnknownBroadcast, read_journey_runs, read_progress
from orchestrator.store.journey_stats import UnknownJourney

router = APIRouter(tags=["broadcasts"])
Runtime = Annotated[ApiRuntime, Depends(runtime)]

_UNKNOWN_RUN: dict[int | str, dict[str, Any]] = {404: {"description": "No broadcast run of that id has enrolled a page."}}


@router.get("/v1/broadcasts/{run_id}", response_model=dict[str, Any], responses=_UNKNOWN_RUN)
def broadcast_progress(run_id: str, api: Runtime) -> JSONResponse:
    """How far the run has got: its state, pages, cohorts, customers enrolled, messages sent, suppressed by reason and
    failed, members still running (`remaining`) and profiles still to read."""
    try:
        return JSONResponse(read_progress(api.store, run_id).document())
    except UnknownBroadcast as exc:
        raise ApiError.not_found(str(exc)) from None


@router.get(
    "/v1/journeys/{journey_id}/broadcasts",
    response_model=dict[str, Any],
    responses={404: {"description": "No journey of that id was ever deployed."}},
)
def journey_broadcasts(journey_id: str, api: Runtime) -> JSONResponse:
    """Every run of the journey's broadcast, newest first, each with its progress."""
    try:
        runs = read_journey_runs(api.store, journey_id)
    except UnknownJourney as exc:
        raise ApiError.not_found(str(exc)) from None
    return JSONResponse({"journey": journey_id, "broadcasts": [progress.document() for progress in runs]})


@router.post(
    "/v1/broadcasts/{run_id}/cancel",
    response_model=dict[str, Any],
    responses={**_UNKNOWN_RUN, 503: {"description": "Temporal did not confirm a signal: the run is noted cancelled; call again."}},
)
def cancel_broadcast(run_id: str, api: Runtime) -> JSONResponse:
    """Stop the run: no further page is enrolled, and every cohort it started ends its members as "broadcast cancelled",
    sending nothing more. Idempotent: cancelling again answers the same run, its first cancel's time kept."""
    try:
        stopped = cancel_run(api.store, api.gateway, run_id, datetime.now(UTC))
        progress = read_progress(api.store, run_id)
    except UnknownBroadcast as exc:
        raise ApiError.not_found(str(exc)) from None
    return JSONResponse({**progress.document(), "cohorts_cancelled": stopped})
