"""A stand-in for the JourneyCohort workflow, registered under its name: it records what it was started with and the
signals it gets, answers where its members are, and ends when cancelled. The broadcast, routing, API and erasure
tests check their side of the cohort contract with it."""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from orchestrator.runtime.cohort_contracts import (
        COHORT_CANCEL_SIGNAL,
        COHORT_WORKFLOW,
        FORGET_MEMBER_SIGNAL,
        MEMBER_EVENT_SIGNAL,
        MEMBER_STATUS_QUERY,
        CohortCancel,
        CohortInput,
        ForgetMember,
        MemberEvent,
    )
    from orchestrator.runtime.contracts import EnrollmentStatus

SEEN_QUERY = "seen"
MEMBERS_STEP = "cohort_step"
"""The step every member the stand-in still runs is at, as its `member_status` answers."""


@dataclass
class Seen:
    members: list[str] = field(default_factory=list)
    """The members' customer ids, in the order the start gave them."""
    run_key: str = ""
    events: list[str] = field(default_factory=list)
    """`<enrollment id>:<event name>` of each member_event."""
    cancelled: list[str] = field(default_factory=list)
    """The reason of each cancel."""
    forgotten: list[str] = field(default_factory=list)
    """The enrollment id of each forget_member."""


@workflow.defn(name=COHORT_WORKFLOW)
class FakeCohort:
    def __init__(self) -> None:
        self.seen = Seen()
        self.running: set[str] = set()

    @workflow.run
    async def run(self, start: CohortInput) -> Seen:
        self.seen.members = [member.customer_id for member in start.members]
        self.seen.run_key = start.run_key
        self.running = {member.enrollment_id for member in start.members}
        await workflow.wait_condition(lambda: bool(self.seen.cancelled))
        return self.seen

    @workflow.signal(name=MEMBER_EVENT_SIGNAL)
    def member_event(self, event: MemberEvent) -> None:
        self.seen.events.append(f"{event.enrollment_id}:{event.event.name}")

    @workflow.signal(name=COHORT_CANCEL_SIGNAL)
    def cancel(self, cancel: CohortCancel) -> None:
        self.seen.cancelled.append(cancel.reason)

    @workflow.signal(name=FORGET_MEMBER_SIGNAL)
    def forget_member(self, forget: ForgetMember) -> None:
        self.seen.forgotten.append(forget.enrollment_id)
        self.running.discard(forget.enrollment_id)

    @workflow.query(name=MEMBER_STATUS_QUERY)
    def member_status(self, enrollment_id: str) -> EnrollmentStatus | None:
        """A member it still runs waits at MEMBERS_STEP; any other enrollment id is not its member (None)."""
        return EnrollmentStatus("running", MEMBERS_STEP, []) if enrollment_id in self.running else None

    @workflow.query(name=SEEN_QUERY)
    def query_seen(self) -> Seen:
        return self.seen
