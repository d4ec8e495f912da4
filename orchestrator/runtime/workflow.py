"""The interpreter: one durable workflow per enrollment walks the compiled journey graph.

Deterministic by construction: every read of the outside world (the profile,
the clock in a customer's zone, a send) is an activity; the workflow only
moves between steps, keeps timers and reacts to the `event` signal. Signal
handlers only queue events; the run loop decides what they mean, so an event
is applied at a well-defined point (before the next step, or while waiting).

Priorities when an event arrives: the journey goal (ends as converted) before
an exit_on event (ends as exited) before the event a `wait_for` step awaits.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, assert_never

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from orchestrator import ir
    from orchestrator.runtime.contracts import (
        EVENT_SIGNAL,
        STATUS_QUERY,
        WORKFLOW_NAME,
        ConditionRequest,
        EnrollmentInput,
        EnrollmentResult,
        EnrollmentStatus,
        EventMessage,
        FinishRequest,
        ResumeState,
        SendRequest,
        SendResult,
        TrailEntry,
        UpdateRequest,
        WakeRequest,
        WakeResult,
        WebhookRequest,
        WebhookResult,
    )
    from orchestrator.runtime.split import HOLDOUT, assign_split

JOURNEY_ID = SearchAttributeKey.for_keyword("JourneyId")
JOURNEY_VERSION = SearchAttributeKey.for_keyword("JourneyVersion")
CURRENT_STEP = SearchAttributeKey.for_keyword("CurrentStep")
CUSTOMER_ID = SearchAttributeKey.for_keyword("CustomerId")
SEARCH_ATTRIBUTES = (JOURNEY_ID, JOURNEY_VERSION, CURRENT_STEP, CUSTOMER_ID)

HISTORY_LIMIT = 2_000
"""Continue as new past this many history events, long before Temporal's own limits."""
SEEN_LIMIT = 500
"""Message ids remembered for de-duplication of re-delivered signals."""
TRAIL_LIMIT = 200
"""Step entries kept for the status query (the newest)."""

_ACTIVITY_TIMEOUT = timedelta(seconds=60)
_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))

_TIMEOUT = "timeout"
_MATCHED = "matched"


class _Ended(Exception):
    """The enrollment ends here (goal, exit_on, exit step, holdout)."""

    def __init__(self, status: str, step: str | None) -> None:
        super().__init__(status)
        self.status = status
        self.step = step


@workflow.defn(name=WORKFLOW_NAME)
class JourneyWorkflow:
    def __init__(self) -> None:
        self._inbox: list[EventMessage] = []
        self._seen: list[str] = []
        self._status = "running"
        self._step: str | None = None
        self._trail: list[TrailEntry] = []

    @workflow.signal(name=EVENT_SIGNAL)
    def on_event(self, event: EventMessage) -> None:
        if event.message_id in self._seen:
            return
        self._seen.append(event.message_id)
        del self._seen[:-SEEN_LIMIT]
        self._inbox.append(event)

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> EnrollmentStatus:
        return EnrollmentStatus(self._status, self._step, list(self._trail))

    @workflow.run
    async def run(self, start: EnrollmentInput) -> EnrollmentResult:
        self._input = start
        self._journey = ir.Journey.from_dict(start.journey)
        # `event` in templates and branch conditions: the triggering event's properties.
        self._trigger = dict(start.trigger.properties) if start.trigger else None
        resume = start.resume
        if resume is not None:
            self._seen = list(resume.seen)
            self._inbox = list(resume.pending) + self._inbox
            self._trail = list(resume.trail)
            self._visits = dict(resume.visits)
            self._entered_at = datetime.fromisoformat(resume.entered_at)
            step = resume.step
        else:
            self._visits = {}
            self._entered_at = self._now()
            step = self._journey.start
        try:
            while step != ir.END:
                self._maybe_continue_as_new(step)
                node = self._journey.step(step)
                if not isinstance(node, ir.WaitForStep | ir.WaitStep | ir.WaitUntilStep | ir.WaitUntilDateStep):
                    await self._react(None)
                self._enter(step)
                step = await self._execute(node)
            return await self._finish("completed", None)
        except _Ended as ended:
            return await self._finish(ended.status, ended.step)

    # --- steps ------------------------------------------------------------------

    async def _execute(self, node: ir.Step) -> str:
        """Run one step; returns the id of the next step."""
        match node:
            case ir.SendStep():
                await self._send(node)
                return node.next
            case ir.WaitStep():
                await self._wait_until(self._now() + timedelta(seconds=node.seconds), None)
                return node.next
            case ir.WaitUntilStep():
                request = self._wake_request(until=node.until, days=list(node.days))
                await self._wait_until(await self._wake_time(request), None)
                return node.next
            case ir.WaitUntilDateStep():
                request = self._wake_request(until_date=node.until_date, offset_seconds=node.offset_seconds, at=node.at, repeat=node.repeat)
                await self._wait_until(await self._wake_time(request), None)
                return node.next
            case ir.WaitForStep():
                deadline = self._now() + timedelta(seconds=node.within_seconds) if node.within_seconds else None
                result = await self._wait_until(deadline, node)
                return node.next if result == _MATCHED else (node.timeout_next or node.next)
            case ir.BranchStep():
                chosen = await self._evaluate([case.when for case in node.cases], self._trigger)
                for case, holds in zip(node.cases, chosen, strict=True):
                    if holds:
                        return case.next
                return node.else_next
            case ir.SplitStep():
                return await self._split(node)
            case ir.UpdateStep():
                await workflow.execute_activity(
                    "update_profile",
                    UpdateRequest(
                        enrollment_id=self._input.enrollment_id,
                        journey_id=self._journey.id,
                        version=self._journey.version,
                        step_id=node.id,
                        customer_id=self._input.customer_id,
                        set=node.set,
                        compute=node.compute,
                        unset=list(node.unset),
                        event=self._trigger,
                        now=self._now().isoformat(),
                    ),
                    start_to_close_timeout=_ACTIVITY_TIMEOUT,
                    retry_policy=_RETRY,
                )
                return node.next
            case ir.WebhookStep():
                await self._webhook(node)
                return node.next
            case ir.ExitStep():
                raise _Ended("exited", node.id)
            case _:
                assert_never(node)

    async def _webhook(self, node: ir.WebhookStep) -> None:
        try:
            await workflow.execute_activity(
                "call_webhook",
                WebhookRequest(
                    enrollment_id=self._input.enrollment_id,
                    journey_id=self._journey.id,
                    version=self._journey.version,
                    step_id=node.id,
                    visit=self._visits[node.id],
                    customer_id=self._input.customer_id,
                    url=node.url,
                    method=node.method,
                    headers=node.headers,
                    body=node.body,
                    timeout_seconds=node.timeout_seconds,
                    event=self._trigger,
                ),
                result_type=WebhookResult,
                start_to_close_timeout=timedelta(seconds=node.timeout_seconds + 30),
                retry_policy=RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(minutes=5)),
            )
        except ActivityError:
            # The endpoint stayed down through every retry: the journey goes on (docs/language.md).
            workflow.logger.warning("webhook step %s failed after retries; continuing", node.id)

    async def _send(self, node: ir.SendStep) -> None:
        while True:
            result = await workflow.execute_activity(
                "send_message",
                SendRequest(
                    enrollment_id=self._input.enrollment_id,
                    journey_id=self._journey.id,
                    version=self._journey.version,
                    step_id=node.id,
                    visit=self._visits[node.id],
                    customer_id=self._input.customer_id,
                    channel=node.channel,
                    category=node.category,
                    subject=node.subject,
                    preheader=node.preheader,
                    title=node.title,
                    body=node.body,
                    url=node.url,
                    event=self._trigger,
                    now=self._now().isoformat(),
                    settings=ir.to_plain(self._journey.settings),
                ),
                result_type=SendResult,
                start_to_close_timeout=_ACTIVITY_TIMEOUT,
                retry_policy=_RETRY,
            )
            if result.status != "deferred" or result.retry_at is None:
                return
            # Held (quiet hours): sleep until the window ends, still listening for goal and exits.
            await self._wait_until(datetime.fromisoformat(result.retry_at), None)

    async def _split(self, node: ir.SplitStep) -> str:
        chosen = assign_split(self._input.customer_id, self._journey.id, node)
        if chosen != HOLDOUT:
            return next(path.next for path in node.paths if path.name == chosen)
        # The holdout gets nothing more but stays to count conversions until the goal window closes.
        goal = self._journey.goal
        if goal is not None and goal.within_seconds:
            await self._wait_until(self._entered_at + timedelta(seconds=goal.within_seconds), None)
        raise _Ended(HOLDOUT, node.id)

    # --- waiting and events -----------------------------------------------------------

    async def _wait_until(self, deadline: datetime | None, wait_for: ir.WaitForStep | None) -> str:
        """Sleep until `deadline` (None: forever), applying events as they arrive."""
        while True:
            if await self._react(wait_for):
                return _MATCHED
            if deadline is None:
                await workflow.wait_condition(lambda: bool(self._inbox))
                continue
            remaining = (deadline - self._now()).total_seconds()
            if remaining <= 0:
                return _TIMEOUT
            try:
                await workflow.wait_condition(lambda: bool(self._inbox), timeout=timedelta(seconds=remaining))
            except TimeoutError:
                return _TIMEOUT

    async def _react(self, wait_for: ir.WaitForStep | None) -> bool:
        """Apply queued events in order. Raises _Ended for goal and exits; True if `wait_for` matched."""
        while self._inbox:
            event = self._inbox.pop(0)
            goal = self._journey.goal
            if goal is not None and event.name == goal.event and self._in_goal_window() and await self._holds(goal.where, event):
                raise _Ended("converted", self._step)
            for exit_filter in self._journey.exit_on:
                if event.name == exit_filter.event and await self._holds(exit_filter.where, event):
                    raise _Ended("exited", self._step)
            if wait_for is not None and event.name == wait_for.event and await self._holds(wait_for.where, event):
                return True
        return False

    def _in_goal_window(self) -> bool:
        goal = self._journey.goal
        if goal is None or goal.within_seconds is None:
            return True
        return self._now() <= self._entered_at + timedelta(seconds=goal.within_seconds)

    async def _holds(self, where: str | None, event: EventMessage) -> bool:
        if where is None:
            return True
        (holds,) = await self._evaluate([where], event.properties)
        return holds

    async def _evaluate(self, conditions: list[str], event: dict[str, Any] | None) -> list[bool]:
        if not conditions:
            return []
        result: list[bool] = await workflow.execute_activity(
            "evaluate_conditions",
            ConditionRequest(
                customer_id=self._input.customer_id,
                journey_id=self._journey.id,
                version=self._journey.version,
                conditions=conditions,
                event=event,
            ),
            result_type=list[bool],
            start_to_close_timeout=_ACTIVITY_TIMEOUT,
            retry_policy=_RETRY,
        )
        return result

    def _wake_request(self, **fields: Any) -> WakeRequest:
        return WakeRequest(
            customer_id=self._input.customer_id,
            default_timezone=self._journey.settings.timezone,
            now=self._now().isoformat(),
            event=self._trigger,
            **fields,
        )

    async def _wake_time(self, request: WakeRequest) -> datetime | None:
        result = await workflow.execute_activity(
            "wake_time",
            request,
            result_type=WakeResult,
            start_to_close_timeout=_ACTIVITY_TIMEOUT,
            retry_policy=_RETRY,
        )
        # No usable date (say, no birthday on the profile): the wait is skipped, as documented.
        return datetime.fromisoformat(result.at) if result.at else self._now()

    # --- bookkeeping ---------------------------------------------------------------

    def _now(self) -> datetime:
        return workflow.now() + timedelta(seconds=self._input.clock_shift_seconds)

    def _enter(self, step: str) -> None:
        self._step = step
        self._visits[step] = self._visits.get(step, 0) + 1
        self._trail.append(TrailEntry(step, self._now().isoformat()))
        del self._trail[:-TRAIL_LIMIT]
        if self._input.upsert_search_attributes:
            workflow.upsert_search_attributes([CURRENT_STEP.value_set(step)])

    def _maybe_continue_as_new(self, step: str) -> None:
        info = workflow.info()
        if info.get_current_history_length() < HISTORY_LIMIT and not info.is_continue_as_new_suggested():
            return
        state = ResumeState(
            step=step,
            entered_at=self._entered_at.isoformat(),
            visits=self._visits,
            pending=self._inbox,
            seen=self._seen,
            trail=self._trail,
        )
        start = self._input
        workflow.continue_as_new(
            EnrollmentInput(
                journey=start.journey,
                customer_id=start.customer_id,
                enrollment_id=start.enrollment_id,
                trigger=start.trigger,
                clock_shift_seconds=start.clock_shift_seconds,
                upsert_search_attributes=start.upsert_search_attributes,
                resume=state,
            )
        )

    async def _finish(self, status: str, step: str | None) -> EnrollmentResult:
        at = self._now().isoformat()
        self._status = status
        await workflow.execute_activity(
            "finish_enrollment",
            FinishRequest(self._input.enrollment_id, status, step, at),
            start_to_close_timeout=_ACTIVITY_TIMEOUT,
            retry_policy=_RETRY,
        )
        return EnrollmentResult(status, step, at)
