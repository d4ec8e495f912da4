"""The broadcast's page activity: enroll one page of the profile table in a schedule-triggered journey.

The workflow that calls it, and the reasons for pages, are in
orchestrator/runtime/broadcast.py. Enrolling goes through the same Router the API
uses, so a broadcast admits exactly the customers the journey's entry rules
(orchestrator/routing/entry.py: the audience and re-entry) admit.
"""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity

from orchestrator import ir
from orchestrator.routing.router import Router
from orchestrator.runtime.broadcast import BroadcastPage, BroadcastPageResult


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
