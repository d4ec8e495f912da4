"""The interpreter: one durable workflow per enrollment walks the compiled journey graph.

Deterministic by construction: every read of the outside world (the profile,
the clock in a customer's zone, a send) is an activity; the workflow only
moves between steps, keeps timers and reacts to the `event` signal. Signal
handlers only queue events; the run loop decides what they mean, so an event
is applied at a well-defined point (before the next step, or while waiting).

Priorities when an event arrives: the journey goal (ends as converted) before
an exit_on event (ends as exited) before the event a `wait_for` step awaits.
Events are applied at every step boundary and while waiting, so an event only
counts for a `wait_for` that was already waiting when it arrived.

The interpreter runs with four modules of its own: `activity_calls.py` builds each
activity's request, `enrollment_state.py` holds what the enrollment remembers and carries
when it continues as new, `bookkeeping.py` keeps CurrentStep and writes the end to the index,
`progress.py` notes the journey facts only the workflow knows and says who records them.
Changing this file or those changes how enrollments already in flight replay: gate any
change of the commands they issue by the input's `revision` or with `workflow.patched`
(docs/architecture.md, "Changing the interpreter"); tests/histories/ replays recorded
runs to catch it. What each interpreter revision (EnrollmentInput.revision) changed:

1. the lean bookkeeping without a patch marker, and no CurrentStep upsert at the end (bookkeeping.py);
2. a `wait_for` the journey reads as `events.<id>` remembers its latest match, carried through
   continue-as-new and passed to every activity that evaluates expressions or templates
   (REMEMBERS_AWAITED_EVENTS);
3. the journey facts only the workflow knows: each step's first visit (`reached`, a split's with the
   path it assigned) and each time the enrollment blocks (`rested`), handed to the store by a local
   `record_progress` just before it blocks and with `finish_enrollment` at its end, carried through
   continue-as-new (progress.RECORDS_PROGRESS);
4. a send hands the facts collected before it to `send_message`, which records them with its outcome,
   and a wait that blocks as soon as it is entered (`wait`, `wait_for`) right after a send is reached
   and rested by that send too, so an enrollment that sends and then waits runs no `record_progress`;
   events that arrived during such a send are applied once the enrollment is at the wait, and end it
   there; a branch notes which way it went (`branched`) (progress.FACTS_WITH_SENDS).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any, assert_never

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    import orchestrator.ir as ir  # not `from orchestrator import ir`: that form re-executes the module in every workflow sandbox
    from orchestrator.runtime.activity_calls import WEBHOOK_RETRY, ActivityRequests, call
    from orchestrator.runtime.bookkeeping import Bookkeeping
    from orchestrator.runtime.contracts import (
        EVENT_SIGNAL,
        STATUS_QUERY,
        WORKFLOW_NAME,
        EnrollmentInput,
        EnrollmentResult,
        EnrollmentStatus,
        EventMessage,
        SendResult,
        WakeRequest,
        WakeResult,
        WebhookResult,
    )
    from orchestrator.runtime.end_reasons import exit_on_reason, exit_step_reason, goal_reason, holdout_reason, measured_reason
    from orchestrator.runtime.enrollment_state import EnrollmentState
    from orchestrator.runtime.progress import Progress
    from orchestrator.runtime.split import HOLDOUT, assign_split

__all__ = ["JourneyWorkflow"]

_TIMEOUT = "timeout"
_MATCHED = "matched"

REMEMBERS_AWAITED_EVENTS = 2
"""EnrollmentInput.revision from which a matched `wait_for` the journey reads (`ir.WaitForStep.remembered`) is remembered
for the steps after it. It issues no other command, so the gate is the revision, not a patch marker (docs/architecture.md)."""

WaitNode = ir.WaitStep | ir.WaitUntilStep | ir.WaitUntilDateStep | ir.WaitForStep


class _Ended(Exception):
    """The enrollment ends here (goal, exit_on, exit step, holdout), and why (orchestrator/runtime/end_reasons.py)."""

    def __init__(self, status: str, step: str | None, reason: str | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.step = step
        # The holdout's reason is its split, the step it ends at, so `_split` need not name it.
        self.reason = holdout_reason(step) if reason is None and status == HOLDOUT else reason


@workflow.defn(name=WORKFLOW_NAME)
class JourneyWorkflow:
    def __init__(self) -> None:
        self._state = EnrollmentState()
        self._status = "running"

    @workflow.signal(name=EVENT_SIGNAL)
    def on_event(self, event: EventMessage) -> None:
        self._state.receive(event)

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> EnrollmentStatus:
        return EnrollmentStatus(self._status, self._state.step, list(self._state.trail), dict(self._state.awaited))

    @workflow.run
    async def run(self, start: EnrollmentInput) -> EnrollmentResult:
        self._input = start
        self._journey = ir.Journey.from_dict(start.journey)
        self._requests = ActivityRequests.of(start, self._journey, self._state)
        self._books = Bookkeeping(start)
        self._progress = Progress(start, self._journey, self._state)
        resume = start.resume
        self._state.start(self._now(), resume)
        step = resume.step if resume is not None else self._journey.start
        try:
            if resume is not None and resume.waiting:
                node = self._node(step)
                if not isinstance(node, WaitNode):
                    raise self._bad_ir(f"resumed in the middle of a wait at {step}, a {node.kind} step")
                deadline = datetime.fromisoformat(resume.wait_until) if resume.wait_until else None
                step = await self._wait_step(node, deadline, resumed=True)
            while step != ir.END:
                self._maybe_continue_as_new(step)
                node = self._node(step)
                # Events queued before this step: goal and exits apply, and none can count for a
                # wait_for entered now ("only events that arrive while it waits"), however late
                # the previous step's activity let them in. At a wait the send before recorded the
                # enrollment resting at, it is at the wait already: they end it there.
                if self._progress.rest_recorded_at(step):
                    self._enter(step)
                    await self._react(None)
                else:
                    await self._react(None)
                    self._enter(step)
                step = await self._execute(node)
            window = self._journey.goal.measure_seconds if self._journey.goal else None
            if window and self._passed_split_path():
                # An A/B arm stays measured as long as its holdout does, so both groups count conversions alike.
                await self._measure_until_window_closes(window)
                return await self._finish("completed", self._state.step, measured_reason(window))
            return await self._finish("completed", self._state.step)
        except _Ended as ended:
            return await self._finish(ended.status, ended.step, ended.reason)

    # --- steps ------------------------------------------------------------------

    def _node(self, step: str) -> ir.Step:
        try:
            return self._journey.step(step)
        except KeyError:
            raise self._bad_ir(f"no step {step!r}") from None

    def _bad_ir(self, problem: str) -> ApplicationError:
        """The compiler rules out broken graphs, so this is a bug: fail the enrollment instead of retrying forever."""
        journey = self._journey
        return ApplicationError(f"journey {journey.id} version {journey.version}: {problem}", type="BadJourney", non_retryable=True)

    async def _execute(self, node: ir.Step) -> str:
        """Run one step; returns the id of the next step."""
        match node:
            case ir.SendStep():
                await self._send(node)
                return node.next
            case ir.WaitStep():
                return await self._wait_step(node, self._now() + timedelta(seconds=node.seconds))
            case ir.WaitUntilStep():
                return await self._wait_step(node, await self._wake_time(self._requests.wake_at_time_of_day(node, self._now())))
            case ir.WaitUntilDateStep():
                wake = self._requests.wake_on_date(node, self._now(), self._state.visits[node.id])
                return await self._wait_step(node, await self._wake_time(wake))
            case ir.WaitForStep():
                within = node.within_seconds
                return await self._wait_step(node, self._now() + timedelta(seconds=within) if within else None)
            case ir.BranchStep():
                chosen = await self._evaluate([case.when for case in node.cases], self._requests.trigger)
                target = next((case.next for case, holds in zip(node.cases, chosen, strict=True) if holds), node.else_next)
                self._progress.branched(node.id, target, self._now())
                return target
            case ir.SplitStep():
                return await self._split(node)
            case ir.UpdateStep():
                await self._update(node)
                return node.next
            case ir.WebhookStep():
                await self._webhook(node)
                return node.next
            case ir.ExitStep():
                raise _Ended("exited", node.id, exit_step_reason(node))
            case _:
                assert_never(node)

    async def _wait_step(self, node: WaitNode, deadline: datetime | None, *, resumed: bool = False) -> str:
        """Wait at a wait step until `deadline` (None: until the awaited event); returns the next step.

        `resumed`: the previous run was already waiting here, and noted the rest.
        """
        awaited = node if isinstance(node, ir.WaitForStep) else None
        result = await self._wait_until(deadline, awaited, resumable=node, rested=resumed)
        if awaited is not None and result == _TIMEOUT:
            return awaited.timeout_next or awaited.next
        return node.next

    async def _send(self, node: ir.SendStep) -> None:
        rested = False
        while True:
            now = self._now()
            handed, then = self._progress.for_send(node, now)
            result = await call("send_message", self._requests.send(node, self._state.visits[node.id], now, handed, then), SendResult)
            if result.status != "deferred":
                # Recorded with the outcome (a held send records neither: they are reported when it blocks, or with the next try).
                self._progress.sent(then)
            if result.status != "deferred" or result.retry_at is None:
                return
            # Held (quiet hours, the SMS marketing window): sleep until it ends, still listening for goal and exits.
            # Held again after that (windows that push each other later) is the same rest of the same visit.
            await self._wait_until(datetime.fromisoformat(result.retry_at), None, rested=rested)
            rested = True

    async def _split(self, node: ir.SplitStep) -> str:
        chosen = assign_split(self._input.customer_id, self._journey.id, node)
        self._progress.reached(node.id, self._now(), chosen)
        if chosen != HOLDOUT:
            return next(path.next for path in node.paths if path.name == chosen)
        # The holdout gets nothing more but stays to count conversions until the measurement window closes
        # (journeys compiled before there was one: until `within`, and without `within` not at all).
        goal = self._journey.goal
        await self._measure_until_window_closes((goal.measure_seconds or goal.within_seconds) if goal else None)
        raise _Ended(HOLDOUT, node.id)

    async def _measure_until_window_closes(self, window_seconds: int | None) -> None:
        """Listen for the goal (and exits) until `window_seconds` after entry; no window: return at once."""
        if window_seconds:
            await self._wait_until(self._state.entered_at + timedelta(seconds=window_seconds), None)

    def _passed_split_path(self) -> bool:
        """Whether this enrollment was given a split's path (an arm of an A/B test), in this run or one it continued."""
        return any(isinstance(step, ir.SplitStep) and self._state.visits.get(step.id) for step in self._journey.steps)

    async def _update(self, node: ir.UpdateStep) -> None:
        values = dict(node.set or {})
        visit = self._state.visits[node.id]
        if node.compute:
            # Computed first, by an activity that writes no profile, so the write below is the same on every retry.
            computed: dict[str, Any] = await call("evaluate_values", self._requests.values(node, visit, self._now()), dict[str, Any])
            values.update(computed)
        await call("update_profile", self._requests.update(node, values, self._now(), visit), None)

    async def _webhook(self, node: ir.WebhookStep) -> None:
        try:
            await workflow.execute_activity(
                "call_webhook",
                self._requests.webhook(node, self._state.visits[node.id], self._now()),
                result_type=WebhookResult,
                start_to_close_timeout=timedelta(seconds=node.timeout_seconds + 30),
                retry_policy=WEBHOOK_RETRY,
            )
        except ActivityError:
            # Not made (a template failed, the URL is not http(s)) or the endpoint stayed down through every
            # retry: the journey goes on (docs/language.md). The activity noted why with the enrollment.
            workflow.logger.info("webhook step %s not called or failed after retries; continuing", node.id)

    # --- waiting and events -----------------------------------------------------------

    async def _wait_until(
        self, deadline: datetime | None, wait_for: ir.WaitForStep | None, *, resumable: WaitNode | None = None, rested: bool = False
    ) -> str:
        """Sleep until `deadline` (None: forever), applying events as they arrive.

        A `resumable` wait step that has made the history long (many events while
        waiting) continues as new in the middle of the wait, which goes on to the same deadline.
        The first time it blocks it notes the rest (unless `rested`: noted already) and reports
        what the enrollment collected, so the store counts it as waiting here while it waits.
        """
        while True:
            if await self._react(wait_for):
                return _MATCHED
            if not rested and (deadline is None or deadline > self._now()):
                self._progress.rested(self._now())  # before a continue-as-new, which carries it: the new run does not note it again
                rested = True
            if resumable is not None and self._state.history_is_long(self._input.history_limit):
                self._continue_as_new(resumable.id, wait_until=deadline.isoformat() if deadline else None, waiting=True)
            if deadline is not None and deadline <= self._now():
                return _TIMEOUT
            if await self._report() and self._state.inbox:
                continue  # events arrived while the facts were written: apply them before blocking
            if deadline is None:
                self._books.show_current_step(self._state.step)
                await workflow.wait_condition(lambda: bool(self._state.inbox))
                continue
            remaining = (deadline - self._now()).total_seconds()
            if remaining <= 0:
                return _TIMEOUT
            self._books.show_current_step(self._state.step)
            try:
                await workflow.wait_condition(lambda: bool(self._state.inbox), timeout=timedelta(seconds=remaining))
            except TimeoutError:
                return _TIMEOUT

    async def _react(self, wait_for: ir.WaitForStep | None) -> bool:
        """Apply queued events in order. Raises _Ended for goal and exits; True if `wait_for` matched."""
        while self._state.inbox:
            event = self._state.next_event()
            goal = self._journey.goal
            if goal is not None and event.name == goal.event and self._in_goal_window() and await self._holds(goal.where, event):
                raise _Ended("converted", self._state.step, goal_reason(goal))
            for exit_filter in self._journey.exit_on:
                if event.name == exit_filter.event and await self._holds(exit_filter.where, event):
                    raise _Ended("exited", self._state.step, exit_on_reason(exit_filter))
            if wait_for is not None and event.name == wait_for.event and await self._holds(wait_for.where, event):
                if wait_for.remembered and self._input.revision >= REMEMBERS_AWAITED_EVENTS:
                    self._state.remember(wait_for.id, event)
                return True
        return False

    def _in_goal_window(self) -> bool:
        goal = self._journey.goal
        if goal is None or goal.within_seconds is None:
            return True
        return self._now() <= self._state.entered_at + timedelta(seconds=goal.within_seconds)

    async def _holds(self, where: str | None, event: EventMessage) -> bool:
        if where is None:
            return True
        (holds,) = await self._evaluate([where], event.properties)
        return holds

    async def _evaluate(self, conditions: list[str], event: dict[str, Any] | None) -> list[bool]:
        if not conditions:
            return []
        # `journey.step` is the step the enrollment is at; for an event applied before its first step, that first step.
        request = self._requests.conditions(conditions, event, self._state.step or self._journey.start)
        result: list[bool] = await call("evaluate_conditions", request, list[bool])
        return result

    async def _wake_time(self, request: WakeRequest) -> datetime:
        result: WakeResult = await call("wake_time", request, WakeResult)
        # No usable date (say, no birthday on the profile): the wait is skipped, as documented.
        return datetime.fromisoformat(result.at) if result.at else self._now()

    # --- bookkeeping ---------------------------------------------------------------

    def _now(self) -> datetime:
        return workflow.now() + timedelta(seconds=self._input.clock_shift_seconds)

    def _enter(self, step: str) -> None:
        self._state.enter(step, self._now())
        self._books.entered(step)
        if not isinstance(self._node(step), ir.SplitStep):  # a split's is noted with the path it assigns
            self._progress.reached(step, self._now())

    # --- journey facts (orchestrator/runtime/progress.py) ----------------------------------

    async def _report(self) -> bool:
        """Hand the collected facts to the store (a local activity); False when there were none (no command)."""
        if not self._state.unreported:
            return False
        await self._books.report(self._requests.progress(self._state.reported()))
        return True

    def _maybe_continue_as_new(self, step: str) -> None:
        if self._state.history_is_long(self._input.history_limit):
            self._continue_as_new(step)

    def _continue_as_new(self, step: str, *, wait_until: str | None = None, waiting: bool = False) -> None:
        """Start a fresh run of this enrollment at `step`, carrying what it remembers (raises: the current run ends here)."""
        carried = self._state.carried(step, waiting=waiting, wait_until=wait_until)
        workflow.continue_as_new(dataclasses.replace(self._input, resume=carried))

    async def _finish(self, status: str, step: str | None, reason: str | None = None) -> EnrollmentResult:
        at = self._now().isoformat()
        self._status = status
        self._books.show_current_step(self._state.step, ending=True)
        await self._books.finish(self._requests.finish(status, step, at, reason, self._state.reported()))
        return EnrollmentResult(status, step, at)
