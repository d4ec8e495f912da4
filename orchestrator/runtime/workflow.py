"""The interpreter on Temporal: one durable workflow per enrollment, a thin shell around the core.

The decisions (which step next, what to wait for and until when, what to send, when the
enrollment ends) are the core's, interpreter.py, which yields commands; this workflow
carries each out the Temporal way (commands.py: an activity, a local activity for the
facts and the end, a timer with the wake-up on a signal, continue-as-new, the CurrentStep
bookkeeping) and sends the core the answer. Deterministic by construction: every read of
the outside world (the profile, the clock in a customer's zone, a send) is an activity. The
`event` signal's handler only queues the event in the enrollment's state; the core decides
what it means, at a well-defined point (before the next step, or while waiting). The `move`
signal's handler only keeps the request; the core decides on it at a wait step (MOVES_PATCH).

The core runs with modules of its own: `requests.py` builds each activity's request,
`enrollment_state.py` holds what the enrollment remembers and carries when it continues as
new, `progress.py` notes the journey facts only the workflow knows and says who records them;
this shell with `activity_calls.py` (timeouts and retries), `bookkeeping.py` (CurrentStep, the
end in the index) and `timers.py` (the waits' timers, from revision 5). Changing the core, this file or those
changes how enrollments already in flight replay: gate any
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
   there; a branch notes which way it went (`branched`) (progress.FACTS_WITH_SENDS);
5. a wait's timer is never cancelled: woken by an event it ignores, the enrollment sleeps on the same timer
   again, and one no longer needed fires once for nothing (timers.py says why; TIMERS_LEFT_RUNNING).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any, assert_never

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from orchestrator.runtime.activity_calls import FINISH_TIMEOUT, RETRY, call, call_webhook
    from orchestrator.runtime.bookkeeping import Bookkeeping
    from orchestrator.runtime.commands import ACTIVITIES, Block, Call, Command, ContinueAsNew, Entered, Finish, Report
    from orchestrator.runtime.contracts import (
        EVENT_SIGNAL,
        MOVE_SIGNAL,
        STATUS_QUERY,
        WORKFLOW_NAME,
        EnrollmentInput,
        EnrollmentResult,
        EnrollmentStatus,
        EventMessage,
        MoveRequest,
    )
    from orchestrator.runtime.enrollment_state import EnrollmentState
    from orchestrator.runtime.interpreter import BadJourney, Interpreter
    from orchestrator.runtime.search_attributes import JOURNEY_VERSION
    from orchestrator.runtime.timers import Timers

__all__ = ["HISTORY_LIMIT", "JourneyWorkflow"]

HISTORY_LIMIT = 2_000
"""Continue as new past this many history events, long before Temporal's own limits (50K events, 50 MB)."""

TIMERS_LEFT_RUNNING = 5
"""EnrollmentInput.revision from which a wait's timer is left running when an event wakes the enrollment (timers.py)
instead of being cancelled."""

MOVES_PATCH = "moves-between-versions"
"""Patch id (a permanent name) of the `move` signal's handler. A worker from before it leaves a `move` signal unhandled
(the SDK buffers it), and a worker with it replaying that history would act on it where the old one did nothing:
its history would no longer replay. The marker, recorded the first time a run takes a move request, tells the two
apart; a run that never gets one (every enrollment until `journey deploy --migrate`) records nothing."""


class _TemporalHost:
    """The core's clock and history length, from Temporal."""

    def __init__(self, clock_shift_seconds: float) -> None:
        self._shift = timedelta(seconds=clock_shift_seconds)

    def now(self) -> datetime:
        return workflow.now() + self._shift

    def history_is_long(self, limit: int | None) -> bool:
        info = workflow.info()
        return info.get_current_history_length() >= (limit or HISTORY_LIMIT) or info.is_continue_as_new_suggested()

    def note(self, message: str) -> None:
        workflow.logger.info(message)


@workflow.defn(name=WORKFLOW_NAME)
class JourneyWorkflow:
    def __init__(self) -> None:
        self._state = EnrollmentState()
        self._status = "running"
        self._timers = Timers()

    @workflow.signal(name=EVENT_SIGNAL)
    def on_event(self, event: EventMessage) -> None:
        self._state.receive(event)

    @workflow.signal(name=MOVE_SIGNAL)
    def on_move(self, request: MoveRequest) -> None:
        if workflow.patched(MOVES_PATCH):
            self._state.ask_move(request)

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> EnrollmentStatus:
        return EnrollmentStatus(self._status, self._state.step, list(self._state.trail), dict(self._state.awaited))

    @workflow.run
    async def run(self, start: EnrollmentInput) -> EnrollmentResult:
        self._input = start
        self._books = Bookkeeping(start)
        core = Interpreter(start, self._state, _TemporalHost(start.clock_shift_seconds))
        steps = core.run()
        answer: Any = None
        while True:
            try:
                command = steps.send(answer)
            except StopIteration as done:
                result: EnrollmentResult = done.value
                return result
            except BadJourney as bad:
                # The compiler rules out broken graphs, so this is a bug: fail the enrollment instead of retrying forever.
                raise ApplicationError(str(bad), type="BadJourney", non_retryable=True) from None
            answer = await self._carry_out(command)

    async def _carry_out(self, command: Command) -> Any:
        """Do what the core asked, the Temporal way, and return its answer."""
        match command:
            case Call(activity="call_webhook", request=request):
                return await call_webhook(request)
            case Call(activity="record_move", request=request):
                # Local, as the finish is: a store write in the workflow task that then continues as new, so a worker
                # lost on the way is replaced within a workflow task's timeout, not an activity's. It may wait for the
                # customer's lease as the finish does, hence the finish's timeout.
                timeout = FINISH_TIMEOUT
                return await workflow.execute_local_activity("record_move", request, start_to_close_timeout=timeout, retry_policy=RETRY)
            case Call(activity=name, request=request):
                return await call(name, request, ACTIVITIES[name])
            case Report(request=request):
                await self._books.report(request)
                return None
            case Entered(step=step):
                self._books.entered(step)
                return None
            case Block(step=step, seconds=seconds, movable=movable, until=until):
                self._books.show_current_step(step)
                woken = (lambda: bool(self._state.inbox) or self._state.move is not None) if movable else (lambda: bool(self._state.inbox))
                if seconds is None:
                    await workflow.wait_condition(woken)
                    return True
                if self._input.revision >= TIMERS_LEFT_RUNNING and until is not None:
                    await self._timers.sleep(until, seconds, woken)
                    return woken()  # an event at the instant the timer ends comes first (the tie rule)
                try:
                    await workflow.wait_condition(woken, timeout=timedelta(seconds=seconds))
                except TimeoutError:
                    return False
                return True
            case ContinueAsNew(resume=resume, journey=None):
                workflow.continue_as_new(dataclasses.replace(self._input, resume=resume))
            case ContinueAsNew(resume=resume, journey=journey):
                if self._input.upsert_search_attributes:
                    workflow.upsert_search_attributes([JOURNEY_VERSION.value_set(journey["version"])])
                workflow.continue_as_new(dataclasses.replace(self._input, resume=resume, journey=journey))
            case Finish(step=step, request=request, result=result):
                self._status = result.status
                self._books.show_current_step(step, ending=True)
                await self._books.finish(request)
                return None
            case _:
                assert_never(command)
