"""A webhook step's call through the real activity, without Temporal: the Idempotency-Key it carries."""

from __future__ import annotations

import httpx

from activities.journey_activities import JourneyActivities
from orchestrator.runtime.contracts import WebhookRequest
from orchestrator.store import Store


def _call(store: Store, headers: dict[str, str] | None) -> httpx.Request:
    """The request `call_webhook` makes for visit 2 of step `crm` in enrollment `hook-c1-1`."""
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    activities = JourneyActivities(store, http=httpx.Client(transport=httpx.MockTransport(answer)))
    request = WebhookRequest(
        enrollment_id="hook-c1-1",
        journey_id="hook",
        version="v1",
        step_id="crm",
        visit=2,
        customer_id="c1",
        url="https://crm.example.com/hook",
        method="POST",
        headers=headers,
        body={"id": "{{ customer.id }}"},
        timeout_seconds=10,
        event=None,
    )
    assert activities.call_webhook(request).status_code == 200
    (call,) = sent
    return call


def test_a_webhook_call_is_keyed_by_enrollment_step_and_visit(store: Store) -> None:
    assert _call(store, None).headers["Idempotency-Key"] == "hook-c1-1:crm:2"


def test_an_idempotency_key_the_step_sets_is_kept(store: Store) -> None:
    assert _call(store, {"Idempotency-Key": "{{ customer.id }}-crm"}).headers["Idempotency-Key"] == "c1-crm"
