"""A cohort's batch activities: one activity per round and kind of call, each request treated as the single activity treats it.

A cohort (orchestrator/runtime/cohort_workflow.py) carries a round's calls of one kind for all its
members as one activity, so a broadcast page costs a handful of activities per step, not one per
customer. Each batch means exactly what the single activity means for each of its requests, in order,
because it *is* the single activity's implementation run for each (JourneyActivities): the rules stay
in one place. The reports and the ends are written in one transaction a batch (the single activity's
writes for each request, in order). A batch is retried whole, and each request is idempotent as the single one is (the
delivery ledger for sends, literal values for profile writes, the index for ends), so a retry redoes
nothing that was done; a request that fails for good answers as the single activity's failure does
(a send given up after the retry window is `failed`, a failing condition is false).

`send_messages` is the exception in form, not in meaning: it is `BatchSends.send_all`
(activities/batch_sends.py), which reads and writes the store for the whole batch at once and uses the
providers' batch calls, and is held to mean what `send_message` means for each request
(tests/activities/test_batch_sends.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity

from activities.batch_sends import BatchSends
from activities.heartbeat import heartbeat
from activities.journey_activities import JourneyActivities
from orchestrator.runtime.cohort_contracts import (
    ConditionBatch,
    FinishBatch,
    ProgressBatch,
    SendBatch,
    UpdateBatch,
    ValuesBatch,
    WakeBatch,
)
from orchestrator.runtime.contracts import SendRequest, SendResult, WakeResult


class CohortActivities:
    """The batch activities over one `JourneyActivities`; register `activities()` with the worker.

    `send_all`: what sends a batch (default: `BatchSends.of(single).send_all`; the simulator passes its recorder).
    """

    def __init__(self, single: JourneyActivities, send_all: Callable[[list[SendRequest]], list[SendResult]] | None = None) -> None:
        self.single = single
        self._send_all = send_all if send_all is not None else BatchSends.of(single).send_all

    def activities(self) -> list[Any]:
        return [
            self.send_messages,
            self.evaluate_conditions_batch,
            self.wake_times,
            self.evaluate_values_batch,
            self.update_profiles,
            self.record_progress_batch,
            self.finish_enrollments,
        ]

    @activity.defn(name="send_messages", no_thread_cancel_exception=True)
    def send_messages(self, batch: SendBatch) -> list[SendResult]:
        return self._send_all(batch.requests)

    @activity.defn(name="evaluate_conditions_batch", no_thread_cancel_exception=True)
    def evaluate_conditions_batch(self, batch: ConditionBatch) -> list[list[bool]]:
        return _each(batch.requests, self.single.evaluate_conditions)

    @activity.defn(name="wake_times", no_thread_cancel_exception=True)
    def wake_times(self, batch: WakeBatch) -> list[WakeResult]:
        return _each(batch.requests, self.single.wake_time)

    @activity.defn(name="evaluate_values_batch", no_thread_cancel_exception=True)
    def evaluate_values_batch(self, batch: ValuesBatch) -> list[dict[str, Any]]:
        return _each(batch.requests, self.single.evaluate_values)

    @activity.defn(name="update_profiles", no_thread_cancel_exception=True)
    def update_profiles(self, batch: UpdateBatch) -> None:
        _each(batch.requests, self.single.update_profile)

    @activity.defn(name="record_progress_batch", no_thread_cancel_exception=True)
    def record_progress_batch(self, batch: ProgressBatch) -> None:
        self.single.record_progresses(batch.requests)

    @activity.defn(name="finish_enrollments", no_thread_cancel_exception=True)
    def finish_enrollments(self, batch: FinishBatch) -> None:
        # One transaction: the page's ends hold every member's customer lock for a moment, rather than 500 turns at the store.
        self.single.finish_enrollments(batch.requests)


def _each(requests: list[Any], single: Callable[[Any], Any]) -> list[Any]:
    """`single` for each request in order, heartbeating after each (the cohort notices a lost worker by the heartbeats)."""
    answers = []
    for request in requests:
        answers.append(single(request))
        heartbeat()
    return answers
