"""`/readyz` and a namespace that refuses start calls: not ready with the fix in words, and a 424 that senders do not retry,
where an outage answers 503."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import Client

from orchestrator.store.schema import enrollments, events
from tests.api.support import QUICK_CART, Stack, compiled, count_rows, open_stack, unreachable_temporal
from tests.runtime.support import bare_namespace

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_ready_when_the_database_temporal_and_the_namespace_answer(stack: Stack) -> None:
    answer = await stack.http.get("/readyz", headers={"Authorization": ""})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"ready": True, "database": "ok", "temporal": "ok", "reasons": []}


async def test_a_namespace_without_the_search_attributes_is_not_ready_and_its_starts_answer_424(tmp_path: Path, temporal: Client) -> None:
    bare = await bare_namespace(temporal)

    async def connect() -> Client:
        return bare

    async with open_stack(tmp_path, temporal, connect=connect, worker=False) as stack:
        ready = await stack.http.get("/readyz")
        assert ready.status_code == 503
        body = ready.json()
        assert (body["ready"], body["temporal"]) == (False, "misconfigured")
        assert "--create-search-attributes" in body["reasons"][0] and "CustomerId" in body["reasons"][0]
        assert (await stack.http.get("/healthz")).status_code == 200  # alive all the same

        await stack.deploy(compiled(QUICK_CART))
        await stack.identify("ann", email="ann@example.com", country="US")
        refused = await stack.track("ann", "checkout_started", message_id="m-1", cart_value=50)
        assert refused.status_code == 424, refused.text
        assert refused.json()["error"] == "temporal_misconfigured" and "Retry-After" not in refused.headers
        assert "/readyz" in refused.json()["message"]
        assert count_rows(stack.store, events, message_id="m-1") == 0 and count_rows(stack.store, enrollments) == 0


async def test_temporal_down_is_not_ready(tmp_path: Path, temporal: Client) -> None:
    async with open_stack(tmp_path, temporal, connect=unreachable_temporal, worker=False) as stack:
        ready = await stack.http.get("/readyz")
        assert ready.status_code == 503
        assert (ready.json()["temporal"], ready.json()["database"]) == ("unreachable", "ok")
