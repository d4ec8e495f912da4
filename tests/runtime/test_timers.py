"""A wait's timer is never cancelled (interpreter revision 5): the time-skipping server that runs `journey simulate`
and `journey test` refuses a task that cancels a timer which fired while it ran, and then hangs the run."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from orchestrator.runtime.contracts import EVENT_SIGNAL, EventMessage
from orchestrator.runtime.workflow import TIMERS_LEFT_RUNNING
from orchestrator.store import OutboxMessage, Store
from tests.runtime.support import START, harness, journey

LISTEN = journey("""
    id: listen
    name: Listen, then nap
    trigger: {event: go}
    exit_on: [{event: noise, where: "event.stop | default(false)"}]
    steps:
      - id: listen
        wait_for: {event: answered, within: 2d, timeout_next: end}
      - id: nap
        wait: 3d
      - id: thanks
        send: {channel: email, subject: "Thanks", body: "x"}
    """)


async def answered_after_noise(
    env: WorkflowEnvironment, store: Store, revision: int
) -> tuple[list[EventType.ValueType], OutboxMessage]:
    """An event `listen` ignores an hour in, then the answer a minute later: the timer events of the run, and the message sent."""
    async with harness(env, store) as h:
        h.identify("c-1", {"email": "ann@example.com"})
        handle: WorkflowHandle[Any, Any] = await h.enroll(LISTEN, "c-1", revision=revision)
        await env.sleep(timedelta(hours=1))
        await handle.signal(EVENT_SIGNAL, EventMessage("noise-1", "noise", {"stop": False}))
        await env.sleep(timedelta(minutes=1))  # a wake of its own
        await handle.signal(EVENT_SIGNAL, EventMessage("answer-1", "answered"))
        result = await handle.result()
        history = await handle.fetch_history()
        (message,) = h.messages("c-1")
    assert (result.status, result.step) == ("completed", "thanks")
    timers = [event.event_type for event in history.events if "TIMER" in EventType.Name(event.event_type)]
    return timers, message


async def test_events_during_a_wait_cancel_no_timer_and_the_next_wait_ends_on_time(env: WorkflowEnvironment, store: Store) -> None:
    timers, message = await answered_after_noise(env, store, TIMERS_LEFT_RUNNING)
    # One timer for `listen` (the ignored event sleeps on it again; the answer leaves it to fire during the nap), one for `nap`.
    assert timers == [
        EventType.EVENT_TYPE_TIMER_STARTED,
        EventType.EVENT_TYPE_TIMER_STARTED,
        EventType.EVENT_TYPE_TIMER_FIRED,
        EventType.EVENT_TYPE_TIMER_FIRED,
    ]
    # The nap still counts from the answer, not from when the listen timer fired.
    assert START + timedelta(days=3, hours=1, minutes=1) <= message.sent_at < START + timedelta(days=3, hours=1, minutes=2)


async def test_an_enrollment_started_before_revision_5_keeps_cancelling_its_timers(env: WorkflowEnvironment, store: Store) -> None:
    """The gate: a new worker runs it as the worker it started on did, so its history replays."""
    timers, message = await answered_after_noise(env, store, TIMERS_LEFT_RUNNING - 1)
    assert timers.count(EventType.EVENT_TYPE_TIMER_CANCELED) == 2  # the ignored event restarted the timer, the answer ended it
    assert START + timedelta(days=3, hours=1, minutes=1) <= message.sent_at < START + timedelta(days=3, hours=1, minutes=2)
