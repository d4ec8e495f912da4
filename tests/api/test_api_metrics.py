"""GET /metrics on the API: the ingest calls counted by what they were answered, enrollments started, lease waits.

Metrics are process-wide (every test's app shares prometheus_client's registry), so each test
reads the values before and after what it does and asserts the difference.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client

from orchestrator.routing import leased_calls as routing
from tests.api.support import QUICK_CART, Stack, compiled, open_stack
from tests.api.test_api_failures import unreachable_temporal

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def scraped(http: httpx.AsyncClient, name: str, **labels: str) -> float:
    """The value of sample `name` with exactly `labels` on GET /metrics (0 when absent)."""
    answer = await http.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


EVENTS = "journey_events_total"


async def test_an_accepted_track_and_identify_are_counted_on_metrics_without_a_key(stack: Stack) -> None:
    tracks = await scraped(stack.http, EVENTS, kind="track", outcome="accepted", reason="")
    identifies = await scraped(stack.http, EVENTS, kind="identify", outcome="accepted", reason="")
    assert (await stack.identify("mia", email="mia@example.com")).status_code == 200
    assert (await stack.track("mia", "page_viewed")).status_code == 200
    assert (await stack.track("mia", "page_viewed")).status_code == 200
    assert await scraped(stack.http, EVENTS, kind="track", outcome="accepted", reason="") == tracks + 2
    assert await scraped(stack.http, EVENTS, kind="identify", outcome="accepted", reason="") == identifies + 1


async def test_refused_calls_are_counted_by_the_error_code_answered(stack: Stack) -> None:
    invalid = await scraped(stack.http, EVENTS, kind="track", outcome="refused", reason="invalid_payload")
    unauthorized = await scraped(stack.http, EVENTS, kind="batch", outcome="refused", reason="unauthorized")
    too_large = await scraped(stack.http, EVENTS, kind="identify", outcome="refused", reason="payload_too_large")
    accepted = await scraped(stack.http, EVENTS, kind="track", outcome="accepted", reason="")

    answer = await stack.http.post("/v1/track", json={"event": "page_viewed"})  # no userId
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_payload"
    answer = await stack.http.post("/v1/batch", json={"batch": []}, headers={"Authorization": "Bearer wrong"})
    assert answer.status_code == 401 and answer.json()["error"] == "unauthorized"
    answer = await stack.http.post("/v1/identify", content=b"x", headers={"Content-Length": str(10**9), "Content-Type": "application/json"})
    assert answer.status_code == 413 and answer.json()["error"] == "payload_too_large"

    assert await scraped(stack.http, EVENTS, kind="track", outcome="refused", reason="invalid_payload") == invalid + 1
    assert await scraped(stack.http, EVENTS, kind="batch", outcome="refused", reason="unauthorized") == unauthorized + 1
    assert await scraped(stack.http, EVENTS, kind="identify", outcome="refused", reason="payload_too_large") == too_large + 1
    assert await scraped(stack.http, EVENTS, kind="track", outcome="accepted", reason="") == accepted


async def test_a_busy_customer_is_counted_refused_and_its_lease_wait_observed(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    await stack.deploy(compiled(QUICK_CART))
    await stack.identify("lee", email="lee@example.com", country="US")
    monkeypatch.setattr(routing, "LEASE_WAIT", timedelta(milliseconds=100))
    busy = await scraped(stack.http, EVENTS, kind="track", outcome="refused", reason="customer_busy")
    waits = await scraped(stack.http, "journey_lease_wait_seconds_count")
    now = datetime.now(UTC)
    with stack.store.session() as session:
        assert session.take_leases(["lee"], "another-api-process", now, now + timedelta(minutes=1))
    answer = await stack.track("lee", "checkout_started", cart_value=50)
    assert answer.status_code == 503 and answer.json()["error"] == "customer_busy"
    assert await scraped(stack.http, EVENTS, kind="track", outcome="refused", reason="customer_busy") == busy + 1
    assert await scraped(stack.http, "journey_lease_wait_seconds_count") == waits + 1


async def test_temporal_unavailable_is_counted_refused(tmp_path: Path, temporal: Client) -> None:
    async with open_stack(tmp_path, temporal, connect=unreachable_temporal, worker=False, temporal_timeout=timedelta(seconds=2)) as stack:
        await stack.deploy(compiled(QUICK_CART))
        await stack.identify("ann", email="ann@example.com", country="US")  # in the audience: her checkout starts an enrollment
        down = await scraped(stack.http, EVENTS, kind="track", outcome="refused", reason="temporal_unavailable")
        answer = await stack.track("ann", "checkout_started", cart_value=50)
        assert answer.status_code == 503 and answer.json()["error"] == "temporal_unavailable"
        assert await scraped(stack.http, EVENTS, kind="track", outcome="refused", reason="temporal_unavailable") == down + 1


async def test_an_enrollment_started_is_counted_under_its_journey_once(stack: Stack) -> None:
    await stack.deploy(compiled(QUICK_CART))
    started = await scraped(stack.http, "journey_enrollments_started_total", journey="quick_cart")
    await stack.identify("max", email="max@example.com", country="US")
    answer = await stack.track("max", "checkout_started", message_id="m-start", cart_value=50)
    assert answer.status_code == 200 and len(answer.json()["enrolled"]) == 1
    repeated = await stack.track("max", "checkout_started", message_id="m-start", cart_value=50)
    assert repeated.json()["duplicate"] is True
    assert await scraped(stack.http, "journey_enrollments_started_total", journey="quick_cart") == started + 1


async def test_metrics_hold_no_customer_ids(stack: Stack) -> None:
    await stack.identify("secret-customer-42", email="secret42@example.com")
    await stack.track("secret-customer-42", "page_viewed")
    # A client with no API key at all (and no second lifespan: the app is already running).
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=stack.app), base_url="http://api.test") as bare:
        answer = await bare.get("/metrics")
    assert answer.status_code == 200
    assert "journey_events_total" in answer.text
    assert "secret-customer-42" not in answer.text and "secret42" not in answer.text
