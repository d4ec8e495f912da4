"""Error answers: one JSON shape for every failure, and the handlers that produce it.

Every error body is `{"error": <code>, "message": <text>}`; a 400 adds the
field-level problems: `{"errors": [{"field": "batch[3].userId", "message": "is required"}]}`.
A 400 or 401 changed nothing; a 503 means the call was not recorded and a
retry (with the same messageId) is safe.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from orchestrator.api.payloads import BATCH_TYPES, MAX_BODY_BYTES
from orchestrator.routing.calls import MergeRefused, TemporalMisconfigured, TemporalUnavailable
from orchestrator.routing.lease import CustomerBusy

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
MAX_LISTED_ERRORS = 100
"""Field errors listed in one answer: a 10,000-item batch with the same mistake everywhere stays readable."""


@dataclass(frozen=True)
class FieldError:
    field: str
    """Where, in the request body: `userId`, `traits.email`, `batch[3].event`; `body` for the body as a whole."""
    message: str


class ApiError(Exception):
    """An answer other than 2xx, raised from an endpoint."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        errors: Sequence[FieldError] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = list(errors)
        self.headers = headers

    @classmethod
    def invalid(cls, errors: Sequence[FieldError]) -> ApiError:
        listed = list(errors)[:MAX_LISTED_ERRORS]
        more = len(errors) - len(listed)
        message = f"{len(errors)} problem(s) in the request body; nothing was recorded"
        if more:
            message += f" (the first {len(listed)} are listed)"
        return cls(400, "invalid_payload", message, errors=listed)

    @classmethod
    def too_large(cls) -> ApiError:
        message = f"the request body is larger than the {MAX_BODY_BYTES} bytes accepted; nothing was recorded"
        return cls(413, "payload_too_large", message, errors=[FieldError("body", f"must be at most {MAX_BODY_BYTES} bytes")])

    @classmethod
    def merge_refused(cls, refused: MergeRefused, anonymous_field: str, prefix: str = "") -> ApiError:
        """409: the call ties an anonymous id to a customer other than the one it merged into; nothing was recorded."""
        merge = refused.conflict.merge
        errors = [
            FieldError(f"{prefix}{anonymous_field}", f"merged into another customer at {merge.merged_at.isoformat()}"),
            FieldError(f"{prefix}userId", "is not the customer this anonymous id merged into: known customers are never merged"),
        ]
        message = f"{anonymous_field} already belongs to another customer; nothing was recorded. Do not retry unchanged."
        return cls(409, "anonymous_id_merged", message, errors=errors)

    @classmethod
    def not_found(cls, message: str) -> ApiError:
        return cls(404, "not_found", message)


def refused(request: Request, error: ApiError) -> JSONResponse:
    """Log the refusal (one line: the route's template, never its path, which may hold a customer id; the code; the
    fields a 400 names, never their values) and answer it."""
    route = request.scope.get("route")
    template = getattr(route, "path", None) or "unmatched"
    fields = [problem.field for problem in error.errors]
    extra: dict[str, Any] = {"route": template, "method": request.method, "status": error.status, "code": error.code}
    if fields:
        extra["fields"] = fields
    level = logging.ERROR if error.status == 424 else logging.WARNING if error.status >= 500 else logging.INFO
    named = f" ({', '.join(fields)})" if fields else ""
    log.log(level, "refused %s %s: %d %s%s", request.method, template, error.status, error.code, named, extra=extra)
    return error_response(error)


def error_response(error: ApiError) -> JSONResponse:
    body: dict[str, Any] = {"error": error.code, "message": error.message}
    if error.errors:
        body["errors"] = [asdict(e) for e in error.errors]
    return JSONResponse(body, status_code=error.status, headers=error.headers)


def field_path(loc: Sequence[int | str]) -> str:
    """A pydantic error location as a path: ("body", "batch", 3, "track", "userId") -> "batch[3].userId"."""
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[1:]
    path = ""
    previous: int | str | None = None
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif isinstance(previous, int) and part in BATCH_TYPES:
            pass  # the discriminator tag pydantic puts after a batch item's index
        else:
            path += f".{part}" if path else str(part)
        previous = part
    return path or "body"


NOT_UNICODE = "is not valid Unicode: it holds a lone surrogate (\\ud800-\\udfff), which UTF-8 cannot encode"

_MESSAGES = {
    "string_unicode": NOT_UNICODE,
    "missing": "is required",
    "string_type": "must be a string",
    "dict_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "list_type": "must be a JSON array",
    "string_too_short": "must not be empty",
    "string_pattern_mismatch": "must not be blank",
    "datetime_type": "must be an ISO 8601 date-time, like 2026-05-01T12:00:00Z",
    "datetime_parsing": "must be an ISO 8601 date-time, like 2026-05-01T12:00:00Z",
    "datetime_from_date_parsing": "must be an ISO 8601 date-time, like 2026-05-01T12:00:00Z",
    "union_tag_invalid": f"must be one of {', '.join(repr(t) for t in BATCH_TYPES)}",
    "union_tag_not_found": f"is required: one of {', '.join(repr(t) for t in BATCH_TYPES)}",
}


def body_error(cause: BaseException | None) -> FieldError | None:
    """Why a body that FastAPI could not parse was refused, when it is the sender's doing."""
    if isinstance(cause, UnicodeDecodeError):
        return FieldError("body", f"is not valid UTF-8 (byte {cause.start}): send JSON encoded as UTF-8")
    if isinstance(cause, RecursionError):
        return FieldError("body", "is nested too deeply to be read")
    return None


def field_errors(errors: Sequence[Any]) -> list[FieldError]:
    """pydantic's errors (as FastAPI reports them) as field errors with plain messages."""
    out: list[FieldError] = []
    for error in errors:
        kind = error.get("type", "")
        loc = list(error.get("loc", ()))
        if kind in ("union_tag_invalid", "union_tag_not_found"):
            loc.append("type")
        if kind == "missing_customer":  # a call naming nobody (payloads.py): placed on the field most senders mean
            out.append(FieldError(field_path([*loc, "userId"]), "is required, or anonymousId for a visitor who has not logged in"))
            continue
        if kind == "json_invalid":
            detail = error.get("ctx", {}).get("error", "")
            out.append(FieldError("body", f"is not valid JSON{': ' + detail if detail else ''}"))
            continue
        if kind == "missing" and loc == ["body"]:
            out.append(FieldError("body", "is required: send a JSON object"))
            continue
        if loc == ["body"] and isinstance(error.get("input"), str | bytes):
            # Not parsed as JSON at all: the Content-Type header was not application/json.
            out.append(FieldError("body", "must be a JSON object sent with `Content-Type: application/json`"))
            continue
        if kind == "value_error" and "error" in error.get("ctx", {}):
            # Our own validators' ValueErrors: their text is the message, without pydantic's "Value error, ".
            out.append(FieldError(field_path(loc), str(error["ctx"]["error"])))
            continue
        out.append(FieldError(field_path(loc), _MESSAGES.get(kind, str(error.get("msg", "is invalid")))))
    return out


def install_error_handlers(app: FastAPI) -> None:
    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return refused(request, exc)

    async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
        # 400, not FastAPI's 422: what Segment-style senders expect for a payload they must not retry.
        assert isinstance(exc, RequestValidationError)
        return refused(request, ApiError.invalid(field_errors(exc.errors())))

    async def temporal_unavailable(request: Request, exc: Exception) -> JSONResponse:
        message = f"{exc}; the call was not recorded, retry it (same messageId) later"
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        return refused(request, ApiError(503, "temporal_unavailable", message, headers=headers))

    async def temporal_misconfigured(request: Request, exc: Exception) -> JSONResponse:
        # Not 503: asking again changes nothing until an operator fixes the namespace, and a sender that retries a 5xx
        # would do so for hours. 424 (a dependency failed) is a 4xx senders do not retry; /readyz and the log say why.
        message = f"{exc}; the call was not recorded: the deployment's Temporal namespace refuses it, see GET /readyz"
        return refused(request, ApiError(424, "temporal_misconfigured", message))

    async def customer_busy(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, CustomerBusy)
        message = f"{exc}; the call was not recorded, retry it (same messageId) later"
        wait = math.ceil(exc.retry_after) if exc.retry_after is not None else RETRY_AFTER_SECONDS  # until the lease in the way ends
        return refused(request, ApiError(503, "customer_busy", message, headers={"Retry-After": str(wait)}))

    async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, OperationalError)
        message = f"the database refused the call ({type(exc.orig).__name__}); it was not recorded, retry it later"
        return refused(request, ApiError(503, "database_unavailable", message, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}))

    async def pool_exhausted(request: Request, exc: Exception) -> JSONResponse:
        message = "every database connection of this process was busy for 30 s; the call was not recorded, retry it later"
        return refused(request, ApiError(503, "database_unavailable", message, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}))

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        unparsed = body_error(exc.__cause__) if exc.status_code == 400 else None
        if unparsed is not None:
            return refused(request, ApiError.invalid([unparsed]))
        if exc.status_code == 413:
            return refused(request, ApiError.too_large())
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return refused(request, ApiError(exc.status_code, code, str(exc.detail), headers=exc.headers))

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(TemporalUnavailable, temporal_unavailable)
    app.add_exception_handler(TemporalMisconfigured, temporal_misconfigured)
    app.add_exception_handler(CustomerBusy, customer_busy)
    app.add_exception_handler(OperationalError, database_unavailable)
    app.add_exception_handler(PoolTimeout, pool_exhausted)  # DATABASE_POOL_SIZE + OVERFLOW connections all in use
    app.add_exception_handler(HTTPException, http_error)
