"""GET /v1/facts: the journey facts as NDJSON, oldest first, resumable from the last line's cursor."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from orchestrator.api import facts
from orchestrator.store import JourneyFact
from tests.api.support import Stack

pytestmark = pytest.mark.asyncio(loop_scope="session")

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def record(stack: Stack, customer: str, count: int) -> None:
    with stack.store.session() as session:
        session.record_facts([
            JourneyFact("entered", "cart", "v1", f"{customer}-{n}", customer, "entered", AT + timedelta(minutes=n)) for n in range(count)
        ])  # fmt: skip


async def read(stack: Stack, query: str = "") -> list[dict[str, Any]]:
    answer = await stack.http.get(f"/v1/facts{query}")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/x-ndjson"
    return [json.loads(line) for line in answer.text.splitlines()]


async def test_facts_come_one_a_line_with_every_column_and_a_cursor_to_resume_from(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(facts, "PAGE", 2)  # several pages of the store in one answer
    record(stack, "ann", 5)
    first = await read(stack, "?limit=3")
    assert first[0] == {
        "kind": "entered", "journey_id": "cart", "version": "v1", "enrollment_id": "ann-0", "customer_id": "ann", "fact_key": "entered",
        "step_id": None, "visit": None, "name": None, "status": None, "detail": None, "value": None,
        "occurred_at": "2026-03-02T09:00:00+00:00", "recorded_at": first[0]["recorded_at"], "cursor": first[0]["cursor"],
    }  # fmt: skip
    record(stack, "bob", 1)  # written between two calls of the loader
    rest = await read(stack, f"?after={first[-1]['cursor']}")
    assert [line["enrollment_id"] for line in [*first, *rest]] == ["ann-0", "ann-1", "ann-2", "ann-3", "ann-4", "bob-0"]
    assert await read(stack, f"?after={rest[-1]['cursor']}") == []  # nothing new: an empty answer


async def test_an_erased_customers_facts_are_gone_from_the_stream(stack: Stack) -> None:
    record(stack, "ann", 2)
    record(stack, "bob", 1)
    with stack.store.session(lock_customer="ann") as session:
        session.erase_customer_rows(session.begin_erasure("ann", "test", AT), "ann", AT)
    assert [line["customer_id"] for line in await read(stack)] == ["bob"]


@pytest.mark.parametrize(
    ("query", "field"),
    [("?limit=0", "limit"), ("?limit=10001", "limit"), ("?limit=ten", "limit"), ("?after=12", "after"), ("?after=a-b", "after")],
)
async def test_a_bad_limit_or_cursor_is_answered_422_naming_it(stack: Stack, query: str, field: str) -> None:
    answer = await stack.http.get(f"/v1/facts{query}")
    assert answer.status_code == 422, answer.text
    assert [error["field"] for error in answer.json()["errors"]] == [field]


async def test_the_stream_needs_the_api_key(stack: Stack) -> None:
    answer = await stack.http.get("/v1/facts", headers={"Authorization": "Bearer wrong-key"})
    assert answer.status_code == 401
