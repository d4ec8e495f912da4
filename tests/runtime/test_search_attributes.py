"""Enrollments are findable by JourneyId, JourneyVersion, CurrentStep and CustomerId, with nothing personal in them.

The time-skipping server has no custom search attributes, so this runs on the Temporal
dev server (real time: the journey only waits for an event) and starts the enrollment
the way the API does, through the gateway, from a thread.
"""

from __future__ import annotations

import asyncio
import json
import textwrap
import time
from collections.abc import AsyncIterator

import pytest
from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from orchestrator.routing.calls import SignalCall, StartCall
from orchestrator.routing.gateway import LoopGateway
from orchestrator.runtime.contracts import (
    EVENT_SIGNAL,
    INTERPRETER_REVISION,
    STATUS_QUERY,
    EnrollmentInput,
    EnrollmentResult,
    EnrollmentStatus,
    EventMessage,
)
from orchestrator.runtime.search_attributes import (
    CURRENT_STEP,
    CUSTOMER_ID,
    JOURNEY_ID,
    JOURNEY_VERSION,
    SEARCH_ATTRIBUTES,
    first_resting_step,
)
from orchestrator.store import Store
from tests.keys import CUSTOMER_KEYS
from tests.runtime.support import dev_environment, harness, journey

EMAIL = "ann@example.com"


@pytest.fixture(scope="module")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    async with dev_environment() as env:
        yield env


async def step_becomes(handle: WorkflowHandle[object, object], step: str) -> dict[str, str]:
    deadline = time.monotonic() + 20
    while True:
        attributes = (await handle.describe()).typed_search_attributes
        values = {key.name: attributes.get(key) for key in SEARCH_ATTRIBUTES}
        if values["CurrentStep"] == step or time.monotonic() > deadline:
            return values
        await asyncio.sleep(0.1)


async def waits_at(handle: WorkflowHandle[object, object], step: str) -> None:
    """Until the enrollment has entered `step`: the start call may show a step before the enrollment gets there, and
    an event signalled before it waits there arrives too early to count."""
    while (await handle.query(STATUS_QUERY, result_type=EnrollmentStatus)).step != step:
        await asyncio.sleep(0.05)


async def test_enrollments_carry_search_attributes_without_personal_data(dev_env: WorkflowEnvironment, store: Store) -> None:
    flow = journey(
        """
        id: findable
        name: Findable
        trigger: {event: go}
        steps:
          - id: hello
            send: {channel: email, subject: "hello", body: "x"}
          - id: answer
            wait_for: {event: answered}
          - id: thanks
            send: {channel: email, subject: "thanks", body: "x"}
        """
    )
    async with harness(dev_env, store) as h:
        h.identify(EMAIL, {"email": EMAIL})
        gateway = LoopGateway(dev_env.client, asyncio.get_running_loop(), task_queue=h.queue)
        workflow_id = CUSTOMER_KEYS.enrollment_id(flow.id, EMAIL, 1)
        trigger = EventMessage("m-0", "go")
        start_input = EnrollmentInput(flow.to_dict(), EMAIL, workflow_id, trigger, revision=INTERPRETER_REVISION)
        start = StartCall(EMAIL, start_input, flow, CUSTOMER_KEYS.key(EMAIL))
        assert await asyncio.to_thread(gateway.execute, [start]) == [True]
        handle = dev_env.client.get_workflow_handle(workflow_id, result_type=EnrollmentResult)

        values = await step_becomes(handle, "answer")
        await waits_at(handle, "answer")
        assert values == {
            JOURNEY_ID.name: "findable",
            JOURNEY_VERSION.name: flow.version,
            CURRENT_STEP.name: "answer",
            CUSTOMER_ID.name: CUSTOMER_KEYS.key(EMAIL),
        }
        assert not any(EMAIL in str(value) or "@" in str(value) for value in [workflow_id, *values.values()])

        await asyncio.to_thread(gateway.execute, [SignalCall(EMAIL, workflow_id, EventMessage("m-1", "answered"))])
        result = await handle.result()
        assert (result.status, result.step) == ("completed", "thanks")


async def test_current_step_is_written_only_where_an_enrollment_waits(dev_env: WorkflowEnvironment, store: Store) -> None:
    """Each upsert is a visibility write on the server: the steps an enrollment passes through in one go are never shown,
    nor is its end step (the result names it), nor TemporalChangeVersion (the interpreter revision is in the input)."""
    flow = journey(
        """
        id: upserts
        name: Upserts
        trigger: {event: go}
        steps:
          - id: answer
            wait_for: {event: answered}
          - id: hello
            send: {channel: email, subject: "hello", body: "x"}
          - id: pause
            wait: 1s
          - id: thanks
            send: {channel: email, subject: "thanks", body: "x"}
        """
    )
    async with harness(dev_env, store) as h:
        h.identify(EMAIL, {"email": EMAIL})
        handle = await h.enroll(flow, EMAIL, search_attributes=True)
        assert (await step_becomes(handle, "answer"))[CURRENT_STEP.name] == "answer"  # the start call's value
        await waits_at(handle, "answer")
        await handle.signal(EVENT_SIGNAL, EventMessage("m-1", "answered"))
        assert (await handle.result()).step == "thanks"
        history = await handle.fetch_history()

    assert upserted_steps(history) == ["pause"]  # not `answer` (the start set it), not `hello` (passed through), not `thanks` (the end)
    upserts = [e.upsert_workflow_search_attributes_event_attributes.search_attributes for e in history.events]
    assert [name for attributes in upserts for name in attributes.indexed_fields] == [CURRENT_STEP.name]
    markers = [e.marker_recorded_event_attributes.marker_name for e in history.events if e.HasField("marker_recorded_event_attributes")]
    # `record_progress` where it first blocks (answer: no send before it records that rest) and `finish_enrollment`,
    # both local; no patch marker
    assert markers == ["core_local_activity"] * 2


def upserted_steps(history: WorkflowHistory) -> list[str]:
    return [
        json.loads(attributes.search_attributes.indexed_fields[CURRENT_STEP.name].data)
        for attributes in (e.upsert_workflow_search_attributes_event_attributes for e in history.events)
        if CURRENT_STEP.name in attributes.search_attributes.indexed_fields
    ]


async def test_an_enrollment_that_sends_then_waits_is_shown_at_the_wait_from_its_start(dev_env: WorkflowEnvironment, store: Store) -> None:
    """A welcome series: the first send is over in a moment, so the start shows the wait and nothing is upserted."""
    flow = journey(
        """
        id: welcome
        name: Welcome
        trigger: {event: go}
        steps:
          - id: hello
            send: {channel: email, subject: "hello", body: "x"}
          - id: remember
            update: {set: {welcomed: true}}
          - id: pause
            wait: 2s
          - id: tips
            send: {channel: email, subject: "tips", body: "x"}
        """
    )
    async with harness(dev_env, store) as h:
        h.identify(EMAIL, {"email": EMAIL})
        handle = await h.enroll(flow, EMAIL, search_attributes=True)
        assert (await handle.describe()).typed_search_attributes.get(CURRENT_STEP) == "pause"  # set by the start call
        assert (await handle.result()).step == "tips"
        assert [m.subject for m in h.messages(EMAIL)] == ["hello", "tips"]
        history = await handle.fetch_history()
    assert upserted_steps(history) == []


@pytest.mark.parametrize(
    ("steps", "shown"),
    [
        pytest.param("- {id: pause, wait: 1d}", "pause", id="a wait first"),
        pytest.param(
            """
            - {id: hello, send: {channel: email, subject: hi, body: x}}
            - {id: answer, wait_for: {event: answered, within: 1d}}
            """,
            "answer",
            id="a send, then wait_for",
        ),
        pytest.param(
            """
            - {id: hello, send: {channel: email, subject: hi, body: x}}
            - {id: call, webhook: {url: "https://example.com/hook"}}
            - {id: pause, wait: 1d}
            """,
            "hello",
            id="a webhook may retry for minutes: not passed over",
        ),
        pytest.param(
            """
            - {id: hello, send: {channel: email, subject: hi, body: x}}
            - id: which
              branch:
                - {when: "customer.vip", next: pause}
                - {else: bye}
            - {id: pause, wait: 1d}
            - {id: bye, send: {channel: email, subject: bye, body: x}}
            """,
            "hello",
            id="a branch: the way on is not fixed",
        ),
        pytest.param("- {id: hello, send: {channel: email, subject: hi, body: x}}", "hello", id="no wait at all"),
    ],
)
def test_the_start_shows_the_first_step_an_enrollment_rests_at_when_the_way_there_is_fixed(steps: str, shown: str) -> None:
    body = textwrap.indent(textwrap.dedent(steps).strip(), " " * 4)
    flow = journey(f"id: shown\nname: Shown\ntrigger: {{event: go}}\nsteps:\n{body}\n")
    assert first_resting_step(flow) == shown
