"""Counting the ingest calls (`journey_events_total`) by what the API answered them, and serving `/metrics`.

The count is taken from the answer itself, in an ASGI middleware outside every other: a
refusal's reason is the `error` code of its body, whichever part of the app answered it
(the body checks' 413, the key check's 401, a payload's 400, the router's `customer_busy`
or `temporal_unavailable`), so the metric and what senders saw cannot disagree, and no
error path has to remember to count. Error bodies are small JSON objects sent in one
message (errors.py); only those of the three ingest endpoints are read.
"""

from __future__ import annotations

import json
import re
from typing import Final

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchestrator.metrics import EVENTS, exposition

INGEST_KINDS: Final = {"/v1/identify": "identify", "/v1/track": "track", "/v1/batch": "batch"}
_CODE = re.compile(r"[a-z_]{1,40}")
"""What an error code looks like (errors.py); anything else is counted as `other`, so a label stays bounded."""

metrics = APIRouter(tags=["operations"])


@metrics.get("/metrics", include_in_schema=False)
def metrics_text() -> Response:
    """The process's Prometheus metrics (docs/operations.md). No API key, like /healthz: it holds no personal data."""
    body, content_type = exposition()
    return Response(body, media_type=content_type)


class CountIngestCalls:
    """ASGI middleware: one `journey_events_total` per POST to an ingest endpoint, accepted (2xx) or refused with its code."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = INGEST_KINDS.get(scope.get("path", "")) if scope["type"] == "http" and scope.get("method") == "POST" else None
        if kind is None:
            await self.app(scope, receive, send)
            return
        status = 0
        reason: str | None = None

        async def watched(message: Message) -> None:
            nonlocal status, reason
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and reason is None and not 200 <= status < 300:
                reason = _error_code(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except BaseException:
            # Unhandled: the server answers 500 (or the client went away); either way the call was not accepted.
            EVENTS.labels(kind, "refused", "internal_error").inc()
            raise
        if 200 <= status < 300:
            EVENTS.labels(kind, "accepted", "").inc()
        else:
            EVENTS.labels(kind, "refused", reason or f"http_{status}").inc()


def _error_code(body: bytes) -> str:
    try:
        code = json.loads(body).get("error")
    except (ValueError, AttributeError):
        return "other"
    return code if isinstance(code, str) and _CODE.fullmatch(code) else "other"
