"""The broadcast's activities: enroll one page of the profile table into a cohort, and cancel a run's cohorts.

The workflow that calls them, and the reasons for pages, are in
orchestrator/runtime/broadcast.py. Enrolling goes through the same Router the API
uses (`enroll_page`), so a broadcast admits exactly the customers the journey's entry rules
(orchestrator/routing/entry.py: the audience and re-entry) admit. The page also keeps the
run's record (orchestrator/store/broadcasts.py): written with the first page, its cursor
moved after each, so that the run's progress can be read from the store.
"""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity

from orchestrator import ir
from orchestrator.routing.broadcast_cancel import CohortSignals, cancel_run
from orchestrator.routing.router import Router
from orchestrator.runtime.broadcast import BroadcastCancel, BroadcastPage, BroadcastPageResult
from orchestrator.store.broadcasts import UnknownBroadcast


class BroadcastActivities:
    """The page and cancel activities, bound to the Router that enrolls (its gateway calls Temporal) and to what signals
    the cohorts (the same gateway, in the worker)."""

    def __init__(self, router: Router, signals: CohortSignals) -> None:
        self.router = router
        self.signals = signals

    def activities(self) -> list[object]:
        """What the worker registers."""
        return [self.enroll_audience_page, self.cancel_broadcast_cohorts]

    @activity.defn(name="enroll_audience_page", no_thread_cancel_exception=True)
    def enroll_audience_page(self, page: BroadcastPage) -> BroadcastPageResult:
        router, store = self.router, self.router.store
        at = datetime.fromisoformat(page.at).astimezone(UTC)
        with store.read() as session:
            router.catalog.refresh(session)
            journey = next((j for j in router.catalog.active if j.id == page.journey_id), None)
            run = session.broadcast_run(page.run_key)
            customers = session.customer_ids(after=page.after, limit=page.limit) if journey else []
        if journey is None or not isinstance(journey.trigger, ir.ScheduleTrigger):
            return BroadcastPageResult(last=None, enrolled=0)  # undeployed since the schedule fired
        if run is not None and run.cancelled_at is not None:
            return BroadcastPageResult(last=None, enrolled=0, cancelled=True)
        if run is None:
            with store.session() as session:
                session.start_broadcast_run(page.run_key, journey.id, journey.version, at)
        activity.heartbeat()
        outcomes = router.enroll_page(journey, customers, at, page.run_key, page.page)
        activity.heartbeat()
        last = customers[-1] if customers else None
        with store.session() as session:
            session.broadcast_page_done(page.run_key, page.page, last, datetime.now(UTC))
        return BroadcastPageResult(last=last, enrolled=sum(len(outcome.enrolled) for outcome in outcomes))

    @activity.defn(name="cancel_broadcast_cohorts", no_thread_cancel_exception=True)
    def cancel_broadcast_cohorts(self, cancel: BroadcastCancel) -> int:
        """Note the run cancelled and signal `cancel` to every cohort it started; how many were still running."""
        try:
            return cancel_run(self.router.store, self.signals, cancel.run_key, datetime.now(UTC), signal_broadcast=False)
        except UnknownBroadcast:
            return 0  # cancelled before its first page: nothing was enrolled
