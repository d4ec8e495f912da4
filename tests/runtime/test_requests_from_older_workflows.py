"""Condition, value and wake requests an older workflow scheduled (without the step, or the journey for a wake)
decode and evaluate as they did; a finish request without a reason gets the one its journey version tells.

An activity task scheduled before the requests named the step can be retried by a worker running this code.
Every such input recorded in tests/histories/ is decoded here as the worker decodes it: `journey` then
holds the id and version without a step, and a wake's `until_date` reads it as `{}`, as before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter

from activities.journey_activities import JourneyActivities
from orchestrator import ir
from orchestrator.runtime.contracts import ConditionRequest, EnrollmentInput, FinishRequest, ValuesRequest, WakeRequest
from orchestrator.store import Store
from tests.runtime.support import START

HISTORIES = Path(__file__).resolve().parents[1] / "histories"
CONVERTER = DataConverter.default.payload_converter
REQUESTS: dict[str, type] = {
    "evaluate_conditions": ConditionRequest,
    "evaluate_values": ValuesRequest,
    "wake_time": WakeRequest,
    "finish_enrollment": FinishRequest,
}


def recorded(activity: str, name: str = "tour") -> list[Any]:
    """The inputs of `activity` in tests/histories/<name>.json, decoded into today's request type as the worker decodes them."""
    history = WorkflowHistory.from_json(name, (HISTORIES / f"{name}.json").read_text(encoding="utf-8"))
    return [
        CONVERTER.from_payloads([event.activity_task_scheduled_event_attributes.input.payloads[0]], [REQUESTS[activity]])[0]
        for event in history.events
        if event.HasField("activity_task_scheduled_event_attributes")
        and event.activity_task_scheduled_event_attributes.activity_type.name == activity
    ]


@pytest.fixture
def activities(store: Store) -> Iterator[JourneyActivities]:
    customer_id = recorded("evaluate_conditions")[0].customer_id
    with store.session() as session:
        session.identify(customer_id, {"email": "ann@example.com", "tours": 2, "renews_on": "2026-03-09"}, START)
    yield JourneyActivities(store)


def test_an_old_condition_request_has_no_step_and_evaluates_as_before(activities: JourneyActivities) -> None:
    request = recorded("evaluate_conditions")[0]
    assert request.step_id is None
    assert activities.evaluate_conditions(request) == [True]  # its own condition, `customer.email`
    reads = ["journey.id == 'tour' and journey.version | length == 16", "journey.step is defined"]
    assert activities.evaluate_conditions(dataclasses.replace(request, conditions=reads)) == [True, False]
    told = dataclasses.replace(request, conditions=["journey.step"], step_id="pick")
    assert activities.evaluate_conditions(told) == [True]


def test_an_old_values_request_has_no_step_and_evaluates_as_before(activities: JourneyActivities) -> None:
    request = recorded("evaluate_values")[0]
    assert request.step_id is None
    assert activities.evaluate_values(request) == {"tours": 3}
    reads = {"journey": "journey.id", "step": "journey.step"}  # the missing step is left out, as a missing trait is
    assert activities.evaluate_values(dataclasses.replace(request, expressions=reads)) == {"journey": "tour"}
    failing = dataclasses.replace(request, expressions={"renewal": "customer.renews_on + 1"})
    assert activities.evaluate_values(failing) == {}
    with activities.store.read() as session:
        assert session.problems_for(request.customer_id) == []  # no enrollment or visit to note it at


def test_an_old_wake_request_has_no_journey_and_evaluates_as_before(activities: JourneyActivities) -> None:
    (request,) = [r for r in recorded("wake_time") if r.until_date is not None]
    assert (request.journey_id, request.version, request.step_id) == (None, None, None)
    assert activities.wake_time(request).at == "2026-03-08T08:00:00+00:00"  # the day before, at 09:00 in Paris
    reads_journey = dataclasses.replace(request, until_date="'2026-04-01' if journey == {} else '2026-05-01'")
    assert activities.wake_time(reads_journey).at == "2026-03-31T07:00:00+00:00"
    told = dataclasses.replace(reads_journey, journey_id="tour", version="v", step_id="renewal")
    assert activities.wake_time(told).at == "2026-04-30T07:00:00+00:00"



def test_an_old_finish_request_has_no_reason_and_gets_the_one_its_version_tells(store: Store) -> None:
    history = WorkflowHistory.from_json("exit_on", (HISTORIES / "exit_on.json").read_text(encoding="utf-8"))
    started = history.events[0].workflow_execution_started_event_attributes.input.payloads[0]
    start: EnrollmentInput = CONVERTER.from_payloads([started], [EnrollmentInput])[0]
    journey = ir.Journey.from_dict(start.journey)
    (request,) = recorded("finish_enrollment", "exit_on")
    assert (request.status, request.reason) == ("exited", None)
    with store.session() as session:
        session.deploy(journey, START)
        session.start_enrollment(request.enrollment_id, journey.id, journey.version, start.customer_id, START)
    JourneyActivities(store).finish_enrollment(request)
    with store.read() as session:
        (ended,) = session.enrollments_for(start.customer_id)
    assert (ended.status, ended.end_reason) == ("exited", "exit_on: unsubscribed")  # the journey's one exit_on event
