"""Broadcasts: journeys triggered by `schedule` (a cron in a zone, or one moment) enroll their whole audience.

Each such journey gets a Temporal Schedule `broadcast-<journey id>`. When it fires,
it starts a BroadcastWorkflow, which walks the profile table a page at a time in
an activity (activities/broadcast_activity.py) and enrolls every customer the
journey's entry rules admit, through the same Router the API uses. A page is idempotent: each enrollment is keyed by
the schedule run and the customer, so a retried page enrolls nobody twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    pass  # not `from orchestrator import ir`: that form re-executes the module in every workflow sandbox

BROADCAST_WORKFLOW = "JourneyBroadcast"
PAGE_SIZE = 500
PAGES_PER_RUN = 200
"""Continue-as-new after this many pages (100,000 profiles), keeping each run's history small."""


@dataclass
class BroadcastInput:
    journey_id: str
    run_key: str = ""
    """Empty on the first run: the workflow id of the scheduled action (unique per firing) is used."""
    after: str | None = None
    """Resume after this customer id (continue-as-new)."""
    enrolled: int = 0


@dataclass
class BroadcastPage:
    journey_id: str
    run_key: str
    after: str | None
    limit: int
    at: str


@dataclass
class BroadcastPageResult:
    last: str | None
    """The last customer id read; None when there were no more profiles."""
    enrolled: int


@dataclass
class BroadcastResult:
    journey_id: str
    enrolled: int


@workflow.defn(name=BROADCAST_WORKFLOW)
class BroadcastWorkflow:
    @workflow.run
    async def run(self, start: BroadcastInput) -> BroadcastResult:
        run_key = start.run_key or workflow.info().workflow_id
        after, enrolled = start.after, start.enrolled
        for _ in range(PAGES_PER_RUN):
            page = await workflow.execute_activity(
                "enroll_audience_page",
                BroadcastPage(start.journey_id, run_key, after, PAGE_SIZE, workflow.now().isoformat()),
                result_type=BroadcastPageResult,
                start_to_close_timeout=timedelta(minutes=10),
                retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)),
            )
            enrolled += page.enrolled
            if page.last is None:
                return BroadcastResult(start.journey_id, enrolled)
            after = page.last
        workflow.continue_as_new(BroadcastInput(start.journey_id, run_key, after, enrolled))
