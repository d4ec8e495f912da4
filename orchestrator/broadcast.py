"""Broadcasts: journeys triggered by `schedule` (a cron in a zone, or one moment) enroll their whole audience.

Each such journey gets a Temporal Schedule `broadcast-<journey id>`. When it fires,
it starts a BroadcastWorkflow, which walks the profile table a page at a time in
an activity and enrolls every customer the journey's entry rules admit, through
the same Router the API uses. A page is idempotent: each enrollment is keyed by
the schedule run and the customer, so a retried page enrolls nobody twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    import orchestrator.ir as ir  # not `from orchestrator import ir`: that form re-executes the module in every workflow sandbox
    from orchestrator.routing import Router

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


class BroadcastActivities:
    """The page activity, bound to the Router that enrolls (its gateway calls Temporal)."""

    def __init__(self, router: Router) -> None:
        self.router = router

    @activity.defn(name="enroll_audience_page", no_thread_cancel_exception=True)
    def enroll_audience_page(self, page: BroadcastPage) -> BroadcastPageResult:
        router = self.router
        at = datetime.fromisoformat(page.at).astimezone(UTC)
        with router.store.read() as session:
            router.catalog.refresh(session)
            journey = next((j for j in router.catalog.active if j.id == page.journey_id), None)
            customers = session.customer_ids(after=page.after, limit=page.limit) if journey else []
        if journey is None or not isinstance(journey.trigger, ir.ScheduleTrigger):
            return BroadcastPageResult(last=None, enrolled=0)  # undeployed since the schedule fired
        enrolled = 0
        for customer_id in customers:
            activity.heartbeat(customer_id)
            outcome = router.enroll(journey, customer_id, at, message_id=f"broadcast:{page.run_key}:{customer_id}")
            enrolled += len(outcome.enrolled)
        return BroadcastPageResult(last=customers[-1] if customers else None, enrolled=enrolled)
