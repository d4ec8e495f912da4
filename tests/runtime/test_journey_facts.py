"""The facts only the workflow knows (steps reached, rests) and those its activities record (messages, the end), once each."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from activities.journey_activities import JourneyActivities
from orchestrator.runtime.contracts import EVENT_SIGNAL, EventMessage, SendRequest, SendResult
from orchestrator.store import JourneyFact, Store
from tests.runtime.support import START, harness, journey

pytestmark = pytest.mark.asyncio(loop_scope="session")

WEEKLY = """
    id: weekly
    name: Weekly
    trigger: {event: go}
    exit_on: [unsubscribed]
    steps:
      - id: ping
        send: {channel: email, subject: "ping", body: "x"}
      - id: nap
        wait: 7d
        next: ping
    """

NIGHT = """
    id: night
    name: Night
    trigger: {event: go}
    settings: {quiet_hours: {from: "21:00", to: "08:00"}}
    steps:
      - id: promo
        send: {channel: email, subject: "promo", body: "x"}
      - id: text
        send: {channel: sms, body: "x"}
    """

MEASURED = """
    id: measured
    name: Measured
    trigger: {event: trial_started}
    goal: {event: subscribed}
    steps:
      - id: test
        split:
          paths:
            - {name: a, weight: 1, next: kickoff}
          holdout: 1
      - id: kickoff
        send: {channel: email, subject: "Kickoff", body: "x"}
    """


DRIP = """
    id: drip
    name: Drip
    trigger: {event: go}
    goal: {event: bought, within: 30d}
    steps:
      - id: hello
        send: {channel: email, subject: "hello", body: "x"}
      - id: pause
        wait: 1d
      - id: bye
        send: {channel: email, subject: "bye", body: "x"}
    """


SORTED = """
    id: sorted
    name: Sorted
    trigger: {event: go}
    steps:
      - id: known
        branch:
          - when: "customer.vip | default(false)"
            next: vip
          - else: regular
      - id: vip
        send: {channel: email, subject: "vip", body: "x"}
        next: end
      - id: regular
        send: {channel: email, subject: "regular", body: "x"}
    """


def facts(store: Store, customer_id: str) -> list[JourneyFact]:
    with store.read() as session:
        return session.facts_for(customer_id)


def minute(at: datetime) -> datetime:
    """The journey's clock to the minute: the test server lets a little real time pass between its skips."""
    return at.replace(second=0, microsecond=0)


def keys(store: Store, customer_id: str) -> list[str]:
    return [fact.fact_key for fact in facts(store, customer_id)]


def crashing_after_the_first_send(real: JourneyActivities) -> list[Any]:
    """The real activities, but the first attempt of each send fails after the provider took it (Temporal retries)."""

    @activity.defn(name="send_message")
    def send_message(request: SendRequest) -> SendResult:
        result = real.send_message(request)
        if activity.info().attempt == 1:
            raise RuntimeError("worker died after the provider accepted the message")
        return result

    return [send_message, *(a for a in real.activities() if a.__name__ != "send_message")]


async def test_a_loop_reaches_each_step_once_rests_at_every_visit_and_keeps_facts_through_continue_as_new(
    env: WorkflowEnvironment, store: Store
) -> None:
    flow = journey(WEEKLY)
    async with harness(env, store, activities=crashing_after_the_first_send) as h:
        h.identify("c-1", {"email": "ann@example.com", "email_opt_in": True})
        # So short a history continues as new at almost every step, with the `reached` it has not reported yet.
        handle = await h.enroll(flow, "c-1", history_limit=5)
        await env.sleep(timedelta(days=15))  # the third nap
        await handle.signal(EVENT_SIGNAL, EventMessage("m-1", "unsubscribed"))
        result = await handle.result()
    latest = await env.client.get_workflow_handle(handle.id).describe()
    assert (result.status, result.step) == ("exited", "nap")
    assert latest.run_id != handle.first_execution_run_id  # it did continue as new
    assert sorted(keys(store, "c-1")) == sorted(
        ["reached:ping", "reached:nap", "ended"]
        + [f"message:ping:{visit}:sent" for visit in (1, 2, 3)]
        + [f"rested:nap:{visit}" for visit in (1, 2, 3)]
    )
    by_key = {fact.fact_key: fact for fact in facts(store, "c-1")}
    assert minute(by_key["rested:nap:2"].occurred_at) == START + timedelta(days=7)
    assert (by_key["ended"].status, by_key["ended"].step_id, by_key["ended"].detail) == ("exited", "nap", "exit_on: unsubscribed")
    assert {(f.journey_id, f.version, f.enrollment_id) for f in by_key.values()} == {("weekly", flow.version, handle.id)}


async def test_a_held_send_is_a_held_message_and_a_rest_then_sent_and_a_suppressed_one_says_why(
    env: WorkflowEnvironment, store: Store
) -> None:
    start = datetime(2026, 1, 5, 21, 30, tzinfo=UTC)  # 22:30 in Paris: quiet until 07:00 UTC
    async with harness(env, store) as h:
        h.identify("c-1", {"email": "ann@example.com", "email_opt_in": True, "timezone": "Europe/Paris"}, start)
        result = await (await h.enroll(journey(NIGHT), "c-1", start=start)).result()
    assert result.status == "completed"
    found = [(f.fact_key, minute(f.occurred_at), f.name, f.detail) for f in facts(store, "c-1")]
    morning = datetime(2026, 1, 6, 7, 0, tzinfo=UTC)
    assert found == [
        ("message:promo:1:held", start, "email", "quiet hours 21:00-08:00 (Europe/Paris)"),
        ("reached:promo", start, None, None),
        ("rested:promo:1", start, None, None),
        ("message:promo:1:sent", morning, "email", None),
        ("reached:text", morning, None, None),  # recorded by the send, with its outcome
        ("message:text:1:suppressed", morning, "sms", "no consent: the customer has not opted in to sms"),
        ("ended", morning, None, None),
    ]


async def test_a_split_names_the_arm_or_the_holdout_and_both_rest_until_the_measurement_window_closes(
    env: WorkflowEnvironment, store: Store
) -> None:
    async with harness(env, store) as h:
        for customer in ("trial-1", "trial-2"):  # path `a` and the holdout (orchestrator/runtime/split.py)
            h.identify(customer, {"email": f"{customer}@example.com", "email_opt_in": True})
        arm, holdout = [await h.enroll(journey(MEASURED), customer) for customer in ("trial-1", "trial-2")]
        assert ((await arm.result()).status, (await holdout.result()).status) == ("completed", "holdout")
    assert [(f.fact_key, f.name, f.status) for f in facts(store, "trial-1")] == [
        ("reached:test", "a", None),  # handed to the send, recorded with what became of it
        ("reached:kickoff", None, None),
        ("message:kickoff:1:sent", "email", "sent"),
        ("rested:kickoff:1", None, None),  # the arm waits out the goal's window after its last step
        ("ended", None, "completed"),
    ]
    assert [(f.fact_key, f.name, f.status, minute(f.occurred_at)) for f in facts(store, "trial-2")] == [
        ("reached:test", "holdout", None, START),
        ("rested:test:1", None, None, START),
        ("ended", None, "holdout", START + timedelta(days=7)),
    ]


async def test_a_send_records_the_wait_it_goes_to_so_the_enrollment_writes_nothing_of_its_own_before_it_waits(
    env: WorkflowEnvironment, store: Store
) -> None:
    async with harness(env, store) as h:
        h.identify("c-1", {"email": "ann@example.com", "email_opt_in": True})
        handle = await h.enroll(journey(DRIP), "c-1")
        assert (await handle.result()).status == "completed"
        history = await handle.fetch_history()
    assert [(f.fact_key, minute(f.occurred_at)) for f in facts(store, "c-1")] == [
        ("reached:hello", START),
        ("message:hello:1:sent", START),
        ("reached:pause", START),  # recorded by the send, after its outcome
        ("rested:pause:1", START),
        ("reached:bye", START + timedelta(days=1)),
        ("message:bye:1:sent", START + timedelta(days=1)),
        ("ended", START + timedelta(days=1)),
    ]
    # One local activity, the finish: no `record_progress` before the wait (interpreter revision 4).
    markers = [event for event in history.events if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED]
    assert len(markers) == 1


def pausing_sends(started: threading.Event, release: threading.Event) -> Any:
    """The real activities, but each send waits for `release` once it has started."""

    def activities(real: JourneyActivities) -> list[Any]:
        @activity.defn(name="send_message")
        def send_message(request: SendRequest) -> SendResult:
            started.set()
            release.wait(30)
            return real.send_message(request)

        return [send_message, *(a for a in real.activities() if a.__name__ != "send_message")]

    return activities


async def test_a_goal_that_arrives_while_the_send_before_a_wait_is_out_ends_the_enrollment_at_that_wait(
    env: WorkflowEnvironment, store: Store
) -> None:
    started, release = threading.Event(), threading.Event()
    async with harness(env, store, activities=pausing_sends(started, release)) as h:
        h.identify("c-1", {"email": "ann@example.com", "email_opt_in": True})
        handle = await h.enroll(journey(DRIP), "c-1")
        assert await asyncio.to_thread(started.wait, 30)
        await handle.signal(EVENT_SIGNAL, EventMessage("m-1", "bought"))
        release.set()
        result = await handle.result()
    # The send recorded the enrollment at the wait, so that is where the goal ends it: the facts and the end agree.
    assert (result.status, result.step) == ("converted", "pause")
    assert keys(store, "c-1") == ["reached:hello", "message:hello:1:sent", "reached:pause", "rested:pause:1", "ended"]
    ended = facts(store, "c-1")[-1]
    assert (ended.status, ended.step_id, ended.detail) == ("converted", "pause", "goal: bought")


async def test_a_branch_records_which_way_it_sent_each_enrollment_so_its_edges_can_be_counted(
    env: WorkflowEnvironment, store: Store
) -> None:
    async with harness(env, store) as h:
        h.identify("c-vip", {"email": "vip@example.com", "email_opt_in": True, "vip": True})
        h.identify("c-1", {"email": "ann@example.com", "email_opt_in": True})
        for customer in ("c-vip", "c-1"):
            assert (await (await h.enroll(journey(SORTED), customer)).result()).status == "completed"
    assert [(f.fact_key, f.name) for f in facts(store, "c-vip")][:2] == [("reached:known", None), ("branched:known", "vip")]
    assert [(f.fact_key, f.name) for f in facts(store, "c-1")][:2] == [("reached:known", None), ("branched:known", "regular")]
