"""What the API accepts in one call: the size limits, and the checks of the free-form JSON in it.

The limits are chosen from Temporal's: it refuses a payload over 2 MB (and warns over
512 KB). An event that starts an enrollment travels in the workflow's input next to
the compiled journey, which docs/deploy.md keeps under about 1 MB; a signal carries
the event alone. So one event's properties are capped well below the difference, and
an event the API accepted can always be started or signalled: a larger one would be
answered 503 by Temporal on every retry, which a sender retries forever. Sizes are
measured as Temporal's JSON converter writes the value (ASCII-escaped, compact), the
largest form it takes.

A trait never travels to Temporal (activities read the profile), but it is stored in
one row and read by every send: it gets a limit of the same order. Properties and
traits are also checked for what JSON parsers let through but nothing downstream can
store: NaN and Infinity (PostgreSQL's jsonb and the store's encoder refuse them), lone
surrogates (not encodable as UTF-8) and nesting deeper than anything a template reads.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, Final

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchestrator.api.errors import NOT_UNICODE, ApiError, FieldError, error_response
from orchestrator.api.payloads import MAX_BODY_BYTES, AliasPayload, IdentifyPayload, TrackPayload

MAX_PROPERTIES_BYTES: Final = 64 * 1024
"""One event's properties. Twice what Segment accepts for a whole call, far below Temporal's payload limit."""
MAX_TRAIT_BYTES: Final = 64 * 1024
"""One trait's value."""
MAX_DEPTH: Final = 32
"""Levels of objects and arrays inside properties or a trait."""


def call_errors(call: IdentifyPayload | TrackPayload | AliasPayload, prefix: str = "") -> list[FieldError]:
    """Every problem of the free-form values of one call; `prefix` places it in a batch (`batch[3].`)."""
    if isinstance(call, AliasPayload):
        return []  # two ids, validated as the body was read
    if isinstance(call, TrackPayload):
        return value_errors(call.properties or {}, f"{prefix}properties", MAX_PROPERTIES_BYTES)
    errors: list[FieldError] = []
    for name, value in (call.traits or {}).items():
        field = f"{prefix}traits.{_key(name)}"
        errors += [FieldError(field, NOT_UNICODE)] if lone_surrogate(name) else value_errors(value, field, MAX_TRAIT_BYTES)
    return errors


def value_errors(value: Any, field: str, max_bytes: int) -> list[FieldError]:
    """The problems of one JSON value at `field` (each named by its own path), then its size if it has none."""
    errors: list[FieldError] = []
    # Iterative: a value nested as deep as the parser allows must not exhaust Python's stack here.
    pending: list[tuple[str, Any, int]] = [(field, value, 0)]
    while pending:
        path, item, depth = pending.pop()
        if isinstance(item, float) and not math.isfinite(item):
            errors.append(FieldError(path, "must be a finite number: JSON has no NaN or Infinity"))
        elif isinstance(item, str) and lone_surrogate(item):
            errors.append(FieldError(path, NOT_UNICODE))
        elif isinstance(item, Mapping | list):
            if depth == MAX_DEPTH:
                errors.append(FieldError(path, f"is nested more than {MAX_DEPTH} levels deep"))
                continue
            children = item.items() if isinstance(item, Mapping) else enumerate(item)
            for key, child in reversed(list(children)):
                if isinstance(key, str) and lone_surrogate(key):
                    errors.append(FieldError(f"{path}.{_key(key)}", NOT_UNICODE))
                    continue
                pending.append((f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}", child, depth + 1))
    if errors:
        return errors
    size = len(json.dumps(value, separators=(",", ":")))
    if size > max_bytes:
        return [FieldError(field, f"is {size} bytes as JSON; at most {max_bytes} are accepted")]
    return []


def lone_surrogate(text: str) -> bool:
    """True if `text` holds half of a surrogate pair (JSON's `"\\ud800"`): no UTF-8 store, payload or answer can carry it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _key(name: str) -> str:
    """A key as it can appear in a field path: escaped when it cannot be written as UTF-8."""
    return ascii(name) if lone_surrogate(name) else name


class RequestBodyChecks:
    """ASGI middleware: what a request body must be before anything reads it.

    At most MAX_BODY_BYTES (413): a declared larger Content-Length is answered at once, and a
    body sent without one is counted as it arrives; the endpoint reading past the limit gets an
    HTTPException(413), which FastAPI passes through to the error handlers. Starlette's own
    limit (FastAPI's `max_body_size`) is not used: it answers a plain-text 413, not our shape.

    No Content-Encoding (400): decompressing would let a small body expand past the limit
    unchecked, and no Segment-spec sender needs it; unchecked, the compressed bytes would reach
    the JSON parser and be refused as "not valid UTF-8", which does not say what to change.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        encoding = headers.get("content-encoding", "").strip().lower()
        if encoding not in ("", "identity"):
            problem = FieldError("body", f"is compressed (Content-Encoding: {encoding}): send it uncompressed")
            await error_response(ApiError.invalid([problem]))(scope, receive, send)
            return
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            await error_response(ApiError.too_large())(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > MAX_BODY_BYTES:
                raise HTTPException(413)
            return message

        await self.app(scope, counted, send)
