"""The limits users rely on: long waits, long-running loops (continue-as-new), large journeys, pinned versions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from orchestrator import ir
from orchestrator.runtime.contracts import EVENT_SIGNAL, STATUS_QUERY, EnrollmentStatus, EventMessage
from orchestrator.simulation.simulator import ScriptedEvent, Simulator
from orchestrator.store import Store
from tests.runtime.support import START, at, harness, journey

pytestmark = pytest.mark.asyncio(loop_scope="session")

CUSTOMER = {"id": "c-1", "email": "ann@example.com"}


async def runs_of(env: WorkflowEnvironment, handle: WorkflowHandle[Any, Any]) -> int:
    """How many runs the enrollment has had: 1 + the number of times it continued as new."""
    runs, run_id = 0, handle.first_execution_run_id or handle.result_run_id
    while run_id:
        runs += 1
        history = await env.client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
        last = history.events[-1]
        run_id = (
            last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
            else None
        )
    return runs


async def test_a_two_year_wait_ends_on_the_day(simulator: Simulator) -> None:
    flow = journey(
        """
        id: patience
        name: Patience
        trigger: {event: go}
        steps:
          - id: two_years
            wait: 730d
          - id: anniversary
            send: {channel: email, subject: "Two years", body: "x"}
          - id: reply
            wait_for: {event: replied, within: 730d, timeout_next: end}
        """
    )
    timeline = await simulator.run(flow, CUSTOMER, [ScriptedEvent(0, "go")], START, horizon=timedelta(days=5 * 365))
    assert [(m["step"], m["at"]) for m in timeline.messages] == [("anniversary", at("2028-01-05T09:00"))]
    assert timeline.outcome == {"status": "completed", "step": "reply", "at": at("2030-01-04T09:00")}


WEEKLY = """
    id: weekly
    name: Weekly
    trigger: {event: go}
    goal: {event: bought, within: 360d}
    exit_on: [unsubscribed]
    steps:
      - id: nap
        wait: 7d
      - id: ping
        send: {channel: email, subject: "Week {{ customer.weeks | default(0) + 1 }}", body: "x"}
      - id: count
        update: {compute: {weeks: "customer.weeks | default(0) + 1"}}
        next: nap
    """


async def test_a_looping_journey_runs_for_a_year_continuing_as_new(env: WorkflowEnvironment, store: Store) -> None:
    flow = journey(WEEKLY)
    async with harness(env, store) as h:
        h.identify("c-1", {"email": "ann@example.com"})
        handle = await h.enroll(flow, "c-1", history_limit=200)
        await env.sleep(timedelta(days=364, hours=1))
        # Still answering, and still on the loop after a year.
        status: EnrollmentStatus = await handle.query(STATUS_QUERY, result_type=EnrollmentStatus)
        assert (status.status, status.step) == ("running", "nap")
        # The goal window (360 days from entry) has closed: carried across runs, not restarted.
        await handle.signal(EVENT_SIGNAL, EventMessage("m-1", "bought"))
        await handle.signal(EVENT_SIGNAL, EventMessage("m-2", "unsubscribed"))
        result = await handle.result()
        messages = h.messages("c-1")
    assert (result.status, result.step) == ("exited", "nap")
    # One message a week, none lost or repeated: visit counts (the send's idempotency key) survive each new run.
    assert [m.subject for m in messages] == [f"Week {n}" for n in range(1, 53)]
    assert [m.sent_at.date() for m in messages] == [(START + timedelta(days=7 * n)).date() for n in range(1, 53)]
    assert {m.version for m in messages} == {flow.version}
    assert await runs_of(env, handle) >= 3


async def test_a_long_wait_for_with_many_events_continues_as_new_mid_wait(env: WorkflowEnvironment, store: Store) -> None:
    flow = journey(
        """
        id: patient
        name: Patient
        trigger: {event: go}
        exit_on: [{event: noise, where: "event.stop | default(false)"}]
        steps:
          - id: hello
            send: {channel: email, subject: "hello", body: "x"}
          - id: answer
            wait_for: {event: answered, within: 10d, timeout_next: nag}
          - id: thanks
            send: {channel: email, subject: "thanks", body: "x"}
            next: end
          - id: nag
            send: {channel: email, subject: "nag", body: "x"}
        """
    )
    async with harness(env, store) as h:
        h.identify("c-1", {"email": "ann@example.com"})
        answered = await h.enroll(flow, "c-1", history_limit=60)
        timed_out = await h.enroll(flow, "c-2", history_limit=60)
        h.identify("c-2", {"email": "bob@example.com"})
        for n in range(20):  # every one needs a condition evaluated: the history grows while waiting
            await env.sleep(timedelta(hours=1))
            for handle in (answered, timed_out):
                await handle.signal(EVENT_SIGNAL, EventMessage(f"noise-{n}", "noise", {"stop": False}))
        await answered.signal(EVENT_SIGNAL, EventMessage("answer", "answered"))
        first, second = await answered.result(), await timed_out.result()
        status: EnrollmentStatus = await answered.query(STATUS_QUERY, result_type=EnrollmentStatus)
        assert [t.step for t in status.trail] == ["hello", "answer", "thanks"]  # the wait was not entered again
        assert (first.status, first.step, second.step) == ("completed", "thanks", "nag")
        # The 10-day deadline was carried into the new run, not restarted.
        (nag,) = [m for m in h.messages("c-2") if m.subject == "nag"]
        assert nag.sent_at.replace(microsecond=0) == START + timedelta(days=10)
        assert await runs_of(env, answered) >= 2 and await runs_of(env, timed_out) >= 2


def big_journey(steps: int, body_size: int) -> str:
    """`steps` sends of `body_size`-character bodies; the first step jumps straight to the last one."""
    lines = [
        "id: big\nname: Big\ntrigger: {event: go}\nsteps:\n",
        "  - id: start\n    branch:\n      - when: 'true'\n        next: s" + str(steps - 1) + "\n      - else: s0\n",
    ]
    for n in range(steps):
        following = f"s{n + 1}" if n + 1 < steps else "end"
        lines.append(f"  - id: s{n}\n    send: {{channel: email, subject: 'Part {n}', body: '{'x' * body_size}'}}\n    next: {following}\n")
    return "".join(lines)


async def test_a_journey_of_a_thousand_steps_runs_and_continues_as_new(env: WorkflowEnvironment, store: Store) -> None:
    flow = journey(big_journey(1000, 1000))
    assert len(flow.to_json()) > 1_000_000  # the whole IR is the input of every run
    async with harness(env, store) as h:
        h.identify("c-1", {"email": "ann@example.com"})
        handle = await h.enroll(flow, "c-1", history_limit=5)
        result = await handle.result()
        assert (result.status, result.step) == ("completed", "s999")
        assert [m.subject for m in h.messages("c-1")] == ["Part 999"]
    assert await runs_of(env, handle) >= 2


async def test_an_enrollment_keeps_its_version_when_the_journey_changes(env: WorkflowEnvironment, store: Store) -> None:
    text = """
        id: pinned
        name: Pinned
        trigger: {event: go}
        steps:
          - id: later
            wait: 1d
          - id: hello
            send: {channel: email, subject: "COPY", body: "x"}
        """
    old, new = journey(text.replace("COPY", "old copy")), journey(text.replace("COPY", "new copy"))
    assert old.version != new.version
    async with harness(env, store) as h:
        for customer in ("c-1", "c-2"):
            h.identify(customer, {"email": f"{customer}@example.com"})
        first = await h.enroll(old, "c-1", history_limit=3)  # continues as new on the way: the IR travels along
        await env.sleep(timedelta(hours=12))
        second = await h.enroll(new, "c-2")
        await first.result()
        await second.result()
        assert [(m.subject, m.version) for m in h.messages("c-1")] == [("old copy", old.version)]
        assert [(m.subject, m.version) for m in h.messages("c-2")] == [("new copy", new.version)]


async def test_a_broken_journey_graph_fails_the_enrollment_instead_of_retrying_forever(env: WorkflowEnvironment, store: Store) -> None:
    flow = journey(
        """
        id: broken
        name: Broken
        trigger: {event: go}
        steps:
          - id: only
            wait: 1h
        """
    )
    # The compiler never produces this; an IR edited by hand (or a bug) might.
    broken = ir.Journey.from_dict({**flow.to_dict(), "steps": [{**flow.to_dict()["steps"][0], "next": "gone"}]})
    async with harness(env, store) as h:
        handle = await h.enroll(broken, "c-1")
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type == "BadJourney"
    assert "no step 'gone'" in failure.value.cause.message
