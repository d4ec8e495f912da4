"""`journey` holds the journey's id, its version and the step the enrollment is at, wherever an expression or a
template is evaluated at a step, run by the real workflow on the time-skipping server.

Each expression below compares `journey.id/journey.version/journey.step` with what the customer's profile
says it should be (the version is the compiled journey's, known only once it is compiled), so a wrong or
missing field takes the enrollment somewhere else.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from orchestrator import ir
from orchestrator.runtime.contracts import EventMessage
from orchestrator.simulation.simulator import ScriptedEvent, Simulator
from orchestrator.store import Store
from tests.runtime.support import START, at, harness, journey

pytestmark = pytest.mark.asyncio(loop_scope="session")

CUSTOMER = {"id": "c-1", "email": "ann@example.com"}
JOURNEY = "journey.id ~ '/' ~ journey.version ~ '/' ~ journey.step"
"""`journey` written out, `scoped/<version>/<step>`: `$JOURNEY` in the journeys below."""

STEPS = """
    id: scoped
    name: Scoped
    trigger: {event: go}
    steps:
      - id: pick
        branch:
          - when: "$JOURNEY == customer.at_pick"
            next: note
          - else: wrong
      - id: wrong
        exit: {reason: branch}
      - id: note
        update: {compute: {noted: "$JOURNEY"}}
      - id: later
        wait: {until_date: "'2026-01-20' if $JOURNEY == customer.at_later else ''", at: "10:00"}
      - id: mail
        send: {channel: email, category: transactional, subject: "{{ $JOURNEY }}", body: "{{ customer.noted }}"}
      - id: hook
        webhook: {url: "https://hooks.example.com/{{ journey.step }}", body: {at: "{{ $JOURNEY }}"}}
    """


def compiled(text: str) -> ir.Journey:
    return journey(text.replace("$JOURNEY", JOURNEY))


async def test_every_step_reads_its_own_id_with_the_journey_and_version(simulator: Simulator) -> None:
    flow = compiled(STEPS)
    expected = {step: f"scoped/{flow.version}/{step}" for step in ("pick", "note", "later", "mail", "hook")}
    customer = {**CUSTOMER, "at_pick": expected["pick"], "at_later": expected["later"]}
    timeline = await simulator.run(flow, customer, [ScriptedEvent(0, "go")], START, horizon=timedelta(days=30))
    assert timeline.outcome["status"] == "completed", timeline.outcome  # the branch's `when` held
    (mail,) = timeline.messages
    # until_date's date was chosen; the update's compute wrote its step; the send's subject names the send.
    assert (mail["at"], mail["subject"], mail["body"]) == (at("2026-01-20T10:00"), expected["mail"], expected["note"])
    (call,) = timeline.webhooks
    assert call["url"] == "https://hooks.example.com/hook" and expected["hook"] in call["body"]


WAITING = """
    id: waiting
    name: Waiting
    trigger: {event: go}
    goal: {event: bought, where: "$JOURNEY == customer.expected"}
    exit_on: [{event: left, where: "$JOURNEY == customer.expected"}]
    steps:
      - id: nap
        wait: 1d
      - id: await_open
        wait_for: {event: opened, where: "$JOURNEY == customer.expected", within: 1d, timeout_next: missed}
      - id: opened
        send: {channel: email, subject: "opened", body: "x"}
        next: end
      - id: missed
        send: {channel: email, subject: "missed", body: "x"}
    """
HOUR = 3600
DAY = 86400


@pytest.mark.parametrize(
    ("event", "offset", "step", "outcome", "subjects"),
    [
        ("bought", HOUR, "nap", {"status": "converted", "step": "nap"}, []),
        ("left", HOUR, "nap", {"status": "exited", "step": "nap"}, []),
        ("bought", DAY + HOUR, "await_open", {"status": "converted", "step": "await_open"}, []),
        ("opened", DAY + HOUR, "await_open", {"status": "completed", "step": "opened"}, ["opened"]),
        # The same events, with `journey.step` the customer does not expect: nothing matches.
        ("bought", HOUR, "await_open", {"status": "completed", "step": "missed"}, ["missed"]),
        ("left", HOUR, "await_open", {"status": "completed", "step": "missed"}, ["missed"]),
        ("opened", DAY + HOUR, "nap", {"status": "completed", "step": "missed"}, ["missed"]),
    ],
    ids=[
        "goal-at-a-wait", "exit-on-at-a-wait", "goal-at-a-wait-for", "wait-for", "goal-elsewhere", "exit-on-elsewhere", "wait-for-elsewhere"
    ],
)
async def test_goal_exit_on_and_wait_for_read_the_step_the_enrollment_waits_at(
    simulator: Simulator, event: str, offset: int, step: str, outcome: dict[str, Any], subjects: list[str]
) -> None:
    flow = compiled(WAITING)
    customer = {**CUSTOMER, "expected": f"waiting/{flow.version}/{step}"}
    timeline = await simulator.run(flow, customer, [ScriptedEvent(0, "go"), ScriptedEvent(offset, event)], START)
    assert {key: timeline.outcome[key] for key in outcome} == outcome
    assert [m["subject"] for m in timeline.messages] == subjects


async def test_an_event_applied_before_the_first_step_reads_the_first_step(env: WorkflowEnvironment, store: Store) -> None:
    flow = compiled(WAITING)
    async with harness(env, store) as h:
        h.identify("c-2", {"expected": f"waiting/{flow.version}/nap"})
        handle = await h.enroll(flow, "c-2", with_event=EventMessage("early", "bought"))
        result = await handle.result()
    assert (result.status, result.step) == ("converted", None)  # it converted before entering a step
