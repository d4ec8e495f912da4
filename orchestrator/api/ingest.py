"""POST /v1/identify, /v1/track, /v1/alias, /v1/batch: Segment-spec calls, applied through the Router.

A 200 means the call is durably applied: every enrollment it starts or reaches
confirmed by Temporal, then its store writes committed in one transaction (see
orchestrator/routing/router.py). A repeated messageId answers 200 with
`duplicate: true` and does nothing. These are `def` endpoints: FastAPI runs
them in its thread pool, where blocking on the database and on Temporal is fine.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends

from orchestrator.api.answers import BatchAnswer, CallAnswer
from orchestrator.api.errors import ApiError, FieldError
from orchestrator.api.limits import call_errors
from orchestrator.api.payloads import AliasItem, AliasPayload, BatchPayload, IdentifyPayload, TrackPayload
from orchestrator.api.state import ApiRuntime, runtime
from orchestrator.routing.calls import CallRejected, MergeRefused
from orchestrator.store import ProfileFieldError, ProfileFieldErrors

router = APIRouter(prefix="/v1", tags=["ingestion"])

Runtime = Annotated[ApiRuntime, Depends(runtime)]

_REFUSALS: dict[int | str, dict[str, object]] = {
    400: {"description": "Invalid payload: field errors, nothing recorded. Do not retry unchanged."},
    401: {"description": "Missing or invalid API key."},
    409: {"description": "anonymousId (previousId) merged into another customer before: nothing recorded. Do not retry unchanged."},
    413: {"description": "The body is over the size limit (docs/api.md): nothing recorded. Do not retry unchanged."},
    503: {"description": "Temporal or the database did not confirm: nothing recorded. Retry (same messageId) later."},
}


@router.post("/identify", response_model=CallAnswer, responses=_REFUSALS)
def identify(payload: IdentifyPayload, api: Runtime) -> CallAnswer:
    """Create or update the customer's profile; may enroll them in `segment`-triggered journeys."""
    _refuse_problems(call_errors(payload))
    call = payload.to_call(datetime.now(UTC))
    try:
        outcome = api.router.identify(call)
    except ProfileFieldError as exc:
        raise ApiError.invalid(_trait_errors(exc, "")) from exc
    except MergeRefused as refused:
        raise ApiError.merge_refused(refused, "anonymousId") from refused
    return CallAnswer.of(call.message_id, outcome)


@router.post("/track", response_model=CallAnswer, responses=_REFUSALS)
def track(payload: TrackPayload, api: Runtime) -> CallAnswer:
    """Record an event; enroll the customer in journeys it triggers and deliver it to enrollments waiting for it."""
    _refuse_problems(call_errors(payload))
    call = payload.to_call(datetime.now(UTC))
    try:
        return CallAnswer.of(call.message_id, api.router.track(call))
    except MergeRefused as refused:
        raise ApiError.merge_refused(refused, "anonymousId") from refused


@router.post("/alias", response_model=CallAnswer, responses=_REFUSALS)
def alias(payload: AliasPayload, api: Runtime) -> CallAnswer:
    """Tie a visitor's anonymousId (`previousId`) to the customer `userId`: the anonymous profile merges into theirs, once."""
    call = payload.to_call(datetime.now(UTC))
    try:
        return CallAnswer.of(call.message_id, api.router.apply([call])[0])
    except MergeRefused as refused:
        raise ApiError.merge_refused(refused, "previousId") from refused


@router.post("/batch", response_model=BatchAnswer, responses=_REFUSALS)
def batch(payload: BatchPayload, api: Runtime) -> BatchAnswer:
    """Apply identify and track calls in order, all or nothing: one invalid item and none is applied."""
    _refuse_problems([error for i, item in enumerate(payload.batch) for error in call_errors(item, f"batch[{i}].")])
    calls = payload.to_calls(datetime.now(UTC))
    try:
        outcomes = api.router.apply(calls)
    except CallRejected as rejected:
        raise ApiError.invalid(_trait_errors(rejected.error, f"batch[{rejected.index}].")) from rejected
    except MergeRefused as refused:
        anonymous_field = "previousId" if isinstance(payload.batch[refused.index], AliasItem) else "anonymousId"
        raise ApiError.merge_refused(refused, anonymous_field, f"batch[{refused.index}].") from refused
    return BatchAnswer.of(outcomes)


def _refuse_problems(problems: list[FieldError]) -> None:
    if problems:
        raise ApiError.invalid(problems)


def _trait_errors(error: ProfileFieldError, prefix: str) -> list[FieldError]:
    """Every trait the profile refused (the store reports them all), placed in the body by `prefix`."""
    refused = error.errors if isinstance(error, ProfileFieldErrors) else [error]
    return [FieldError(f"{prefix}traits.{e.field}", e.message) for e in refused]
