"""Why an enrollment ended is in its index row, and a step that could not do its part notes why, with the real workflow."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from orchestrator.runtime.contracts import EVENT_SIGNAL, EventMessage
from orchestrator.simulation.simulator import ScriptedEvent, Simulator
from orchestrator.store import Store
from tests.runtime.support import START, harness, journey
from tests.store.support import enrollment_row

pytestmark = pytest.mark.asyncio(loop_scope="session")

ENDINGS = """
    id: endings
    name: Endings
    trigger: {event: go}
    goal: {event: bought}
    exit_on: [unsubscribed, complained]
    steps:
      - id: route
        branch:
          - when: "customer.plan == 'enterprise'"
            next: hand_over
          - when: "customer.plan == 'none'"
            next: stop
          - else: rest
      - id: hand_over
        exit: {reason: "enterprise account: onboarding is run by customer success"}
      - id: stop
        exit: true
      - id: rest
        wait: 2d
    """


@pytest.mark.parametrize(
    ("plan", "event", "status", "step", "reason"),
    [
        ("enterprise", None, "exited", "hand_over", "enterprise account: onboarding is run by customer success"),
        ("none", None, "exited", "stop", "exit step stop"),
        ("pro", "complained", "exited", "rest", "exit_on: complained"),
        ("pro", "bought", "converted", "rest", "goal: bought"),
        ("pro", None, "completed", "rest", None),
    ],
    ids=["exit-step", "exit-step-without-reason", "exit-on", "goal", "completed"],
)
async def test_the_index_row_keeps_why_the_enrollment_ended(
    env: WorkflowEnvironment, store: Store, plan: str, event: str | None, status: str, step: str, reason: str | None
) -> None:
    flow = journey(ENDINGS)
    async with harness(env, store) as h:
        h.identify("c-1", {"email": "ann@example.com", "plan": plan})
        with store.session() as session:
            session.start_enrollment("endings-c1-1", flow.id, flow.version, "c-1", START)
        handle = await h.enroll(flow, "c-1", enrollment_id="endings-c1-1")
        if event is not None:
            await env.sleep(timedelta(hours=1))
            await handle.signal(EVENT_SIGNAL, EventMessage("m-1", event))
        result = await handle.result()
    row = enrollment_row(store, "endings-c1-1")
    assert row is not None
    assert (row.status, row.current_step, row.end_reason) == (status, step, reason)
    assert (result.status, result.step) == (status, step)


async def test_a_webhook_still_failing_after_every_retry_is_noted_and_the_journey_goes_on(env: WorkflowEnvironment, store: Store) -> None:
    flow = journey(
        """
        id: crm
        name: CRM
        trigger: {event: go}
        steps:
          - id: tell_crm
            webhook: {url: "https://crm.example.com/contacts", body: {id: "{{ customer.id }}"}}
          - id: hello
            send: {channel: email, subject: "hello", body: "x"}
        """
    )
    down = httpx.Client(transport=httpx.MockTransport(lambda _: httpx.Response(503)))
    async with harness(env, store, http=down) as h:
        h.identify("c-1", {"email": "ann@example.com"})
        result = await (await h.enroll(flow, "c-1", enrollment_id="crm-c1-1")).result()
        messages = h.messages("c-1")
    assert result.status == "completed" and [m.step_id for m in messages] == ["hello"]
    with store.read() as session:
        (problem,) = session.problems_for("c-1")
    assert (problem.enrollment_id, problem.step_id, problem.visit, problem.field) == ("crm-c1-1", "tell_crm", 1, "call")
    assert problem.problem == "failed after 8 attempts, the journey went on without it: HTTP 503"
    assert problem.occurred_at.replace(microsecond=0) == START  # the journey's clock when the step ran


async def test_an_update_visited_again_notes_its_problem_at_each_visit(simulator: Simulator) -> None:
    flow = journey(
        """
        id: loop
        name: Loop
        trigger: {event: go}
        steps:
          - id: zone
            update: {compute: {timezone: "event.tz"}}
          - id: nap
            wait_for: {event: again, within: 1d, timeout_next: end}
            next: zone
        """
    )
    events = [ScriptedEvent(0, "go", {"tz": "Mars/Olympus"}), ScriptedEvent(3600, "again")]
    looped = await simulator.run(flow, {"id": "c-1"}, events, START)
    assert [(p["at"], p["step"], p["field"]) for p in looped.problems] == [
        ("2026-01-05T09:00:00Z", "zone", "timezone"),
        ("2026-01-05T10:00:00Z", "zone", "timezone"),
    ]
    assert looped.outcome["status"] == "completed" and "reason" not in looped.outcome
