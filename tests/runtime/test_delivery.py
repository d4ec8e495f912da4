"""Delivery: quiet hours, frequency cap, exactly-once sends, duplicate events, failing webhooks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from temporalio import activity
from temporalio.testing import WorkflowEnvironment

from activities.journey_activities import JourneyActivities
from orchestrator.runtime.contracts import EVENT_SIGNAL, EventMessage, SendRequest, SendResult
from orchestrator.simulation.simulator import ScriptedEvent, Simulator
from orchestrator.store import Store
from tests.runtime.support import at, harness, journey

pytestmark = pytest.mark.asyncio(loop_scope="session")

CUSTOMER = {"id": "c-1", "email": "ann@example.com", "timezone": "Europe/Paris"}

NIGHT = """
    id: night
    name: Night
    trigger: {event: go}
    settings:
      quiet_hours: {from: "21:00", to: "08:00"}
      frequency_cap: {max: 2, per: 1d}
    steps:
      - id: promo
        send: {channel: email, subject: "promo", body: "x"}
      - id: receipt
        send: {channel: email, category: transactional, subject: "receipt", body: "x"}
      - id: second_promo
        send: {channel: email, subject: "second promo", body: "x"}
      - id: third_promo
        send: {channel: email, subject: "third promo", body: "x"}
      - id: tomorrow
        wait: 1d
      - id: fourth_promo
        send: {channel: email, subject: "fourth promo", body: "x"}
    """


async def test_quiet_hours_hold_marketing_not_transactional_and_the_cap_skips_the_excess(simulator: Simulator) -> None:
    # 22:30 in Paris (CET): inside quiet hours until 08:00 local, 07:00 UTC.
    start = datetime(2026, 1, 5, 21, 30, tzinfo=UTC)
    timeline = await simulator.run(journey(NIGHT), CUSTOMER, [ScriptedEvent(0, "go")], start)
    assert [(m["subject"], m["at"]) for m in timeline.messages] == [
        ("promo", at("2026-01-06T07:00")),
        ("receipt", at("2026-01-06T07:00")),  # transactional: never held, but it comes after the held promo
        ("second promo", at("2026-01-06T07:00")),  # the receipt does not count towards the cap
        # third promo: the third marketing message within a day is skipped
        ("fourth promo", at("2026-01-07T07:00")),  # a day later the cap has room again
    ]
    assert [s["step"] for s in timeline.steps][-2:] == ["tomorrow", "fourth_promo"]


async def test_a_transactional_message_goes_out_during_quiet_hours(simulator: Simulator) -> None:
    flow = journey(
        """
        id: receipt
        name: Receipt
        trigger: {event: go}
        settings: {quiet_hours: {from: "21:00", to: "08:00"}}
        steps:
          - id: receipt
            send: {channel: email, category: transactional, subject: "receipt", body: "x"}
          - id: promo
            send: {channel: email, subject: "promo", body: "x"}
        """
    )
    timeline = await simulator.run(flow, CUSTOMER, [ScriptedEvent(0, "go")], datetime(2026, 1, 5, 22, tzinfo=UTC))
    assert [(m["subject"], m["at"]) for m in timeline.messages] == [("receipt", at("2026-01-05T22:00")), ("promo", at("2026-01-06T07:00"))]


async def test_a_send_retried_after_the_worker_lost_its_result_is_not_sent_twice(env: WorkflowEnvironment, store: Store) -> None:
    attempts: list[int] = []

    def with_crash_after_send(real: JourneyActivities) -> list[Any]:
        @activity.defn(name="send_message")
        def send_message(request: SendRequest) -> SendResult:
            result = real.send_message(request)
            attempts.append(activity.info().attempt)
            if activity.info().attempt == 1:
                raise RuntimeError("worker died after the provider accepted the message")
            return result

        return [send_message, *(a for a in real.activities() if a.__name__ != "send_message")]

    flow = journey(
        """
        id: once
        name: Once
        trigger: {event: go}
        steps:
          - id: hello
            send: {channel: email, subject: "hello", body: "x"}
          - id: bye
            send: {channel: email, subject: "bye", body: "x"}
        """
    )
    async with harness(env, store, activities=with_crash_after_send) as h:
        h.identify("c-1", {"email": "ann@example.com"})
        result = await (await h.enroll(flow, "c-1")).result()
        assert [m.subject for m in h.messages("c-1")] == ["hello", "bye"]
    assert result.status == "completed"
    assert attempts == [1, 2, 1, 2]


async def test_an_event_delivered_twice_counts_once(env: WorkflowEnvironment, store: Store) -> None:
    flow = journey(
        """
        id: pings
        name: Pings
        trigger: {event: go}
        steps:
          - id: first_ping
            wait_for: {event: ping, within: 1d, timeout_next: end}
          - id: got_one
            send: {channel: email, subject: "one", body: "x"}
          - id: second_ping
            wait_for: {event: ping, within: 1d, timeout_next: end}
          - id: got_two
            send: {channel: email, subject: "two", body: "x"}
        """
    )
    async with harness(env, store) as h:
        for customer in ("c-1", "c-2"):
            h.identify(customer, {"email": f"{customer}@example.com"})
        retried, distinct = await h.enroll(flow, "c-1"), await h.enroll(flow, "c-2")
        await env.sleep(timedelta(hours=1))
        for handle in (retried, distinct):
            await handle.signal(EVENT_SIGNAL, EventMessage("m-1", "ping"))
        await env.sleep(timedelta(hours=1))  # both wait at second_ping now
        await retried.signal(EVENT_SIGNAL, EventMessage("m-1", "ping"))  # the same track call delivered again: dropped
        await distinct.signal(EVENT_SIGNAL, EventMessage("m-2", "ping"))  # a new one
        assert (await retried.result()).step == "second_ping"
        await distinct.result()
        assert [m.subject for m in h.messages("c-1")] == ["one"]
        assert [m.subject for m in h.messages("c-2")] == ["one", "two"]


async def test_a_webhook_that_stays_down_is_retried_then_the_journey_goes_on(env: WorkflowEnvironment, store: Store) -> None:
    calls: list[httpx.Request] = []

    def down(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503)

    flow = journey(
        """
        id: hook
        name: Hook
        trigger: {event: go}
        steps:
          - id: crm
            webhook: {url: "https://crm.example.com/hook", body: {id: "{{ customer.id }}"}}
          - id: after
            send: {channel: email, subject: "after", body: "x"}
        """
    )
    async with harness(env, store, http=httpx.Client(transport=httpx.MockTransport(down))) as h:
        h.identify("c-1", {"email": "ann@example.com"})
        result = await (await h.enroll(flow, "c-1")).result()
        assert [m.subject for m in h.messages("c-1")] == ["after"]
    assert (result.status, result.step) == ("completed", "after")
    assert len(calls) == 8
    assert {c.headers["Idempotency-Key"] for c in calls} == {calls[0].headers["Idempotency-Key"]}
