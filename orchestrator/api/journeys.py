"""GET /v1/journeys and GET /v1/journeys/{id}/stats: how each journey performs (docs/analytics.md, docs/api.md).

Read from the store only (the journey facts, folded into counts), in one read transaction; nothing asks
Temporal. The request is checked by orchestrator/store/journey_stats.py, which `journey stats` shares:
an unknown journey is 404, a bad `from`/`to`/`version` 422 naming the field.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from orchestrator.api.errors import ApiError, FieldError
from orchestrator.api.state import ApiRuntime, runtime
from orchestrator.store.journey_stats import (
    StatsRequest,
    StatsRequestError,
    UnknownJourney,
    read_journey_list,
    read_journey_stats,
)

router = APIRouter(prefix="/v1/journeys", tags=["journeys"])
Runtime = Annotated[ApiRuntime, Depends(runtime)]


class JourneyListItem(BaseModel):
    id: str
    name: str
    active_version: str | None = Field(description="null: deactivated (running enrollments continue on their versions).")
    deployed_at: datetime = Field(description="When the active version (deactivated: the newest) was first deployed.")
    versions: int = Field(description="Versions ever deployed.")
    entered: int = Field(description="Enrollments, all time, every version.")
    converted: int = Field(description="Enrollments with a goal event within their window (docs/analytics.md).")
    waiting: int = Field(description="Enrollments running now.")


class JourneyList(BaseModel):
    journeys: list[JourneyListItem] = Field(description="Every journey ever deployed, by id.")


@router.get("", response_model=JourneyList)
def list_journeys(api: Runtime) -> JSONResponse:
    """Every journey ever deployed, with its active version and its all-time entered, converted and waiting counts."""
    summaries = read_journey_list(api.store, datetime.now(UTC))
    # The document `journey stats --format json` prints too (JourneySummary.document); the models above describe it.
    return JSONResponse({"journeys": [summary.document() for summary in summaries]})


_STATS_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No journey of that id was ever deployed."},
    422: {"description": "`from` or `to` is not a YYYY-MM-DD day, `from` is after `to`, or `version` was never deployed."},
}


@router.get("/{journey_id}/stats", response_model=dict[str, Any], responses=_STATS_ERRORS)
def journey_stats(
    journey_id: str,
    api: Runtime,
    first_day: Annotated[str | None, Query(alias="from", description="First UTC day of entry, YYYY-MM-DD. Default: the first.")] = None,
    last_day: Annotated[str | None, Query(alias="to", description="Last UTC day of entry, YYYY-MM-DD, inclusive. Default: today.")] = None,
    version: Annotated[str | None, Query(description="One version. Default: every version deployed.")] = None,
) -> JSONResponse:
    """The journey's report over the enrollments that entered in [from, to]: totals, conversion, funnel per step,
    splits with their statistics and verdict, metrics, revenue, and the daily series (docs/analytics.md, "The stats document")."""
    try:
        request = StatsRequest.parse(journey_id, first_day, last_day, version)
        report = read_journey_stats(api.store, request, datetime.now(UTC))
    except UnknownJourney as exc:
        raise ApiError.not_found(str(exc)) from None
    except StatsRequestError as exc:
        raise ApiError(422, "invalid_query", str(exc), errors=[FieldError(exc.field, exc.message)]) from None
    return JSONResponse(report.document())
