"""A refused call is one log line with its route's template, its answer's code and the fields at fault; never a customer's id,
address or values."""

from __future__ import annotations

import logging

import pytest

from tests.api.support import Stack

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_refused_call_is_logged_by_route_and_code_without_personal_data(stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="orchestrator.api.errors"):
        invalid = await stack.http.post("/v1/track", json={"userId": "ann@example.com", "event": "", "properties": {"card": "4242"}})
        assert invalid.status_code == 400
        unauthorized = await stack.http.get("/v1/customers/ann@example.com/journeys", headers={"Authorization": "Bearer wrong"})
        assert unauthorized.status_code == 401

    lines = [(r.levelno, r.getMessage(), getattr(r, "route", None)) for r in caplog.records if r.name == "orchestrator.api.errors"]
    assert lines[0] == (logging.INFO, "refused POST /v1/track: 400 invalid_payload (event)", "/v1/track")
    assert lines[1][1] == "refused GET /v1/customers/{customer_id:path}/journeys: 401 unauthorized"
    assert not any("ann" in message or "4242" in message for _, message, _ in lines)
