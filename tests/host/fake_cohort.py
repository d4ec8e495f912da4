"""A stand-in for the JourneyCohort workflow, registered under its name: it records what it was started with and the
signals it gets, and ends when cancelled. The broadcast and routing tests check their side of the cohort contract with it."""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from orchestrator.runtime.contracts import (
        COHORT_CANCEL_SIGNAL,
        COHORT_WORKFLOW,
        MEMBER_EVENT_SIGNAL,
        CohortCancel,
        CohortInput,
        MemberEvent,
    )

SEEN_QUERY = "seen"


@dataclass
class Seen:
    members: list[str] = field(default_factory=list)
    """The members' customer ids, in the order the start gave them."""
    run_key: str = ""
    events: list[str] = field(default_factory=list)
    """`<enrollment id>:<event name>` of each member_event."""
    cancelled: list[str] = field(default_factory=list)
    """The reason of each cancel."""


@workflow.defn(name=COHORT_WORKFLOW)
class FakeCohort:
    def __init__(self) -> None:
        self.seen = Seen()

    @workflow.run
    async def run(self, start: CohortInput) -> Seen:
        self.seen.members = [member.customer_id for member in start.members]
        self.seen.run_key = start.run_key
        await workflow.wait_condition(lambda: bool(self.seen.cancelled))
        return self.seen

    @workflow.signal(name=MEMBER_EVENT_SIGNAL)
    def member_event(self, event: MemberEvent) -> None:
        self.seen.events.append(f"{event.enrollment_id}:{event.event.name}")

    @workflow.signal(name=COHORT_CANCEL_SIGNAL)
    def cancel(self, cancel: CohortCancel) -> None:
        self.seen.cancelled.append(cancel.reason)

    @workflow.query(name=SEEN_QUERY)
    def query_seen(self) -> Seen:
        return self.seen
