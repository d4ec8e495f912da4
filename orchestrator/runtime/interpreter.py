"""The interpreter's core: every decision an enrollment makes, as a coroutine of commands, with no I/O.

`Interpreter.run()` walks the compiled journey graph for one enrollment: which step
comes next, what to wait for and until when, what to send, when the enrollment ends.
It yields a command (commands.py) whenever it needs the outside world (an activity's
answer, a timer, continue-as-new) and is sent the answer; the clock and the history's
length are asked of its `Host`. Two hosts run it: the Temporal workflow (workflow.py),
which turns each command into Temporal's, and the offline runner
(orchestrator/simulation/offline.py), which answers them under a discrete-event clock.
So a backtest or an offline simulation decides exactly as production does: same code.

It is a generator rather than a function `advance(state, input) -> (state, commands)`
over a value: the decisions read top to bottom as one procedure, and the commands come out
in exactly the order the workflow always issued them, which is what keeps recorded
histories replaying (docs/architecture.md, "The interpreter's core"). What the enrollment
remembers is the `EnrollmentState` it is given; where in the procedure it stands is the
generator's own.

Signals are not commands: the host puts events into `state` whenever they arrive
(`EnrollmentState.receive`), and the core applies them at well-defined points (before the
next step, or while waiting). Priorities when an event arrives: the journey goal (ends as
converted) before an exit_on event (ends as exited) before the event a `wait_for` step
awaits. An event only counts for a `wait_for` that was already waiting when it arrived.
A `move` request (`journey deploy --migrate`) is kept the same way and decided on at a wait
step only (`_move`, by the one rule of orchestrator/runtime/migration.py), after the events.
A cohort's `cancel` (orchestrator/runtime/cohort.py) marks the state, and the core ends the
enrollment where it next applies events, before anything queued.

The revisions of the interpreter (EnrollmentInput.revision) and what each changed are listed in
workflow.py; the gates live here and in progress.py and bookkeeping.py.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime, timedelta
from typing import Any, Protocol, assert_never

import orchestrator.ir as ir
from orchestrator.runtime.commands import Block, Call, Command, ContinueAsNew, Entered, Finish, Report
from orchestrator.runtime.contracts import (
    EnrollmentInput,
    EnrollmentResult,
    EventMessage,
    MovedRequest,
    SendResult,
    WakeRequest,
    WakeResult,
)
from orchestrator.runtime.end_reasons import exit_on_reason, exit_step_reason, goal_reason, holdout_reason, measured_reason
from orchestrator.runtime.enrollment_state import EnrollmentState
from orchestrator.runtime.migration import Stays, destination
from orchestrator.runtime.progress import Progress
from orchestrator.runtime.requests import ActivityRequests
from orchestrator.runtime.split import HOLDOUT, assign_split

_TIMEOUT = "timeout"
_MATCHED = "matched"

REMEMBERS_AWAITED_EVENTS = 2
"""EnrollmentInput.revision from which a matched `wait_for` the journey reads (`ir.WaitForStep.remembered`) is remembered
for the steps after it. It issues no other command, so the gate is the revision, not a patch marker (docs/architecture.md)."""

WaitNode = ir.WaitStep | ir.WaitUntilStep | ir.WaitUntilDateStep | ir.WaitForStep

Steps = Generator[Command, Any, Any]
"""A part of the procedure: yields commands, is sent their answers, returns its own result."""


class Host(Protocol):
    """What the core asks of whoever runs it, besides the commands' answers."""

    def now(self) -> datetime:
        """The journey's clock."""

    def history_is_long(self, limit: int | None) -> bool:
        """Whether the run's history is long enough to continue as new (`limit`: EnrollmentInput.history_limit)."""

    def note(self, message: str) -> None:
        """Tell the operator something that changes nothing (a move not taken); ids only, never personal data."""


class BadJourney(Exception):
    """The compiled journey is broken (the compiler rules that out): a bug, so the enrollment fails instead of retrying."""


class _Ended(Exception):
    """The enrollment ends here (goal, exit_on, exit step, holdout), and why (orchestrator/runtime/end_reasons.py)."""

    def __init__(self, status: str, step: str | None, reason: str | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.step = step
        # The holdout's reason is its split, the step it ends at, so `_split` need not name it.
        self.reason = holdout_reason(step) if reason is None and status == HOLDOUT else reason


class Interpreter:
    """One enrollment's run (one run of it: continue-as-new starts another from what `state` carries)."""

    def __init__(self, start: EnrollmentInput, state: EnrollmentState, host: Host, journey: ir.Journey | None = None) -> None:
        """`journey`: the compiled journey of `start.journey`, when the host has it already (an offline run of many customers)."""
        self._input = start
        self._state = state
        self._host = host
        self._journey = journey if journey is not None else ir.Journey.from_dict(start.journey)
        self._requests = ActivityRequests.of(start, self._journey, state)
        self._progress = Progress(start, self._journey, state)

    @property
    def journey(self) -> ir.Journey:
        return self._journey

    def run(self) -> Generator[Command, Any, EnrollmentResult]:
        """The whole run; its return value is the enrollment's result (also carried by the last command, `Finish`)."""
        start = self._input
        resume = start.resume
        self._state.start(self._now(), resume)
        step = resume.step if resume is not None else self._journey.start
        try:
            if resume is not None and resume.waiting:
                node = self._node(step)
                if not isinstance(node, WaitNode):
                    raise BadJourney(self._problem(f"resumed in the middle of a wait at {step}, a {node.kind} step"))
                deadline = datetime.fromisoformat(resume.wait_until) if resume.wait_until else None
                step = yield from self._wait_step(node, deadline, resumed=True)
            while step != ir.END:
                if self._history_is_long():
                    yield from self._continue_as_new(step)
                node = self._node(step)
                # Events queued before this step: goal and exits apply, and none can count for a
                # wait_for entered now ("only events that arrive while it waits"), however late
                # the previous step's activity let them in. At a wait the send before recorded the
                # enrollment resting at, it is at the wait already: they end it there.
                if self._progress.rest_recorded_at(step):
                    yield from self._enter(step)
                    yield from self._react(None)
                else:
                    yield from self._react(None)
                    yield from self._enter(step)
                step = yield from self._execute(node)
            window = self._journey.goal.measure_seconds if self._journey.goal else None
            if window and self._passed_split_path():
                # An A/B arm stays measured as long as its holdout does, so both groups count conversions alike.
                yield from self._measure_until_window_closes(window)
                return (yield from self._finish("completed", self._state.step, measured_reason(window)))
            return (yield from self._finish("completed", self._state.step))
        except _Ended as ended:
            return (yield from self._finish(ended.status, ended.step, ended.reason))

    # --- steps ------------------------------------------------------------------

    def _node(self, step: str) -> ir.Step:
        try:
            return self._journey.step(step)
        except KeyError:
            raise BadJourney(self._problem(f"no step {step!r}")) from None

    def _problem(self, problem: str) -> str:
        return f"journey {self._journey.id} version {self._journey.version}: {problem}"

    def _execute(self, node: ir.Step) -> Steps:
        """Run one step; returns the id of the next step."""
        match node:
            case ir.SendStep():
                yield from self._send(node)
                return node.next
            case ir.WaitStep():
                return (yield from self._wait_step(node, self._now() + timedelta(seconds=node.seconds)))
            case ir.WaitUntilStep():
                wake = yield from self._wake_time(self._requests.wake_at_time_of_day(node, self._now()))
                return (yield from self._wait_step(node, wake))
            case ir.WaitUntilDateStep():
                request = self._requests.wake_on_date(node, self._now(), self._state.visits[node.id])
                wake = yield from self._wake_time(request)
                return (yield from self._wait_step(node, wake))
            case ir.WaitForStep():
                within = node.within_seconds
                return (yield from self._wait_step(node, self._now() + timedelta(seconds=within) if within else None))
            case ir.BranchStep():
                chosen = yield from self._evaluate([case.when for case in node.cases], self._requests.trigger)
                target = next((case.next for case, holds in zip(node.cases, chosen, strict=True) if holds), node.else_next)
                self._progress.branched(node.id, target, self._now())
                return target
            case ir.SplitStep():
                return (yield from self._split(node))
            case ir.UpdateStep():
                yield from self._update(node)
                return node.next
            case ir.WebhookStep():
                # The answer does not matter: a call not made or failed after its retries was noted by the activity,
                # and the journey goes on (docs/language.md).
                yield Call("call_webhook", self._requests.webhook(node, self._state.visits[node.id], self._now()))
                return node.next
            case ir.ExitStep():
                raise _Ended("exited", node.id, exit_step_reason(node))
            case _:
                assert_never(node)

    def _wait_step(self, node: WaitNode, deadline: datetime | None, *, resumed: bool = False) -> Steps:
        """Wait at a wait step until `deadline` (None: until the awaited event); returns the next step.

        `resumed`: the previous run was already waiting here, and noted the rest.
        """
        awaited = node if isinstance(node, ir.WaitForStep) else None
        result = yield from self._wait_until(deadline, awaited, resumable=node, rested=resumed)
        if awaited is not None and result == _TIMEOUT:
            return awaited.timeout_next or awaited.next
        return node.next

    def _send(self, node: ir.SendStep) -> Steps:
        rested = False
        while True:
            now = self._now()
            handed, then = self._progress.for_send(node, now)
            result: SendResult = yield Call("send_message", self._requests.send(node, self._state.visits[node.id], now, handed, then))
            if result.status != "deferred":
                # Recorded with the outcome (a held send records neither: they are reported when it blocks, or with the next try).
                self._progress.sent(then)
            if result.status != "deferred" or result.retry_at is None:
                return
            # Held (quiet hours, the SMS marketing window): sleep until it ends, still listening for goal and exits.
            # Held again after that (windows that push each other later) is the same rest of the same visit.
            yield from self._wait_until(datetime.fromisoformat(result.retry_at), None, rested=rested)
            rested = True

    def _split(self, node: ir.SplitStep) -> Steps:
        chosen = assign_split(self._input.customer_id, self._journey.id, node)
        self._progress.reached(node.id, self._now(), chosen)
        if chosen != HOLDOUT:
            return next(path.next for path in node.paths if path.name == chosen)
        # The holdout gets nothing more but stays to count conversions until the measurement window closes
        # (journeys compiled before there was one: until `within`, and without `within` not at all).
        goal = self._journey.goal
        yield from self._measure_until_window_closes((goal.measure_seconds or goal.within_seconds) if goal else None)
        raise _Ended(HOLDOUT, node.id)

    def _measure_until_window_closes(self, window_seconds: int | None) -> Steps:
        """Listen for the goal (and exits) until `window_seconds` after entry; no window: return at once."""
        if window_seconds:
            yield from self._wait_until(self._state.entered_at + timedelta(seconds=window_seconds), None)

    def _passed_split_path(self) -> bool:
        """Whether this enrollment was given a split's path (an arm of an A/B test), in this run or one it continued."""
        return any(isinstance(step, ir.SplitStep) and self._state.visits.get(step.id) for step in self._journey.steps)

    def _update(self, node: ir.UpdateStep) -> Steps:
        values = dict(node.set or {})
        visit = self._state.visits[node.id]
        if node.compute:
            # Computed first, by an activity that writes no profile, so the write below is the same on every retry.
            computed: dict[str, Any] = yield Call("evaluate_values", self._requests.values(node, visit, self._now()))
            values.update(computed)
        yield Call("update_profile", self._requests.update(node, values, self._now(), visit))

    # --- waiting and events -----------------------------------------------------------

    def _wait_until(
        self, deadline: datetime | None, wait_for: ir.WaitForStep | None, *, resumable: WaitNode | None = None, rested: bool = False
    ) -> Steps:
        """Sleep until `deadline` (None: forever), applying events as they arrive; returns _MATCHED or _TIMEOUT.

        A `resumable` wait step that has made the history long (many events while
        waiting) continues as new in the middle of the wait, which goes on to the same deadline.
        The first time it blocks it notes the rest (unless `rested`: noted already) and reports
        what the enrollment collected, so the store counts it as waiting here while it waits.
        """
        while True:
            if (yield from self._react(wait_for)):
                return _MATCHED
            if not rested and (deadline is None or deadline > self._now()):
                self._progress.rested(self._now())  # before a continue-as-new, which carries it: the new run does not note it again
                rested = True
            if resumable is not None and self._state.move is not None:
                yield from self._move(resumable, deadline)
            if resumable is not None and self._history_is_long():
                yield from self._continue_as_new(resumable.id, wait_until=deadline.isoformat() if deadline else None, waiting=True)
            if deadline is not None and deadline <= self._now():
                return _TIMEOUT
            if (yield from self._report()) and self._state.inbox:
                continue  # events arrived while the facts were written: apply them before blocking
            movable = resumable is not None
            if deadline is None:
                yield Block(self._state.step, None, movable)
                continue
            remaining = (deadline - self._now()).total_seconds()
            if remaining <= 0:
                return _TIMEOUT
            if not (yield Block(self._state.step, remaining, movable, until=deadline)):
                return _TIMEOUT

    def _move(self, node: WaitNode, deadline: datetime | None) -> Steps:
        """Decide on the move request kept, at wait step `node`: onto the new version at the wait the rule gives, keeping
        `deadline` (this run ends there: it continues as new on that version), or not, noted by ids only."""
        request = self._state.take_move()
        assert request is not None
        if request.version == self._journey.version:
            self._not_moved(request.version, "it runs that version already")  # a signal sent again: a rerun, a retry
            return
        new = ir.Journey.from_dict(request.journey)
        if new.id != self._journey.id:
            self._not_moved(new.version, f"that is a version of {new.id}, not of {self._journey.id}")
            return
        where = destination(self._journey, new, node.id, request.mapping)
        if isinstance(where, Stays):
            self._not_moved(new.version, where.explain(new.version))
            return
        yield from self._report()  # what it noted on this version is recorded under it
        now = self._now()
        if where.step != node.id:
            self._state.enter(where.step, now)  # mapped to another step: it is there now (the trail, `journey.step`)
        start, old = self._input, self._journey
        yield Call(
            "record_move",
            MovedRequest(start.enrollment_id, start.customer_id, old.id, old.version, new.version, node.id, where.step, now.isoformat()),
        )
        until = deadline.isoformat() if deadline else None
        yield from self._continue_as_new(where.step, wait_until=until, waiting=True, journey=request.journey)

    def _not_moved(self, version: str, why: str) -> None:
        self._host.note(f"enrollment {self._input.enrollment_id} stays on version {self._journey.version}, not moved to {version}: {why}")

    def _react(self, wait_for: ir.WaitForStep | None) -> Steps:
        """Apply queued events in order. Raises _Ended for goal and exits; returns True if `wait_for` matched.

        A cancelled enrollment (a cohort's `cancel`) ends first, whatever is queued: it sends nothing more."""
        if self._state.cancelled is not None:
            raise _Ended("exited", self._state.step, self._state.cancelled)
        while self._state.inbox:
            event = self._state.next_event()
            goal = self._journey.goal
            if goal is not None and event.name == goal.event and self._in_goal_window() and (yield from self._holds(goal.where, event)):
                raise _Ended("converted", self._state.step, goal_reason(goal))
            for exit_filter in self._journey.exit_on:
                if event.name == exit_filter.event and (yield from self._holds(exit_filter.where, event)):
                    raise _Ended("exited", self._state.step, exit_on_reason(exit_filter))
            if wait_for is not None and event.name == wait_for.event and (yield from self._holds(wait_for.where, event)):
                if wait_for.remembered and self._input.revision >= REMEMBERS_AWAITED_EVENTS:
                    self._state.remember(wait_for.id, event)
                return True
        return False

    def _in_goal_window(self) -> bool:
        goal = self._journey.goal
        if goal is None or goal.within_seconds is None:
            return True
        return self._now() <= self._state.entered_at + timedelta(seconds=goal.within_seconds)

    def _holds(self, where: str | None, event: EventMessage) -> Steps:
        if where is None:
            return True
        (holds,) = yield from self._evaluate([where], event.properties)
        return holds

    def _evaluate(self, conditions: list[str], event: dict[str, Any] | None) -> Steps:
        if not conditions:
            return []
        # `journey.step` is the step the enrollment is at; for an event applied before its first step, that first step.
        request = self._requests.conditions(conditions, event, self._state.step or self._journey.start)
        result: list[bool] = yield Call("evaluate_conditions", request)
        return result

    def _wake_time(self, request: WakeRequest) -> Steps:
        result: WakeResult = yield Call("wake_time", request)
        # No usable date (say, no birthday on the profile): the wait is skipped, as documented.
        return datetime.fromisoformat(result.at) if result.at else self._now()

    # --- bookkeeping ---------------------------------------------------------------

    def _now(self) -> datetime:
        return self._host.now()

    def _enter(self, step: str) -> Steps:
        self._state.enter(step, self._now())
        yield Entered(step)
        if not isinstance(self._node(step), ir.SplitStep):  # a split's is noted with the path it assigns
            self._progress.reached(step, self._now())

    def _report(self) -> Steps:
        """Hand the collected facts to the store; False when there were none (no command)."""
        if not self._state.unreported:
            return False
        yield Report(self._requests.progress(self._state.reported()))
        return True

    def _history_is_long(self) -> bool:
        return self._state.has_progressed() and self._host.history_is_long(self._input.history_limit)

    def _continue_as_new(
        self, step: str, *, wait_until: str | None = None, waiting: bool = False, journey: dict[str, Any] | None = None
    ) -> Steps:
        """Start a fresh run of this enrollment at `step`, carrying what it remembers (on `journey`: moved to that
        version); the host never answers."""
        yield ContinueAsNew(self._state.carried(step, waiting=waiting, wait_until=wait_until), journey)
        raise RuntimeError("the host went on after continuing as new")

    def _finish(self, status: str, step: str | None, reason: str | None = None) -> Steps:
        at = self._now().isoformat()
        result = EnrollmentResult(status, step, at)
        yield Finish(self._state.step, self._requests.finish(status, step, at, reason, self._state.reported()), result)
        return result
