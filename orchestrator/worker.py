"""The Temporal worker that runs journey enrollments and their activities."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.worker import Worker

from activities.journey_activities import JourneyActivities
from orchestrator.runtime.workflow import JourneyWorkflow
from orchestrator.store import Store

DEFAULT_TASK_QUEUE = "journeys"


def build_worker(
    client: Client,
    store: Store,
    *,
    task_queue: str = DEFAULT_TASK_QUEUE,
    max_cached_workflows: int = 1000,
    activity_threads: int = 16,
) -> Worker:
    """A worker for JourneyWorkflow and every journey activity.

    `max_cached_workflows` bounds memory: thousands of enrollments asleep in a
    long wait need no cache entry; an evicted one is replayed from its history
    when its timer fires.
    """
    activities = JourneyActivities(store)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[JourneyWorkflow],
        activities=activities.activities(),
        activity_executor=ThreadPoolExecutor(activity_threads),
        max_cached_workflows=max_cached_workflows,
        max_concurrent_activities=activity_threads,
    )
