"""A cohort on Temporal: one workflow for a broadcast page's enrollments, a thin shell around the cohort scheduler.

The scheduler (cohort.py) decides when each member's commands run and groups them; each member's
decisions are the interpreter core's, as in `JourneyWorkflow`. This shell carries out what the
scheduler yields the Temporal way: a round's reports as one `record_progress_batch`, its calls
as one batch activity per kind, run together (`send_messages`, `evaluate_conditions_batch`,
`wake_times`, `evaluate_values_batch`, `update_profiles`; a webhook step's call stays one
`call_webhook` per member, with its own retries, since each is its own HTTP call anyway), its ends as
one `finish_enrollments`; a sleep as one timer raced against the signals; continue-as-new with the
parked members. The reports and ends are regular activities, not local ones as a lone enrollment's
are: a page's batch may wait for many customers' leases, longer than a workflow task should be held,
and its three history events are paid once per page, not per customer. Signals only change the
scheduler's state (`member_event` queues an event for one member, `cancel` marks every member,
`forget_member` drops one whose customer is being erased);
`member_status` answers what `status` answers for a lone enrollment.

A member's `Entered` and its CurrentStep bookkeeping are not carried out: a cohort has no per-member
search attributes, and the enrollment index is where a customer's enrollments are looked up.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timedelta
from typing import Any, assert_never

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from orchestrator.runtime.activity_calls import ACTIVITY_TIMEOUT, FINISH_TIMEOUT, call, call_webhook
    from orchestrator.runtime.cohort import CallBatch, Cohort, CohortCommand, ContinueCohort, Round, Sleep
    from orchestrator.runtime.cohort_contracts import (
        COHORT_CANCEL_SIGNAL,
        COHORT_WORKFLOW,
        FORGET_MEMBER_SIGNAL,
        MEMBER_EVENT_SIGNAL,
        MEMBER_STATUS_QUERY,
        CohortCancel,
        CohortInput,
        ConditionBatch,
        FinishBatch,
        ForgetMember,
        MemberEvent,
        ProgressBatch,
        SendBatch,
        UpdateBatch,
        ValuesBatch,
        WakeBatch,
    )
    from orchestrator.runtime.contracts import EnrollmentStatus, SendResult, WakeResult
    from orchestrator.runtime.interpreter import BadJourney
    from orchestrator.runtime.timers import Timers

__all__ = ["COHORT_HISTORY_LIMIT", "JourneyCohort"]

COHORT_HISTORY_LIMIT = 10_000
"""Continue as new past this many history events: a page's rounds add a few events each, whatever its size."""

BATCHES: dict[str, tuple[str, Any, Any]] = {
    "send_message": ("send_messages", SendBatch, list[SendResult]),
    "evaluate_conditions": ("evaluate_conditions_batch", ConditionBatch, list[list[bool]]),
    "wake_time": ("wake_times", WakeBatch, list[WakeResult]),
    "evaluate_values": ("evaluate_values_batch", ValuesBatch, list[dict[str, Any]]),
    "update_profile": ("update_profiles", UpdateBatch, None),
}
"""A member's activity -> the batch activity that carries a round's calls of it, its input and its answer's type."""


BATCH_HEARTBEAT = timedelta(seconds=60)
"""A batch heartbeats after each request or provider call, and while it waits for customers' leases; a worker lost in
the middle of a page is noticed within this, as a lone send's is by its 60 s timeout, and the batch retried elsewhere
(what was recorded is not done again). Not shorter: a retry must not start while a live attempt is still between a
provider's answer and its record (docs/delivery.md, "The crash window"), and a provider call may take 10 s."""


def batch_timeout(size: int) -> timedelta:
    """One attempt of a batch: the single activity's timeout, and a second more per request, since they run one after another."""
    return ACTIVITY_TIMEOUT + timedelta(seconds=size)


class _TemporalCohortHost:
    """The scheduler's clock and history length, from Temporal."""

    def __init__(self, start: CohortInput) -> None:
        self._shift = timedelta(seconds=start.clock_shift_seconds)
        self._limit = start.history_limit or COHORT_HISTORY_LIMIT

    def now(self) -> datetime:
        return workflow.now() + self._shift

    def history_is_long(self) -> bool:
        info = workflow.info()
        return info.get_current_history_length() >= self._limit or info.is_continue_as_new_suggested()

    def note(self, message: str) -> None:
        workflow.logger.info(message)


@workflow.defn(name=COHORT_WORKFLOW)
class JourneyCohort:
    @workflow.init
    def __init__(self, start: CohortInput) -> None:
        # Built here, not in `run`: a signal sent with the start or before the first task is handled before `run` begins.
        self._input = start
        self._host = _TemporalCohortHost(start)
        self._cohort = Cohort(start, self._host)
        self._timers = Timers()

    @workflow.signal(name=MEMBER_EVENT_SIGNAL)
    def on_member_event(self, message: MemberEvent) -> None:
        if not self._cohort.receive(message.enrollment_id, message.event):
            workflow.logger.info("cohort %s: no running member %s for an event", self._input.cohort_id, message.enrollment_id)

    @workflow.signal(name=COHORT_CANCEL_SIGNAL)
    def on_cancel(self, request: CohortCancel) -> None:
        self._cohort.cancel(request.reason)

    @workflow.signal(name=FORGET_MEMBER_SIGNAL)
    def on_forget_member(self, request: ForgetMember) -> None:
        self._cohort.forget(request.enrollment_id)

    @workflow.query(name=MEMBER_STATUS_QUERY)
    def member_status(self, enrollment_id: str) -> EnrollmentStatus | None:
        return self._cohort.status(enrollment_id)

    @workflow.run
    async def run(self, start: CohortInput) -> None:
        steps = self._cohort.run()
        answer: Any = None
        while True:
            try:
                command = steps.send(answer)
            except StopIteration:
                return
            except BadJourney as bad:
                raise ApplicationError(str(bad), type="BadJourney", non_retryable=True) from None
            answer = await self._carry_out(command)

    async def _carry_out(self, command: CohortCommand) -> Any:
        match command:
            case Round(reports=reports, calls=calls, finishes=finishes):
                if reports:
                    await call("record_progress_batch", ProgressBatch(reports), None, batch_timeout(len(reports)), BATCH_HEARTBEAT)
                answers = await asyncio.gather(*(self._calls(batch) for batch in calls))
                if finishes:
                    # Each end may wait for its customer's lease (FINISH_TIMEOUT says how long).
                    timeout = FINISH_TIMEOUT + timedelta(seconds=len(finishes))
                    await call("finish_enrollments", FinishBatch(finishes), None, timeout, BATCH_HEARTBEAT)
                return {batch.activity: answer for batch, answer in zip(calls, answers, strict=True)}
            case Sleep(until=until):
                await self._sleep(until)
                return None
            case ContinueCohort(members=members):
                workflow.continue_as_new(dataclasses.replace(self._input, members=members))
            case _:
                assert_never(command)

    async def _sleep(self, until: datetime | None) -> None:
        """Until `until` (None: for ever) or until the scheduler has news (a member's event, the cancel).

        Woken early, the cohort leaves the timer running (timers.py): most next sleeps are to the same instant.
        """
        if until is None:
            await workflow.wait_condition(self._cohort.has_news)
            return
        remaining = (until - self._host.now()).total_seconds()
        if remaining <= 0:
            return
        await self._timers.sleep(until, remaining, self._cohort.has_news)

    async def _calls(self, batch: CallBatch) -> list[Any]:
        """A round's calls of one activity, answered in order."""
        if batch.activity == "call_webhook":
            return list(await asyncio.gather(*(call_webhook(request) for request in batch.requests)))
        if batch.activity not in BATCHES:
            raise ApplicationError(f"a cohort member called {batch.activity}, which cohorts do not carry", non_retryable=True)
        name, wrap, result_type = BATCHES[batch.activity]
        size = len(batch.requests)
        answer = await call(name, wrap(batch.requests), result_type, batch_timeout(size), BATCH_HEARTBEAT)
        return [None] * size if result_type is None else list(answer)
