"""GET /v1/facts: the journey facts as NDJSON, in the log's order, for a warehouse loader (docs/api.md, "Facts").

One fact a line, every column but the two that order the log, plus `cursor`: pass the last line's
cursor as `after` to get what follows it. The order is the fold's (orchestrator/store/journey_facts.py,
"Order"): a fact shows only once no transaction still in flight can commit one before it, so a loader
that resumes from its last cursor gets every fact exactly once, whatever commits concurrently. An erased
customer's facts are deleted, so they are no longer in the stream (a loader that copied them earlier
deletes them on its side: docs/privacy.md).

Streamed: read from the store a page at a time, each page its own short transaction, written out as it
is read; a call never holds the whole answer in memory nor a transaction open while the client reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from orchestrator.api.errors import ApiError, FieldError
from orchestrator.api.state import ApiRuntime, runtime
from orchestrator.store import Store
from orchestrator.store.journey_facts import PUBLIC_FACT_COLUMNS, FactPosition

router = APIRouter(prefix="/v1", tags=["analytics"])

Runtime = Annotated[ApiRuntime, Depends(runtime)]

DEFAULT_LIMIT: Final = 1000
MAX_LIMIT: Final = 10_000
"""Facts in one answer at most: a loader asks again with the last cursor."""
PAGE: Final = 500
"""Facts read from the store per transaction while streaming."""
NDJSON: Final = "application/x-ndjson"


_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"content": {NDJSON: {}}, "description": "One fact a line, each with its `cursor`."},
    422: {"description": "A bad `after` or `limit`."},
}


@router.get("/facts", response_class=StreamingResponse, responses=_ANSWERS)
def facts(api: Runtime, after: str | None = None, limit: str | None = None) -> StreamingResponse:
    """The journey facts after `after` (none: from the first), at most `limit` (default 1000, at most 10,000), oldest first."""
    position, count = _position(after), _limit(limit)
    return StreamingResponse(_lines(api.store, position, count), media_type=NDJSON)


def _position(after: str | None) -> FactPosition:
    if after is None:
        return FactPosition()
    try:
        return FactPosition.from_cursor(after)
    except ValueError:
        raise ApiError(422, "invalid_query", "`after` must be a cursor from an earlier answer", errors=[
            FieldError("after", "must be the `cursor` of a fact this endpoint returned")
        ]) from None  # fmt: skip


def _limit(limit: str | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not limit.isdigit() or not 1 <= int(limit) <= MAX_LIMIT:
        message = f"must be a whole number from 1 to {MAX_LIMIT}"
        raise ApiError(422, "invalid_query", f"`limit` {message}", errors=[FieldError("limit", message)])
    return int(limit)


def _lines(store: Store, position: FactPosition, limit: int) -> Iterator[bytes]:
    left = limit
    while left > 0:
        with store.read() as session:
            page = session.facts_after(position, min(PAGE, left), PUBLIC_FACT_COLUMNS)
        for row in page:
            position = FactPosition(row.position_xact, row.position_id)
            yield _line(row, position)
        if len(page) < min(PAGE, left):
            return
        left -= len(page)


def _line(row: Any, position: FactPosition) -> bytes:
    fact: dict[str, Any] = {}
    for column in PUBLIC_FACT_COLUMNS:
        value = getattr(row, column.name)
        fact[column.name] = value.isoformat() if isinstance(value, datetime) else value
    fact["cursor"] = position.cursor
    return json.dumps(fact, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
