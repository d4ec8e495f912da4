"""Broadcast journeys: a Temporal Schedule fires, the audience is enrolled a page at a time into cohorts, once; a run can be
cancelled. The cohorts here are a stand-in (tests/host/fake_cohort.py) that records what it was started with."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.client import Client
from temporalio.testing import ActivityEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

import orchestrator.runtime.broadcast as broadcast_module
from activities.broadcast_activity import BroadcastActivities
from orchestrator import ir
from orchestrator.compiler import compile_text
from orchestrator.host.deployment import deploy
from orchestrator.routing.broadcast_cancel import cancel_run
from orchestrator.routing.calls import TrackCall
from orchestrator.routing.gateway import LoopGateway
from orchestrator.routing.router import Router
from orchestrator.runtime.broadcast import (
    BROADCAST_WORKFLOW,
    BroadcastInput,
    BroadcastPage,
    BroadcastPageResult,
    BroadcastResult,
    BroadcastWorkflow,
)
from orchestrator.runtime.ids import cohort_id
from orchestrator.store import Store
from orchestrator.store.broadcasts import BroadcastRun
from tests.host.fake_cohort import SEEN_QUERY, FakeCohort, Seen
from tests.keys import CUSTOMER_KEYS, HASH_SECRET

BROADCAST = """\
id: flash_sale
name: Flash sale
trigger:
  schedule: {{at: "{at}", timezone: UTC}}
entry: {{audience: "customer.country == 'US'", re_entry: always}}
steps:
  - id: announce
    send: {{channel: email, category: transactional, subject: "Flash sale, {{{{ customer.first_name }}}}", body: "Today only."}}
  - id: opened
    wait_for: {{event: email_opened, within: 2d}}
"""

CUSTOMERS = {
    "c-ann": {"first_name": "Ann", "country": "US", "email": "ann@example.com"},
    "c-bob": {"first_name": "Bob", "country": "US", "email": "bob@example.com"},
    "c-cho": {"first_name": "Cho", "country": "KR", "email": "cho@example.com"},
    "c-dee": {"first_name": "Dee", "country": "US", "email": "dee@example.com"},
    "c-eve": {"first_name": "Eve", "country": "FR", "email": "eve@example.com"},
}
AUDIENCE = {"c-ann", "c-bob", "c-dee"}


def broadcast_at(moment: datetime, tmp_path: Path) -> ir.Journey:
    result = compile_text(BROADCAST.format(at=moment.strftime("%Y-%m-%dT%H:%M:%S")), file="flash_sale.yaml", directory=tmp_path)
    assert result.journey is not None, result.diagnostics
    return result.journey


def identify_all(store: Store) -> None:
    with store.session() as session:
        for customer_id, traits in CUSTOMERS.items():
            session.identify(customer_id, traits, datetime.now(UTC))


@asynccontextmanager
async def broadcast_worker(
    temporal: Client, store: Store, queue: str, page: Callable[[BroadcastActivities], object] | None = None, *, sandboxed: bool = False
) -> AsyncIterator[Router]:
    """BroadcastWorkflow and the stand-in cohort, with the broadcast's activities; `page` may replace the page activity
    (registered under the same name). `sandboxed`: in Temporal's sandbox, where a non-deterministic call fails (and
    which imports the workflow's module afresh: a test's patch of PAGE_SIZE is not seen there)."""
    gateway = LoopGateway(temporal, asyncio.get_running_loop(), task_queue=queue)
    router = Router(store, gateway, hash_secret=HASH_SECRET)
    activities = BroadcastActivities(router, gateway)
    registered = [page(activities), activities.cancel_broadcast_cohorts] if page else activities.activities()
    with ThreadPoolExecutor(4) as executor:
        async with Worker(
            temporal,
            task_queue=queue,
            workflows=[BroadcastWorkflow, FakeCohort],
            activities=registered,
            activity_executor=executor,
            workflow_runner=SandboxedWorkflowRunner() if sandboxed else UnsandboxedWorkflowRunner(),
        ):
            yield router


async def seen_by(temporal: Client, cohort: str) -> Seen:
    return await temporal.get_workflow_handle(cohort).query(SEEN_QUERY, result_type=Seen)


async def test_a_scheduled_broadcast_enrolls_exactly_its_audience_once_into_cohorts(tmp_path: Path, store: Store, temporal: Client) -> None:
    identify_all(store)
    fire_at = (datetime.now(UTC) + timedelta(seconds=2)).replace(microsecond=0)
    queue = f"broadcast-{uuid.uuid4()}"
    await deploy(store, temporal, [broadcast_at(fire_at, tmp_path)], task_queue=queue)
    async with broadcast_worker(temporal, store, queue, sandboxed=True):
        deadline = time.monotonic() + 30
        runs: list[str] = []
        while time.monotonic() < deadline and not runs:
            await asyncio.sleep(0.2)
            runs = await asyncio.to_thread(lambda: [r.run_key for r in _runs(store) if r.paged_at is not None])
        (run,) = runs
        (cohort,) = await asyncio.to_thread(lambda: _cohorts(store, run))
        seen = await seen_by(temporal, cohort)
    assert cohort == cohort_id("flash_sale", run, 0) and seen.run_key == run
    assert sorted(seen.members) == sorted(AUDIENCE)
    with store.read() as session:
        assert all(len(session.enrollments_for(c)) == (1 if c in AUDIENCE else 0) for c in CUSTOMERS)
        progress = session.broadcast_progress(run)
    assert progress is not None
    assert (progress.state, progress.enrolled, progress.remaining, progress.profiles_to_read) == ("running", 3, 3, 0)


async def test_pages_are_numbered_across_the_run_and_an_event_reaches_a_member_through_its_cohort(
    tmp_path: Path, store: Store, temporal: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    identify_all(store)
    monkeypatch.setattr(broadcast_module, "PAGE_SIZE", 2)  # c-ann c-bob | c-cho c-dee | c-eve | (none)
    queue = f"broadcast-{uuid.uuid4()}"
    await deploy(store, None, [broadcast_at(datetime.now(UTC) + timedelta(days=30), tmp_path)], task_queue=queue)
    async with broadcast_worker(temporal, store, queue) as router:
        result = await temporal.execute_workflow(
            BROADCAST_WORKFLOW, BroadcastInput("flash_sale"), id="run-pages", task_queue=queue, result_type=BroadcastResult
        )
        opened = TrackCall("c-dee", "email_opened", {}, "open-1", datetime.now(UTC), datetime.now(UTC))
        outcome = await asyncio.to_thread(router.track, opened)
        second = await seen_by(temporal, cohort_id("flash_sale", "run-pages", 1))
    assert result.enrolled == 3 and not result.cancelled
    assert _cohorts(store, "run-pages") == [cohort_id("flash_sale", "run-pages", 0), cohort_id("flash_sale", "run-pages", 1)]
    dee = CUSTOMER_KEYS.enrollment_id("flash_sale", "c-dee", 1)
    assert second.members == ["c-dee"] and outcome.signalled == [dee] and second.events == [f"{dee}:email_opened"]
    (run,) = _runs(store)
    assert (run.pages, run.last_customer) == (4, "c-eve")


async def test_a_cancel_while_paging_stops_the_run_and_cancels_every_cohort_it_started(
    tmp_path: Path, store: Store, temporal: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    identify_all(store)
    monkeypatch.setattr(broadcast_module, "PAGE_SIZE", 2)
    queue = f"broadcast-{uuid.uuid4()}"
    await deploy(store, None, [broadcast_at(datetime.now(UTC) + timedelta(days=30), tmp_path)], task_queue=queue)

    def cancelled_before_second_page(real: BroadcastActivities) -> object:
        @activity.defn(name="enroll_audience_page")
        def page(request: BroadcastPage) -> BroadcastPageResult:
            if request.page == 1:  # the marketer cancels while the second page is read, as the API does
                cancel_run(store, real.signals, request.run_key, datetime.now(UTC))
            return real.enroll_audience_page(request)

        return page

    async with broadcast_worker(temporal, store, queue, cancelled_before_second_page):
        result = await temporal.execute_workflow(
            BROADCAST_WORKFLOW, BroadcastInput("flash_sale"), id="run-cancelled", task_queue=queue, result_type=BroadcastResult
        )
        first = await temporal.get_workflow_handle(cohort_id("flash_sale", "run-cancelled", 0), result_type=Seen).result()
    assert result.cancelled and result.enrolled == 2
    assert sorted(first.members) == ["c-ann", "c-bob"] and first.cancelled[0] == "broadcast cancelled"
    assert _cohorts(store, "run-cancelled") == [cohort_id("flash_sale", "run-cancelled", 0)]  # nothing enrolled after the cancel
    with store.read() as session:
        progress = session.broadcast_progress("run-cancelled")
        assert session.enrollments_for("c-dee") == []
    assert progress is not None and (progress.state, progress.enrolled, progress.profiles_to_read) == ("cancelled", 2, 0)


async def test_a_retried_broadcast_page_enrolls_nobody_twice(tmp_path: Path, store: Store, temporal: Client) -> None:
    identify_all(store)
    journey = broadcast_at(datetime.now(UTC) + timedelta(days=30), tmp_path)
    queue = f"broadcast-{uuid.uuid4()}"
    await deploy(store, None, [journey], task_queue=queue)
    gateway = LoopGateway(temporal, asyncio.get_running_loop(), task_queue=queue)
    router = Router(store, gateway, hash_secret=HASH_SECRET)
    page = BroadcastPage("flash_sale", "run-1", None, 500, datetime.now(UTC).isoformat())
    pages = BroadcastActivities(router, gateway)
    env = ActivityEnvironment()
    first = await asyncio.to_thread(env.run, pages.enroll_audience_page, page)
    assert first.enrolled == len(AUDIENCE) and first.last == max(CUSTOMERS)
    retried = await asyncio.to_thread(env.run, pages.enroll_audience_page, page)
    assert retried.enrolled == 0
    next_run = await asyncio.to_thread(env.run, pages.enroll_audience_page, BroadcastPage("flash_sale", "run-2", None, 2, page.at))
    # A later firing is a new broadcast; re_entry: always lets it in, but the first enrollments are still running.
    assert next_run.last == "c-bob" and next_run.enrolled == 0
    with store.session() as session:
        assert sum(len(session.enrollments_for(c)) for c in CUSTOMERS) == len(AUDIENCE)
        assert session.cohort_ids("run-1") == [cohort_id("flash_sale", "run-1", 0)] and session.cohort_ids("run-2") == []


def _runs(store: Store) -> list[BroadcastRun]:
    with store.read() as session:
        return session.broadcast_runs("flash_sale")


def _cohorts(store: Store, run: str) -> list[str]:
    with store.read() as session:
        return session.cohort_ids(run)
