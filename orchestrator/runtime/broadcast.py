"""Broadcasts: journeys triggered by `schedule` (a cron in a zone, or one moment) enroll their whole audience.

Each such journey gets a Temporal Schedule `broadcast-<journey id>`. When it fires,
it starts a BroadcastWorkflow, which walks the profile table a page at a time in
an activity (activities/broadcast_activity.py): each page's customers the journey's
entry rules admit are enrolled through the same Router the API uses, together, into
one cohort (one JourneyCohort workflow runs them all, orchestrator/routing/router.py,
`enroll_page`). A page is idempotent: its entry decisions are recorded under
message ids of the run and the customer, and its cohort's id is one of the journey,
the run and the page number, so a retried page enrolls nobody twice and starts
nothing twice. The page number goes on across continue-as-new.

The `cancel` signal stops the paging after the page in flight, and the run signals
every cohort it started `cancel` (an activity: the cohorts end their members as
"broadcast cancelled", sending nothing more). `POST /v1/broadcasts/{run_id}/cancel`
and `journey broadcast cancel` send it, and cancel the cohorts themselves too, so a
run whose paging is over is cancelled all the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    pass  # not `from orchestrator import ir`: that form re-executes the module in every workflow sandbox

BROADCAST_WORKFLOW = "JourneyBroadcast"
BROADCAST_CANCEL_SIGNAL = "cancel"
PAGE_SIZE = 500
"""Customers read per page, and so at most the members of one cohort."""
PAGE_HEARTBEAT = timedelta(seconds=60)
"""Far more than a page's enrolment takes (its decisions in two short transactions, one Temporal call)."""
PAGES_PER_RUN = 200
"""Continue-as-new after this many pages (100,000 profiles), keeping each run's history small."""
_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))


@dataclass
class BroadcastInput:
    journey_id: str
    run_key: str = ""
    """Empty on the first run: the workflow id of the scheduled action (unique per firing) is used."""
    after: str | None = None
    """Resume after this customer id (continue-as-new)."""
    enrolled: int = 0
    page: int = 0
    """The number of the next page (continue-as-new): part of its cohort's id."""
    cancelled: bool = False
    """Cancelled while the previous run continued as new."""


@dataclass
class BroadcastPage:
    journey_id: str
    run_key: str
    after: str | None
    limit: int
    at: str
    page: int = 0
    """The page's number in the run, from 0."""


@dataclass
class BroadcastPageResult:
    last: str | None
    """The last customer id read; None when there were no more profiles (or the run was cancelled)."""
    enrolled: int
    cancelled: bool = False
    """The run was cancelled (in the store) before this page: nothing was enrolled, stop paging."""


@dataclass
class BroadcastCancel:
    journey_id: str
    run_key: str
    at: str


@dataclass
class BroadcastResult:
    journey_id: str
    enrolled: int
    cancelled: bool = False


@workflow.defn(name=BROADCAST_WORKFLOW)
class BroadcastWorkflow:
    def __init__(self) -> None:
        self._cancelled = False

    @workflow.signal(name=BROADCAST_CANCEL_SIGNAL)
    def cancel(self) -> None:
        """Stop paging after the page in flight, and cancel the cohorts started."""
        self._cancelled = True

    @workflow.run
    async def run(self, start: BroadcastInput) -> BroadcastResult:
        run_key = start.run_key or workflow.info().workflow_id
        after, enrolled, number = start.after, start.enrolled, start.page
        self._cancelled = self._cancelled or start.cancelled
        for _ in range(PAGES_PER_RUN):
            if self._cancelled:
                return await self._cancel_cohorts(start.journey_id, run_key, enrolled)
            page = await workflow.execute_activity(
                "enroll_audience_page",
                BroadcastPage(start.journey_id, run_key, after, PAGE_SIZE, workflow.now().isoformat(), number),
                result_type=BroadcastPageResult,
                start_to_close_timeout=timedelta(minutes=10),
                # A page heartbeats as it starts and as it ends; a worker lost in between is noticed within this.
                heartbeat_timeout=PAGE_HEARTBEAT,
                retry_policy=_RETRY,
            )
            enrolled += page.enrolled
            number += 1
            if page.cancelled:
                self._cancelled = True
                continue
            if page.last is None:
                return BroadcastResult(start.journey_id, enrolled)
            after = page.last
        workflow.continue_as_new(BroadcastInput(start.journey_id, run_key, after, enrolled, number, self._cancelled))

    async def _cancel_cohorts(self, journey_id: str, run_key: str, enrolled: int) -> BroadcastResult:
        await workflow.execute_activity(
            "cancel_broadcast_cohorts",
            BroadcastCancel(journey_id, run_key, workflow.now().isoformat()),
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=_RETRY,
        )
        return BroadcastResult(journey_id, enrolled, cancelled=True)
