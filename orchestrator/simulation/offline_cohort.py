"""Run a cohort offline: the cohort scheduler (orchestrator/runtime/cohort.py) under the offline runner's discrete-event clock.

The members are the customers a broadcast page enrolls at one instant; the scheduler runs each one's
interpreter core in lockstep and batches their calls, as the cohort workflow does, and each call is
answered by that member's `OfflineCustomer`, as a single offline run answers it (offline.py). The clock
keeps offline.py's rules for every member: activities take no time, a member's event reaches it at its
instant (at a tie with its deadline the event comes first), and a member whose next event or deadline
lies past its own `until` stops there, `waiting`. So each member's run is the one `run_offline` gives it
alone: tests/simulation/test_cohort_offline.py holds every example journey's cases to that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from activities.delivery_gate import DeliveryPolicy, PastSend
from orchestrator import ir
from orchestrator.host.settings import SimulationSettings
from orchestrator.personalization.unsubscribe import UnsubscribeConfig
from orchestrator.runtime.cohort import CallBatch, Cohort, ContinueCohort, Round, Sleep
from orchestrator.runtime.cohort_contracts import CohortInput, CohortMember
from orchestrator.runtime.contracts import INTERPRETER_REVISION
from orchestrator.simulation.offline import (
    OfflineClock,
    OfflineRun,
    RecordedEvent,
    finished_run,
    listened_events,
    offline_customer,
    offline_enrollment_id,
)
from orchestrator.simulation.offline_answers import OfflineCustomer
from orchestrator.simulation.offline_simulator import PreparedEntry, prepare_entry
from orchestrator.simulation.recorded_profile import RecordedProfile
from orchestrator.simulation.script import SimulatedCustomer
from orchestrator.simulation.timeline import Timeline, iso


@dataclass(frozen=True)
class OfflineMember:
    """One customer of an offline cohort: `run_offline`'s per-customer arguments."""

    customer_id: str
    profile: RecordedProfile
    trigger: RecordedEvent | None
    events: Sequence[RecordedEvent]
    """The customer's tracked events after the entry, oldest first; those the journey does not listen to are passed over."""
    until: datetime
    past_sends: Sequence[PastSend] = ()
    enrollment_id: str | None = None


class _Member:
    """A member's world during the run: its customer's answers, its events still to come, where it stopped."""

    def __init__(self, journey: ir.Journey, member: OfflineMember, customer: OfflineCustomer) -> None:
        self.given = member
        self.enrollment_id = member.enrollment_id or offline_enrollment_id(journey, member.customer_id)
        self.customer = customer
        self.pending = listened_events(journey, member.events)
        self.stopped_at: datetime | None = None

    def arrival(self) -> datetime | None:
        return self.pending[0].at if self.pending else None


def run_offline_cohort(
    journey: ir.Journey,
    members: Sequence[OfflineMember],
    *,
    entered_at: datetime,
    policy: DeliveryPolicy | None = None,
    unsubscribe: UnsubscribeConfig | None = None,
    secrets: Mapping[str, str] | None = None,
) -> list[OfflineRun]:
    """Run `journey` for every member as one cohort entered at `entered_at`; each member's run, in the members' order."""
    world = [
        _Member(journey, m, offline_customer(m.customer_id, m.profile, policy, m.past_sends, unsubscribe, secrets)) for m in members
    ]
    by_id = {member.enrollment_id: member for member in world}
    clock = OfflineClock(entered_at)
    entries = [CohortMember(m.given.customer_id, m.enrollment_id, m.given.trigger.message() if m.given.trigger else None) for m in world]
    start = CohortInput({}, "offline-cohort", entries, revision=INTERPRETER_REVISION, upsert_search_attributes=False)
    cohort = Cohort(start, clock, journey)

    def deliver_due() -> None:
        for member in world:
            while member.pending and member.pending[0].at <= clock.at:
                cohort.receive(member.enrollment_id, member.pending.pop(0).message())

    deliver_due()
    steps = cohort.run()
    answer: Any = None
    while True:
        try:
            command = steps.send(answer)
        except StopIteration:
            break
        answer = None
        match command:
            case Round(calls=calls):
                answer = {batch.activity: _answers(batch, by_id, clock.at) for batch in calls}
            case Sleep():
                _sleep(cohort, by_id, clock)
                deliver_due()
            case ContinueCohort():
                raise RuntimeError("an offline cohort never continues as new")
    steps.close()
    runs = []
    for member in world:
        ended = cohort.finished(member.enrollment_id)
        at = member.stopped_at or clock.at
        runs.append(finished_run(journey, member.customer, cohort.state(member.enrollment_id), entered_at, ended, at))
    return runs


def _answers(batch: CallBatch, members: dict[str, _Member], at: datetime) -> list[Any]:
    """Each member's customer answers its own request, as in a lone run."""
    return [members[m].customer.answer(batch.activity, request, at) for m, request in zip(batch.members, batch.requests, strict=True)]


def _sleep(cohort: Cohort, members: dict[str, _Member], clock: OfflineClock) -> None:
    """Move the clock to the next instant a blocked member is due (its deadline or its next event), stopping those
    whose next instant lies past their `until`, as `run_offline` stops a lone run."""
    due: list[datetime] = []
    for enrollment_id, deadline in cohort.waiting().items():
        member = members[enrollment_id]
        instants = [at for at in (deadline, member.arrival()) if at is not None]
        if not instants or min(instants) > member.given.until:
            cohort.stop(enrollment_id)
            member.stopped_at = member.given.until
            continue
        due.append(min(instants))
    if due:
        clock.at = max(clock.at, min(due))


def simulate_offline_cohort(
    journey: ir.Journey, cases: Sequence[SimulatedCustomer], start: datetime, settings: SimulationSettings | None = None
) -> list[Timeline]:
    """`simulate_offline`'s timelines for many customers run as one cohort from `start`, in the cases' order.

    The customers who enter must enter at one instant (a broadcast page's); those who never enter get
    their `not_entered` timeline. A trait a profile refuses raises ProfileFieldError.
    """
    settings = settings or SimulationSettings()
    entries = [prepare_entry(journey, case.customer, case.events, start, case.horizon) for case in cases]
    entered = [entry for entry in entries if isinstance(entry, PreparedEntry)]
    instants = {entry.entered_at for entry in entered}
    if len(instants) > 1:
        raise ValueError(f"a cohort's members enter together; these enter at {sorted(iso(at) for at in instants)}")
    if not entered:
        return [entry for entry in entries if isinstance(entry, Timeline)]
    members = [OfflineMember(e.customer_id, e.profile, e.trigger, e.events, e.until) for e in entered]
    runs = iter(
        run_offline_cohort(journey, members, entered_at=instants.pop(), policy=settings.policy, unsubscribe=settings.unsubscribe)
    )
    return [entry.shown(next(runs)) if isinstance(entry, PreparedEntry) else entry for entry in entries]
