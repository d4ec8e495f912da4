"""A cohort: many enrollments of one journey version run in lockstep over the interpreter's core, their commands batched.

A broadcast page (up to 500 customers) runs in one workflow, not one per customer. Each member is
an ordinary `Interpreter` (interpreter.py) with its own `EnrollmentState`, so every decision is the
one a single enrollment makes; this scheduler only decides *when* each member's commands are carried
out, and groups them. It is pure and deterministic, a generator of cohort commands like the core is
one of enrollment commands, so the Temporal workflow (cohort_workflow.py) and the offline runner
(orchestrator/simulation/offline_cohort.py) host the same code:

- a round: every member that can go on is advanced until it yields a `Call`, a `Block`, a
  `ContinueAsNew` or its `Finish` (`Entered` is a no-op here, `Report`s are collected); the round's
  calls are grouped by activity, its reports and finishes likewise, and carried out together
  (`Round`), each member then sent its own answer;
- a blocked member has a deadline (the host's clock plus its `Block`'s seconds: members blocked
  in the same round share the instant) or none; the cohort sleeps once, to the earliest deadline
  (`Sleep`), and the host wakes it early when a member gets an event or the cohort is cancelled.
  Then a member with news (an event in its inbox, the cancel mark) is answered True, one whose
  deadline passed False; a True without news is harmless to the core, which blocks again;
- members diverge by themselves (branches, splits, local-time waits, wait_for, their own events):
  they yield different commands and deadlines;
- continue-as-new: once the host says the history is long, members are answered `history_is_long`
  True and blocked ones are woken once, so each yields `ContinueAsNew` at its next safe point and is
  *parked* with its `ResumeState`. When every live member is parked the cohort continues as new
  with them (`ContinueCohort`). A parked member due before that (its resume is not in a wait, its
  wait has ended, an event came for it, the cohort was cancelled) is restarted in place from its
  resume, exactly as a new run would start it;
- cancel marks every member's state; the core ends each as `exited` where it next applies events.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import orchestrator.ir as ir
from orchestrator.runtime.cohort_contracts import CohortInput, CohortMember
from orchestrator.runtime.commands import Block, Call, Command, ContinueAsNew, Entered, Finish, Report
from orchestrator.runtime.contracts import (
    EnrollmentInput,
    EnrollmentStatus,
    EventMessage,
    FinishRequest,
    ProgressRequest,
    ResumeState,
)
from orchestrator.runtime.enrollment_state import EnrollmentState
from orchestrator.runtime.interpreter import Interpreter


class CohortHost(Protocol):
    """What the scheduler asks of whoever runs it, besides its commands' answers."""

    def now(self) -> datetime:
        """The journey's clock."""

    def history_is_long(self) -> bool:
        """Whether the cohort's history is long enough to continue as new."""

    def note(self, message: str) -> None:
        """Tell the operator something that changes nothing; ids only, never personal data."""


@dataclass(frozen=True)
class CallBatch:
    """The calls of one activity in one round: `requests[i]` is member `members[i]`'s."""

    activity: str
    members: list[str]
    requests: list[Any]


@dataclass(frozen=True)
class Round:
    """One round's work, carried out in this order: the reports, the calls (answered per activity, in order), the finishes."""

    reports: list[ProgressRequest] = field(default_factory=list)
    calls: list[CallBatch] = field(default_factory=list)
    finishes: list[FinishRequest] = field(default_factory=list)


@dataclass(frozen=True)
class Sleep:
    """Wait until `until` (None: until woken), or until a member gets an event or the cohort is cancelled."""

    until: datetime | None


@dataclass(frozen=True)
class ContinueCohort:
    """Start a fresh run of the cohort with these members (never answered)."""

    members: list[CohortMember]


CohortCommand = Round | Sleep | ContinueCohort
"""What the scheduler yields; a `Round` is answered with each call batch's answers by activity, the rest with None."""


class _MemberHost:
    """A member's core asks the cohort for the clock and the history's length."""

    def __init__(self, cohort: Cohort) -> None:
        self._cohort = cohort

    def now(self) -> datetime:
        return self._cohort.host.now()

    def history_is_long(self, limit: int | None) -> bool:
        return self._cohort.is_long()

    def note(self, message: str) -> None:
        self._cohort.host.note(message)


@dataclass
class _Member:
    """One enrollment of the cohort, and where it stands in the scheduler."""

    entry: CohortMember
    state: EnrollmentState
    steps: Generator[Command, Any, Any] | None = None
    runnable: bool = False
    """Ready to be advanced in the next round, with `answer` to send it."""
    answer: Any = None
    blocked: bool = False
    deadline: datetime | None = None
    parked: ResumeState | None = None
    """Waiting for the cohort to continue as new, from here; `state` is then the next run's, collecting its events."""
    finish: Finish | None = None
    stopped: bool = False
    """Left where it is by the host (an offline run's horizon): neither advanced nor carried on."""

    @property
    def live(self) -> bool:
        return self.finish is None and not self.stopped


class Cohort:
    """The scheduler of one cohort run; `run()` is its procedure, the other methods are for the host's signals and queries."""

    def __init__(self, start: CohortInput, host: CohortHost, journey: ir.Journey | None = None) -> None:
        """`journey`: the compiled journey of `start.journey`, when the host has it already."""
        self.host = host
        self._input = start
        self._journey = journey if journey is not None else ir.Journey.from_dict(start.journey)
        self._members = {entry.enrollment_id: _Member(entry, EnrollmentState()) for entry in start.members}
        self._member_host = _MemberHost(self)
        self._long = False
        self._shaken = False

    # --- what the host tells and asks -------------------------------------------------

    def receive(self, enrollment_id: str, event: EventMessage) -> bool:
        """Queue `event` for a member (applied by its core as a signal is); False when no live member has that id."""
        member = self._members.get(enrollment_id)
        if member is None or not member.live:
            return False
        if member.parked is not None and event.message_id in member.parked.seen:
            return True  # a re-delivery of an event the parked run had already
        member.state.receive(event)
        return True

    def cancel(self, reason: str) -> None:
        """Mark every live member cancelled: each ends where its core next applies events."""
        for member in self._members.values():
            if member.live:
                member.state.cancel(reason)

    def has_news(self) -> bool:
        """Whether a sleeping cohort should wake now: a blocked member has news, or a parked one is due."""
        now = self.host.now()
        return any(self._news(member) or self._due(member, now) for member in self._members.values() if member.live)

    def status(self, enrollment_id: str) -> EnrollmentStatus | None:
        """What the `member_status` query answers (None: no member of this run has that id)."""
        member = self._members.get(enrollment_id)
        if member is None:
            return None
        state = member.state
        if member.parked is not None:
            trail, awaited = member.parked.trail, member.parked.awaited
            return EnrollmentStatus("running", trail[-1].step if trail else None, list(trail), dict(awaited))
        status = member.finish.result.status if member.finish is not None else "running"
        return EnrollmentStatus(status, state.step, list(state.trail), dict(state.awaited))

    def waiting(self) -> dict[str, datetime | None]:
        """The blocked members' deadlines (None: until an event), by enrollment id."""
        return {key: m.deadline for key, m in self._members.items() if m.live and m.blocked}

    def stop(self, enrollment_id: str) -> None:
        """Leave a blocked member where it is: the cohort no longer waits for it (an offline run past its horizon)."""
        member = self._members[enrollment_id]
        member.stopped, member.blocked = True, False
        if member.steps is not None:
            member.steps.close()

    def forget(self, enrollment_id: str) -> bool:
        """Drop a member whose customer is being erased: nothing more of it runs, no end is written, and it is not carried
        through continue-as-new; its status is no longer answered. False when no live member has that id (a repeated
        erasure)."""
        member = self._members.get(enrollment_id)
        if member is None or not member.live:
            return False
        self.stop(enrollment_id)
        member.state, member.parked = EnrollmentState(), None
        del self._members[enrollment_id]
        return True

    def state(self, enrollment_id: str) -> EnrollmentState:
        return self._members[enrollment_id].state

    def finished(self, enrollment_id: str) -> Finish | None:
        """The member's last command, once it has ended."""
        return self._members[enrollment_id].finish

    def is_long(self) -> bool:
        """The cohort's history is long: once the host says so, it stays so for the rest of this run."""
        if not self._long:
            self._long = self.host.history_is_long()
        return self._long

    # --- the procedure ---------------------------------------------------------------

    def run(self) -> Generator[CohortCommand, Any, None]:
        for member in self._members.values():
            self._launch(member, member.entry.resume)
        while True:
            work = self._advance()
            if work is not None:
                answers: dict[str, list[Any]] = yield work
                for batch in work.calls:
                    for enrollment_id, answer in zip(batch.members, answers[batch.activity], strict=True):
                        if (member := self._members.get(enrollment_id)) is not None:  # None: forgotten meanwhile
                            self._resume(member, answer)
                continue
            live = [member for member in self._members.values() if member.live]
            if not live:
                return
            if self.is_long() and not self._shaken:
                # Wake every blocked member once, so each reaches its next safe point and parks.
                self._shaken = True
                for member in live:
                    if member.blocked:
                        self._resume(member, True)
                continue
            if self._long and all(member.parked is not None for member in live):
                yield ContinueCohort([self._carried(member) for member in live])
                raise RuntimeError("the host went on after continuing the cohort as new")
            if self._wake(live):
                continue
            yield Sleep(self._earliest(live))

    @staticmethod
    def _earliest(live: list[_Member]) -> datetime | None:
        """When the next member is due without news: the earliest deadline of a blocked one or end of a parked one's wait."""
        instants = [m.deadline for m in live if m.blocked and m.deadline is not None]
        instants += [datetime.fromisoformat(m.parked.wait_until) for m in live if m.parked is not None and m.parked.wait_until]
        return min(instants, default=None)

    def _launch(self, member: _Member, resume: ResumeState | None) -> None:
        """Start the member's core (a fresh run from `resume`, when it has one), ready to be advanced."""
        entry, cohort = member.entry, self._input
        start = EnrollmentInput(
            journey=cohort.journey,
            customer_id=entry.customer_id,
            enrollment_id=entry.enrollment_id,
            trigger=entry.trigger,
            clock_shift_seconds=cohort.clock_shift_seconds,
            upsert_search_attributes=cohort.upsert_search_attributes,
            resume=resume,
            revision=cohort.revision,
        )
        member.steps = Interpreter(start, member.state, self._member_host, self._journey).run()
        member.parked = None
        self._resume(member, None)

    def _resume(self, member: _Member, answer: Any) -> None:
        member.runnable, member.answer, member.blocked, member.deadline = True, answer, False, None

    def _advance(self) -> Round | None:
        """Advance every runnable member to its next stop; the round's work, or None when there is none."""
        work = Round()
        calls: dict[str, CallBatch] = {}
        for enrollment_id, member in self._members.items():
            if not member.runnable or not member.live:
                continue
            member.runnable = False
            assert member.steps is not None
            answer, member.answer = member.answer, None
            while True:
                command = member.steps.send(answer)
                answer = None
                match command:
                    case Entered():
                        continue
                    case Report(request=request):
                        work.reports.append(request)
                        continue
                    case Call(activity=activity, request=request):
                        batch = calls.setdefault(activity, CallBatch(activity, [], []))
                        batch.members.append(enrollment_id)
                        batch.requests.append(request)
                    case Block(seconds=seconds):
                        member.blocked = True
                        member.deadline = self.host.now() + timedelta(seconds=seconds) if seconds is not None else None
                    case ContinueAsNew(resume=resume, journey=None):
                        member.steps.close()
                        member.parked, member.state = resume, EnrollmentState()
                    case ContinueAsNew():
                        raise RuntimeError(f"cohort member {enrollment_id} asked to move versions: cohort members stay on theirs")
                    case Finish(request=request):
                        member.steps.close()
                        member.finish = command
                        work.finishes.append(request)
                break
        work.calls.extend(calls.values())
        return work if work.reports or work.calls or work.finishes else None

    def _wake(self, live: list[_Member]) -> bool:
        """Answer the blocked members with news (True) or past their deadline (False), restart the parked ones due."""
        now = self.host.now()
        woken = False
        for member in live:
            if member.blocked and self._news(member):
                self._resume(member, True)
            elif member.blocked and member.deadline is not None and member.deadline <= now:
                self._resume(member, False)
            elif self._due(member, now):
                assert member.parked is not None
                self._launch(member, member.parked)
            else:
                continue
            woken = True
        return woken

    @staticmethod
    def _news(member: _Member) -> bool:
        return bool(member.state.inbox) or member.state.cancelled is not None

    @staticmethod
    def _due(member: _Member, now: datetime) -> bool:
        """A parked member that a new run would not leave waiting: restarted in place rather than held back."""
        resume = member.parked
        if resume is None:
            return False
        if not resume.waiting or member.state.inbox or member.state.cancelled is not None:
            return True
        return resume.wait_until is not None and datetime.fromisoformat(resume.wait_until) <= now

    @staticmethod
    def _carried(member: _Member) -> CohortMember:
        """The parked member as the next run's input, with the events that came for it since it parked."""
        resume = member.parked
        assert resume is not None
        later = member.state
        seen = [*resume.seen, *(message for message in later.seen if message not in resume.seen)]
        carried = dataclasses.replace(resume, pending=[*resume.pending, *later.inbox], seen=seen)
        return dataclasses.replace(member.entry, resume=carried)
