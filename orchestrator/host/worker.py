"""The Temporal worker that runs journey enrollments, broadcasts and their activities."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import py_compile
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from activities.broadcast_activity import BroadcastActivities
from activities.cohort_activities import CohortActivities
from activities.journey_activities import JourneyActivities
from activities.providers import ChannelProviders
from orchestrator.host.settings import DeliverySettings
from orchestrator.privacy.keyed_hash import HashSecret
from orchestrator.routing.gateway import LoopGateway
from orchestrator.routing.router import Router
from orchestrator.runtime.broadcast import BroadcastWorkflow
from orchestrator.runtime.cohort_workflow import JourneyCohort
from orchestrator.runtime.workflow import JourneyWorkflow
from orchestrator.store import Store

DEFAULT_TASK_QUEUE = "journeys"

log = logging.getLogger(__name__)


def build_worker(
    client: Client,
    store: Store,
    *,
    hash_secret: HashSecret,
    task_queue: str = DEFAULT_TASK_QUEUE,
    max_cached_workflows: int = 600,
    activity_threads: int = 16,
    search_attributes: bool = True,
    providers: ChannelProviders | None = None,
    delivery: DeliverySettings | None = None,
    sandboxed: bool = False,
    graceful_shutdown: timedelta = timedelta(0),
) -> Worker:
    """A worker for JourneyWorkflow, BroadcastWorkflow, JourneyCohort and every activity they call.

    Call it from the event loop the worker will run on: broadcast pages enroll
    customers through a Router whose Temporal calls are handed to that loop, keying
    the enrollments' ids with `hash_secret` (the API's must be the same).
    `max_cached_workflows` bounds memory: thousands of enrollments asleep in a
    long wait need no cache entry; an evicted one is replayed from its history
    when its timer fires. `providers` deliver the sends (default: the sandbox for every
    channel) and `delivery` holds the daily cap, the send retry window, the unsubscribe key
    and the webhook secrets (default: `DeliverySettings()`); `journey worker` and `journey dev`
    pass what they read from the environment when they started. `graceful_shutdown`: how long a stopping worker lets
    its activities in flight finish before cancelling them (JOURNEY_SHUTDOWN_GRACE for `journey worker`).

    The workflows run outside Temporal's workflow sandbox unless `sandboxed`. The sandbox
    guards hand-written workflow code against non-determinism by re-importing its module
    for every workflow and proxying what it touches; here the only workflows are the
    interpreter and the broadcast, this project's own code, and marketers write YAML, not
    Python. The guard stays where it pays: the replay tests (tests/histories/), `journey
    simulate` and `journey test` and the runtime tests run the interpreter in the sandbox,
    and the broadcast test both workflows, so a non-deterministic call fails CI. Unsandboxed, an enrollment costs the worker no
    module import and no per-workflow module copy (bench/enrollments.py and bench/sleepers.py measure both).
    """
    if sandboxed:
        cache_workflow_bytecode()
    gateway = LoopGateway(client, asyncio.get_running_loop(), task_queue=task_queue, search_attributes=search_attributes)
    delivery = delivery or DeliverySettings()
    journey_activities = JourneyActivities(
        store, providers=providers, policy=delivery.policy, unsubscribe=delivery.unsubscribe, secrets=delivery.secrets
    )
    broadcast_activities = BroadcastActivities(Router(store, gateway, hash_secret=hash_secret), gateway)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[JourneyWorkflow, BroadcastWorkflow, JourneyCohort],
        activities=[
            *journey_activities.activities(),
            *CohortActivities(journey_activities).activities(),
            *broadcast_activities.activities(),
        ],
        activity_executor=ThreadPoolExecutor(activity_threads),
        max_cached_workflows=max_cached_workflows,
        max_concurrent_activities=activity_threads,
        graceful_shutdown_timeout=graceful_shutdown,
        workflow_runner=SandboxedWorkflowRunner() if sandboxed else UnsandboxedWorkflowRunner(),
    )


def cache_workflow_bytecode() -> None:
    """Write the bytecode of the workflow modules to `__pycache__`, even where PYTHONDONTWRITEBYTECODE is set.

    Temporal's sandbox imports a workflow's module afresh for every new workflow instance. With no
    bytecode cached (containers often set PYTHONDONTWRITEBYTECODE) each import compiles the source
    again, a visible share of the worker's CPU (bench/enrollments.py). Reading cached bytecode is
    allowed either way, so writing it once at start is enough. A read-only install is left as is.
    """
    for name in (JourneyWorkflow.__module__, BroadcastWorkflow.__module__, JourneyCohort.__module__):
        source = sys.modules[name].__file__
        if source is None or not source.endswith(".py"):
            continue
        try:
            py_compile.compile(source, cfile=importlib.util.cache_from_source(source), doraise=True)
        except (OSError, py_compile.PyCompileError) as exc:
            log.info("could not cache the bytecode of %s (%s): the workflow sandbox compiles it for each new workflow", source, exc)
