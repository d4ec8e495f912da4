"""A step reads the event its `wait_for` matched as `events.<step id>`, run by the real workflow on the time-skipping server.

`event` stays the trigger; a wait that timed out leaves its `events.<id>` missing; in a loop the latest match
wins; what is remembered survives continue-as-new; enrollments started before interpreter revision 2 remember
nothing (the gate), and a journey remembers only the matches it reads.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from orchestrator.runtime.contracts import (
    EVENT_SIGNAL,
    STATUS_QUERY,
    WORKFLOW_NAME,
    AwaitedEvent,
    EnrollmentInput,
    EnrollmentResult,
    EnrollmentStatus,
    EventMessage,
)
from orchestrator.runtime.interpreter import REMEMBERS_AWAITED_EVENTS
from orchestrator.simulation.simulator import ScriptedEvent, Simulator
from orchestrator.store import Store
from tests.runtime.support import START, at, harness, journey
from tests.runtime.test_durability import runs_of

pytestmark = pytest.mark.asyncio(loop_scope="session")

CUSTOMER = {"id": "c-1", "email": "ann@example.com"}
HOUR = 3600

SURVEY = """
    id: survey
    name: Survey
    trigger: {event: ordered}
    steps:
      - id: await_score
        wait_for: {event: nps_submitted, within: 2d, timeout_next: route}
      - id: route
        branch:
          - when: "events.await_score.properties.score >= 9"
            next: thanks
          - when: "events.await_score.properties.score is defined"
            next: sorry
          - else: silent
      - id: thanks
        send:
          channel: email
          subject: "Thanks for the {{ events.await_score.properties.score }}/10 on order {{ event.order_id }}"
          body: "{{ events.await_score.name }} at {{ events.await_score.timestamp }}"
        next: end
      - id: sorry
        send: {channel: email, subject: "Sorry about {{ events.await_score.properties.score }}", body: "x"}
        next: end
      - id: silent
        send: {channel: email, subject: "We missed you", body: "Your score: {{ events.await_score.properties.score }}"}
    """


async def test_a_branch_and_a_message_read_the_awaited_event_while_event_stays_the_trigger(simulator: Simulator) -> None:
    events = [ScriptedEvent(0, "ordered", {"order_id": "A-1"}), ScriptedEvent(2 * HOUR, "nps_submitted", {"score": 10})]
    timeline = await simulator.run(journey(SURVEY), CUSTOMER, events, START)
    assert [s["step"] for s in timeline.steps] == ["await_score", "route", "thanks"]
    (message,) = timeline.messages
    assert message["subject"] == "Thanks for the 10/10 on order A-1"
    assert message["body"].startswith(f"nps_submitted at {at('2026-01-05T11:00')}")


async def test_a_low_score_takes_the_other_branch(simulator: Simulator) -> None:
    events = [ScriptedEvent(0, "ordered"), ScriptedEvent(HOUR, "nps_submitted", {"score": 3})]
    timeline = await simulator.run(journey(SURVEY), CUSTOMER, events, START)
    assert [m["subject"] for m in timeline.messages] == ["Sorry about 3"]


async def test_after_a_timeout_the_awaited_event_is_missing_none_in_a_condition_and_an_error_in_a_template(
    simulator: Simulator,
) -> None:
    timeline = await simulator.run(journey(SURVEY), CUSTOMER, [ScriptedEvent(0, "ordered")], START)
    # Both conditions read a missing value as none: false, so the branch takes `else`...
    assert [s["step"] for s in timeline.steps] == ["await_score", "route", "silent"]
    # ...and the strict template of the message there fails, naming what is missing.
    (skipped,) = timeline.skipped
    assert skipped["step"] == "silent" and "await_score" in skipped["reason"]
    assert timeline.messages == []


LOOP = """
    id: loop
    name: Loop
    trigger: {event: go}
    exit_on: [{event: stop, where: "events.listen.properties.n == 3"}]
    steps:
      - id: listen
        wait_for: {event: answered, within: 2d, timeout_next: end}
      - id: echo
        send: {channel: email, subject: "You said {{ events.listen.properties.n }}", body: "x"}
      - id: pause
        wait: 1h
        next: listen
    """


async def test_in_a_loop_the_latest_match_wins_and_exit_on_reads_it(simulator: Simulator) -> None:
    answers = [ScriptedEvent(0, "go")] + [ScriptedEvent(n * 3 * HOUR, "answered", {"n": n}) for n in (1, 2, 3)]
    stops = [ScriptedEvent(n * 3 * HOUR + HOUR, "stop") for n in (1, 2, 3)]  # only the third finds n == 3
    timeline = await simulator.run(journey(LOOP), CUSTOMER, answers + stops, START)
    assert [m["subject"] for m in timeline.messages] == ["You said 1", "You said 2", "You said 3"]
    assert timeline.outcome["status"] == "exited" and timeline.outcome["at"] == at("2026-01-05T19:00")


async def test_what_was_matched_is_carried_when_the_enrollment_continues_as_new(env: WorkflowEnvironment, store: Store) -> None:
    flow = journey(
        """
        id: long
        name: Long
        trigger: {event: go}
        exit_on: [{event: noise, where: "event.stop"}]
        steps:
          - id: listen
            wait_for: {event: answered, within: 1d}
          - id: pause
            wait: 10d
          - id: echo
            send: {channel: email, subject: "You said {{ events.listen.properties.n }}", body: "x"}
        """
    )
    async with harness(env, store) as h:
        h.identify("c-1", {"email": "ann@example.com"})
        handle = await h.enroll(flow, "c-1", history_limit=40)
        await env.sleep(timedelta(minutes=1))  # into the wait_for: an event that comes before it is not for it
        await handle.signal(EVENT_SIGNAL, EventMessage("answer", "answered", {"n": 7}))
        for n in range(20):  # conditions evaluated while it pauses: the history grows and it continues as new
            await env.sleep(timedelta(hours=1))
            await handle.signal(EVENT_SIGNAL, EventMessage(f"noise-{n}", "noise", {"stop": False}))
        result = await handle.result()
        assert (result.status, result.step) == ("completed", "echo")
        assert [m.subject for m in h.messages("c-1")] == ["You said 7"]
    assert await runs_of(env, handle) >= 2


ECHO = """
    id: echo
    name: Echo
    trigger: {event: go}
    steps:
      - id: listen
        wait_for: {event: answered, within: 1d}
      - id: ignored
        wait_for: {event: answered, within: 1d}
      - id: wait_a_bit
        wait: 1h
      - id: echo
        send: {channel: email, subject: "You said {{ events.listen.properties.n | default('nothing') }}", body: "x"}
    """


async def test_only_the_matches_the_journey_reads_are_remembered(env: WorkflowEnvironment, store: Store) -> None:
    async with harness(env, store) as h:
        h.identify("c-1", {"email": "ann@example.com"})
        handle = await h.enroll(journey(ECHO), "c-1")
        await env.sleep(timedelta(minutes=1))
        await handle.signal(EVENT_SIGNAL, EventMessage("a-1", "answered", {"n": 1}, "2026-01-05T09:00:00+00:00"))
        await env.sleep(timedelta(minutes=1))
        await handle.signal(EVENT_SIGNAL, EventMessage("a-2", "answered", {"n": 2}))
        await env.sleep(timedelta(minutes=1))
        status: EnrollmentStatus = await handle.query(STATUS_QUERY, result_type=EnrollmentStatus)
        assert status.step == "wait_a_bit"
        assert status.awaited == {"listen": AwaitedEvent("answered", {"n": 1}, "2026-01-05T09:00:00+00:00")}
        await handle.result()
        assert [m.subject for m in h.messages("c-1")] == ["You said 1"]


async def test_an_enrollment_started_before_the_revision_remembers_nothing(env: WorkflowEnvironment, store: Store) -> None:
    """The gate: an enrollment from before revision 2 replays as it ran, so it never starts remembering midway."""
    flow = journey(ECHO)
    async with harness(env, store) as h:
        h.identify("c-1", {"email": "ann@example.com"})
        enrollment_id = f"echo-{uuid.uuid4().hex[:8]}"
        shift = (START - await env.get_current_time()).total_seconds()
        old = EnrollmentInput(
            flow.to_dict(), "c-1", enrollment_id, None, shift, upsert_search_attributes=False, revision=REMEMBERS_AWAITED_EVENTS - 1
        )
        handle = await env.client.start_workflow(WORKFLOW_NAME, old, id=enrollment_id, task_queue=h.queue, result_type=EnrollmentResult)
        await env.sleep(timedelta(minutes=1))
        await handle.signal(EVENT_SIGNAL, EventMessage("a-1", "answered", {"n": 1}))
        await handle.result()
        (message,) = h.messages("c-1")
        # `listen` matched (the message comes a day after it, not two), yet nothing was remembered.
        assert message.subject == "You said nothing" and message.sent_at < START + timedelta(days=1, hours=2)
