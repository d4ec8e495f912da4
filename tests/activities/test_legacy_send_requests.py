"""A send an older workflow scheduled (its step copied field by field) is decoded and sent as the step itself would be.

Workflows used to copy a send step's fields into the request one by one and the settings as IR JSON;
they now send the step and the settings whole. A task scheduled before the change can be retried by a
worker running this code, so every `send_message` input recorded in tests/histories/ is decoded here as
the worker decodes it, and must give the same result and the same message as the request the workflow
makes now from the step in the history's own journey.
"""

from __future__ import annotations

import json
import typing
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter

from activities.journey_activities import JourneyActivities
from orchestrator import ir
from orchestrator.runtime.contracts import EnrollmentInput, LegacySendRequest, SendRequest
from orchestrator.store import Store

HISTORIES = Path(__file__).resolve().parents[1] / "histories"
CONVERTER = DataConverter.default.payload_converter
SEND_INPUT = typing.get_type_hints(JourneyActivities.send_message)["request"]
"""What the worker decodes `send_message`'s input into: the activity's declared argument type."""
TRAITS = {"email": "ann@example.com", "phone": "+14155552671", "sms_opt_in": True, "push_tokens": ["tok-1"], "first_name": "Ann"}


def recorded_sends() -> list[Any]:
    """(the send's input payload, the journey the enrollment runs) for every send_message of the old shape (no `step`)
    in the recorded histories; histories recorded since the change (`awaited`) send the step whole."""
    found = []
    for path in sorted(HISTORIES.glob("*.json")):
        history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
        journey: ir.Journey | None = None
        for event in history.events:
            if event.HasField("workflow_execution_started_event_attributes"):
                start = event.workflow_execution_started_event_attributes.input.payloads[0]
                journey = ir.Journey.from_dict(CONVERTER.from_payloads([start], [EnrollmentInput])[0].journey)
            scheduled = event.activity_task_scheduled_event_attributes
            if event.HasField("activity_task_scheduled_event_attributes") and scheduled.activity_type.name == "send_message":
                if "step" in json.loads(scheduled.input.payloads[0].data):
                    continue
                found.append(pytest.param(scheduled.input.payloads[0], journey, id=f"{path.stem}-{event.event_id}"))
    return found


def store_at(folder: Path) -> Store:
    store = Store(f"sqlite:///{folder / 'journey.db'}")
    store.migrate()
    return store


def send(store: Store, request: SendRequest | LegacySendRequest) -> tuple[Any, list[Any]]:
    """The activity's result, and the outbox it leaves (ids aside), for a customer with every address."""
    customer_id = request.customer_id
    with store.session() as session:
        session.identify(customer_id, TRAITS, datetime(2026, 1, 1, tzinfo=UTC))
    result = JourneyActivities(store).send_message(request)
    with store.read() as session:
        return result, [replace(message, id=None) for message in session.messages_for(customer_id)]


def test_every_recorded_history_has_sends_in_the_old_shape() -> None:
    assert len(recorded_sends()) >= 10


@pytest.mark.parametrize(("payload", "journey"), recorded_sends())
def test_a_recorded_send_is_decoded_and_sent_as_its_step(payload: Payload, journey: ir.Journey, tmp_path: Path) -> None:
    [legacy] = CONVERTER.from_payloads([payload], [SEND_INPUT])
    assert isinstance(legacy, LegacySendRequest)
    step = journey.step(legacy.step_id)
    assert isinstance(step, ir.SendStep)
    current = SendRequest(
        enrollment_id=legacy.enrollment_id,
        journey_id=journey.id,
        version=journey.version,
        visit=legacy.visit,
        customer_id=legacy.customer_id,
        step=step,
        settings=journey.settings,
        event=legacy.event,
        now=legacy.now,
    )
    upgraded = legacy.upgraded()
    # Everything the activity reads is rebuilt; `next` and the template's path were never sent.
    assert replace(upgraded, step=replace(upgraded.step, next=step.next, template_path=step.template_path)) == current

    (tmp_path / "legacy").mkdir()
    (tmp_path / "current").mkdir()
    legacy_store, current_store = store_at(tmp_path / "legacy"), store_at(tmp_path / "current")
    try:
        assert send(legacy_store, legacy) == send(current_store, current)
    finally:
        legacy_store.dispose()
        current_store.dispose()


def test_the_request_a_workflow_sends_now_decodes_as_itself() -> None:
    step = ir.SendStep(
        id="hello",
        channel="push",
        next="end",
        title="Hi",
        body="Hello",
        variants=(ir.TemplateVariant("fr", "Bonjour"),),
        fallback=("sms", "email"),
    )
    settings = ir.Settings("Europe/Paris", ir.QuietHours("21:00", "08:00"), ir.FrequencyCap(2, 86400))
    request = SendRequest("e-1", "cart", "v1", 2, "ann", step, settings, {"plan": "pro"}, "2026-01-05T12:00:00+00:00")
    assert CONVERTER.from_payloads(CONVERTER.to_payloads([request]), [SEND_INPUT]) == [request]
