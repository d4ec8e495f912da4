"""When Temporal does not answer: 503, nothing recorded, a retry is safe; reads degrade instead of failing."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy.exc import TimeoutError as PoolTimeout
from temporalio.client import Client, WorkflowExecutionStatus

from orchestrator.routing import leased_calls as routing
from orchestrator.routing.calls import SignalCall, TemporalCall, TemporalUnavailable
from orchestrator.routing.gateway import LoopGateway
from orchestrator.routing.outage import PROBE_SECONDS
from orchestrator.runtime.contracts import EventMessage
from orchestrator.store.schema import enrollments, events
from tests.api.support import QUICK_CART, Stack, compiled, count_rows, open_stack, unreachable_temporal

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_temporal_down_answers_503_and_records_nothing(tmp_path: Path, temporal: Client) -> None:
    async with open_stack(tmp_path, temporal, connect=unreachable_temporal, worker=False, temporal_timeout=timedelta(seconds=2)) as stack:
        await stack.deploy(compiled(QUICK_CART))
        await stack.identify("ann", email="ann@example.com", country="US")  # enrolls nobody: no Temporal call
        answer = await stack.track("ann", "checkout_started", message_id="m-1", cart_value=50)
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"] == "temporal_unavailable"
        assert "retry" in answer.json()["message"]
        assert answer.headers["Retry-After"] == "5"
        assert count_rows(stack.store, events, message_id="m-1") == 0
        assert count_rows(stack.store, enrollments) == 0

        checkout = {"type": "track", "userId": "ann", "event": "checkout_started", "properties": {"cart_value": 50}}
        batch = {"batch": [{"type": "track", "userId": "ann", "event": "page_viewed"}, checkout]}
        assert (await stack.http.post("/v1/batch", json=batch)).status_code == 503
        assert count_rows(stack.store, events) == 1  # only the identify: the batch's unlistened event rolled back too

        # Events no journey listens to need no Temporal: still accepted.
        assert (await stack.track("ann", "page_viewed")).status_code == 200

        health = await stack.http.get("/healthz")
        assert health.status_code == 200
        assert health.json()["status"] == "degraded" and health.json()["temporal"] == "unreachable"


async def test_a_retry_after_503_is_applied_once(stack: Stack) -> None:
    await stack.deploy(compiled(QUICK_CART))
    await stack.identify("bob", email="bob@example.com", country="US")
    real = stack.spy.real

    class FailingOnce:
        """Temporal takes the start, then the answer is lost: the API must refuse and roll back."""

        def execute(self, calls: Sequence[TemporalCall]) -> list[bool]:
            real.execute(calls)
            raise TemporalUnavailable("Temporal did not answer in time")

    stack.app.state.runtime.router.gateway = FailingOnce()
    failed = await stack.track("bob", "checkout_started", message_id="m-1", cart_value=50)
    assert failed.status_code == 503 and count_rows(stack.store, events, message_id="m-1") == 0
    stack.app.state.runtime.router.gateway = stack.spy
    retried = await stack.track("bob", "checkout_started", message_id="m-1", cart_value=50)
    assert retried.status_code == 200, retried.text
    (enrollment_id,) = retried.json()["enrolled"]  # the same id as the start Temporal took: it is reused, not doubled
    assert count_rows(stack.store, enrollments) == 1 and count_rows(stack.store, events, message_id="m-1") == 1
    description = await stack.temporal.get_workflow_handle(enrollment_id).describe()
    assert description.status == WorkflowExecutionStatus.RUNNING


async def test_running_enrollments_show_no_step_when_temporal_does_not_answer(tmp_path: Path, temporal: Client) -> None:
    async with open_stack(tmp_path, temporal, connect=unreachable_temporal, worker=False) as stack:
        await stack.identify("cy", email="cy@example.com")
        with stack.store.session() as session:
            session.start_enrollment("quick_cart-x-1", "quick_cart", "v1", "cy", datetime.now(UTC))
        (journey,) = await stack.journeys("cy")
        assert journey["status"] == "running" and journey["current_step"] is None


async def test_while_temporal_is_unreachable_calls_fail_fast_until_it_answers_again(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """While Temporal is down, refused calls must not each hold the customer's lock for a whole timeout; once its health
    check answers again, calls go to Temporal again. One line says the outage began, one that it ended."""
    client = await unreachable_temporal()
    gateway = LoopGateway(client, asyncio.get_running_loop(), task_queue="q", timeout=timedelta(seconds=2))
    call = SignalCall("ann", "some-enrollment", EventMessage("m-1", "email_opened"))
    with caplog.at_level(logging.WARNING, logger="orchestrator.routing.outage"):
        with pytest.raises(TemporalUnavailable) as first:
            await asyncio.to_thread(gateway.execute, [call])
        assert "has been unreachable" not in str(first.value)
        await asyncio.sleep(PROBE_SECONDS * 2.5)  # the probe keeps finding it down
        with pytest.raises(TemporalUnavailable, match="has been unreachable for"):
            await asyncio.to_thread(gateway.execute, [call])

        async def healthy(**_: object) -> bool:
            return True

        monkeypatch.setattr(client.service_client, "check_health", healthy)  # Temporal is back
        for _ in range(50):
            if gateway.outage.seconds() is None:
                break
            await asyncio.sleep(PROBE_SECONDS / 10)
        assert gateway.outage.seconds() is None
        with pytest.raises(TemporalUnavailable) as later:
            await asyncio.to_thread(gateway.execute, [call])
        assert "has been unreachable" not in str(later.value)  # tried Temporal again (really down: a new outage)
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 3 and "is unreachable" in messages[0] and "answers again" in messages[1] and "is unreachable" in messages[2]
    for _ in range(50):  # the third outage's probe ends (health still patched) before the loop goes on to other tests
        if gateway.outage.seconds() is None:
            break
        await asyncio.sleep(PROBE_SECONDS / 10)


async def test_a_lease_older_than_any_call_is_orphaned_and_answered_at_once_with_its_remaining_time(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    await stack.identify("dot", email="dot@example.com", country="US")
    await stack.deploy(compiled(QUICK_CART))
    pauses: list[float] = []
    monkeypatch.setattr(routing, "time", SimpleNamespace(monotonic=time.monotonic, sleep=pauses.append))  # the router's waits
    taken = datetime.now(UTC) - routing.LEASE_WAIT - timedelta(seconds=5)  # a process that died 20 s ago, mid-call
    with stack.store.session() as session:
        assert session.take_leases(["dot"], "a-dead-process", taken, taken + routing.LEASE_TTL)
    answer = await stack.track("dot", "checkout_started", message_id="m-orphan", cart_value=50)
    assert answer.status_code == 503 and answer.json()["error"] == "customer_busy", answer.text
    assert 35 <= int(answer.headers["Retry-After"]) <= 41  # the 60 s lease has about 40 s left
    assert pauses == []  # answered at once, not after the 15 s a live holder is waited for
    with stack.store.session() as session:
        session.release_leases(["dot"], "a-dead-process")


async def test_a_customer_whose_lease_another_process_holds_is_answered_503_and_nothing_is_recorded(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    await stack.deploy(compiled(QUICK_CART))
    await stack.identify("cid", email="cid@example.com", country="US")
    monkeypatch.setattr(routing, "LEASE_WAIT", timedelta(milliseconds=200))  # instead of 15 s
    now = datetime.now(UTC)
    with stack.store.session() as session:
        assert session.take_leases(["cid"], "another-api-process", now, now + timedelta(minutes=1))
    answer = await stack.track("cid", "checkout_started", message_id="m-busy", cart_value=50)
    assert answer.status_code == 503 and answer.json()["error"] == "customer_busy", answer.text
    assert 55 <= int(answer.headers["Retry-After"]) <= 60  # until the lease in the way runs out
    assert count_rows(stack.store, events, message_id="m-busy") == 0 and count_rows(stack.store, enrollments) == 0
    with stack.store.session() as session:
        session.release_leases(["cid"], "another-api-process")
    assert (await stack.track("cid", "checkout_started", message_id="m-busy", cart_value=50)).status_code == 200


async def test_a_pool_with_every_connection_busy_is_answered_503_not_500(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    def exhausted(*_: object, **__: object) -> None:
        raise PoolTimeout("QueuePool limit of size 10 overflow 20 reached, connection timed out, timeout 30.00")

    monkeypatch.setattr(stack.app.state.runtime.router, "track", exhausted)
    answer = await stack.track("eve", "page_viewed")
    assert answer.status_code == 503 and answer.json()["error"] == "database_unavailable", answer.text
    assert answer.headers["Retry-After"] == "5"
