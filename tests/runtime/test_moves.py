"""Moving a waiting enrollment onto a newer version (the `move` signal): same step, deadline kept, one message."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from temporalio import activity
from temporalio.testing import WorkflowEnvironment

from activities.journey_activities import JourneyActivities
from orchestrator.runtime.contracts import EVENT_SIGNAL, MOVE_SIGNAL, STATUS_QUERY, EnrollmentStatus, EventMessage, MovedRequest
from orchestrator.store import Store
from tests.runtime.moving import QUIET, V1, V1_TEXT, V2, V2_TEXT, enrolled, index_version, move, waiting_at
from tests.runtime.support import START, harness, journey

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_waiting_enrollment_moves_keeps_its_deadline_and_sends_the_new_message_once(env: WorkflowEnvironment, store: Store) -> None:
    async with harness(env, store) as h:
        moving, staying = await enrolled(h, "c-1"), await enrolled(h, "c-2")
        await waiting_at(moving, "nap")
        await moving.signal(MOVE_SIGNAL, move(V2))
        await moving.signal(MOVE_SIGNAL, move(V2))  # a rerun's signal: ignored, it runs that version already
        await env.sleep(timedelta(days=1, minutes=1))
        await waiting_at(staying, "last_call")  # a step v2 dropped
        await staying.signal(MOVE_SIGNAL, move(V2))
        result = await moving.result()
        await staying.result()
        with store.read() as session:
            facts = [fact for fact in session.facts_for("c-1") if fact.kind == "moved"]
    assert (result.status, result.step) == ("completed", "nudge")
    # v1's wait was 1 day, v2's is 2: the deadline it had is kept. Then v2's own steps (final_call: 3 days).
    messages = h.messages("c-1")
    assert [(m.subject, m.version) for m in messages] == [("v2: your cart is waiting", V2.version), ("v2: last call", V2.version)]
    assert [m.sent_at.replace(microsecond=0) for m in messages] == [START + timedelta(days=1), START + timedelta(days=4)]
    assert index_version(store, "cart-c-1") == V2.version
    ((fact),) = facts
    assert (fact.version, fact.step_id, fact.name, fact.detail) == (V2.version, "nap", V1.version, "nap")
    # The other waited at a step v2 no longer has: it stays, and finishes on v1.
    assert [m.subject for m in h.messages("c-2")] == ["v1: your cart", "v1: last call"]
    assert index_version(store, "cart-c-2") == V1.version


async def test_a_mapping_moves_an_enrollment_from_a_dropped_step_onto_the_one_it_names(env: WorkflowEnvironment, store: Store) -> None:
    async with harness(env, store) as h:
        handle = await enrolled(h, "c-3")
        await env.sleep(timedelta(days=1, minutes=1))
        await waiting_at(handle, "last_call")
        await handle.signal(MOVE_SIGNAL, move(V2, last_call="final_call"))
        await handle.result()
        status: EnrollmentStatus = await handle.query(STATUS_QUERY, result_type=EnrollmentStatus)
        messages = h.messages("c-3")
    assert [m.subject for m in messages] == ["v1: your cart", "v2: last call"]
    # last_call's day is kept (not final_call's three), from when it was entered after the first message.
    assert messages[1].sent_at.replace(microsecond=0) == START + timedelta(days=2)
    assert [entry.step for entry in status.trail] == ["nap", "remind", "last_call", "final_call", "nudge"]


async def test_a_move_asked_while_a_send_is_held_waits_for_the_next_wait_step(env: WorkflowEnvironment, store: Store) -> None:
    held_v1, held_v2 = (journey(text.replace("exit_on: [bought]", QUIET)) for text in (V1_TEXT, V2_TEXT))
    async with harness(env, store) as h:
        h.identify("c-4", {"email": "c-4@example.com", "timezone": "UTC"})
        with store.session() as session:
            session.start_enrollment("cart-c-4", held_v1.id, held_v1.version, "c-4", START)
        # Enters at 22:00: the nap ends at 22:00 next day, in quiet hours, so `remind` is held until 08:00.
        handle = await h.enroll(held_v1, "c-4", enrollment_id="cart-c-4", start=START.replace(hour=22))
        await waiting_at(handle, "nap")
        await env.sleep(timedelta(days=1, minutes=5))
        await waiting_at(handle, "remind")
        await handle.signal(MOVE_SIGNAL, move(held_v2, last_call="final_call"))
        await handle.result()
        messages = h.messages("c-4")
    # The held v1 message went out as v1's; the move happened at the next wait (last_call -> final_call).
    assert [(m.subject, m.version) for m in messages] == [("v1: your cart", held_v1.version), ("v2: last call", held_v2.version)]


async def test_events_queued_with_a_move_apply_first(env: WorkflowEnvironment, store: Store) -> None:
    async with harness(env, store) as h:
        buyer, other = await enrolled(h, "c-5"), await enrolled(h, "c-6")
        await waiting_at(buyer, "nap")
        await waiting_at(other, "nap")
        await buyer.signal(EVENT_SIGNAL, EventMessage("m-1", "bought"))
        for handle in (buyer, other):
            await handle.signal(MOVE_SIGNAL, move(V2))
        result = await buyer.result()
        await other.result()
    assert (result.status, result.step) == ("exited", "nap")
    assert (index_version(store, "cart-c-5"), index_version(store, "cart-c-6")) == (V1.version, V2.version)
    assert h.messages("c-5") == []


async def test_a_worker_that_dies_after_writing_the_move_leaves_one_move_and_one_message(env: WorkflowEnvironment, store: Store) -> None:
    died: list[str] = []

    def activities(real: JourneyActivities) -> list[Any]:
        @activity.defn(name="record_move")
        def record_move_then_die(request: MovedRequest) -> None:
            real.record_move(request)  # committed...
            if activity.info().attempt == 1:
                died.append(request.enrollment_id)
                raise RuntimeError("worker lost before it reported the activity done")  # ...and retried

        return [record_move_then_die, *(a for a in real.activities() if a != real.record_move)]

    async with harness(env, store, activities=activities) as h:
        handles = [await enrolled(h, f"d-{n}") for n in range(3)]
        for handle in handles:
            await waiting_at(handle, "nap")
            await handle.signal(MOVE_SIGNAL, move(V2))
        for handle in handles:
            await handle.result()
        with store.read() as session:
            moved = [fact for n in range(3) for fact in session.facts_for(f"d-{n}") if fact.kind == "moved"]
    assert sorted(died) == [f"cart-d-{n}" for n in range(3)]
    assert len(moved) == 3
    for n in range(3):
        assert [m.subject for m in h.messages(f"d-{n}")] == ["v2: your cart is waiting", "v2: last call"]
        assert index_version(store, f"cart-d-{n}") == V2.version


async def test_a_request_to_move_into_another_journey_is_ignored(env: WorkflowEnvironment, store: Store) -> None:
    other = journey(V2_TEXT.replace("id: cart", "id: basket", 1))
    async with harness(env, store) as h:
        handle = await enrolled(h, "c-7")
        await waiting_at(handle, "nap")
        await handle.signal(MOVE_SIGNAL, move(other))
        await handle.result()
    assert [(m.subject, m.journey_id) for m in h.messages("c-7")] == [("v1: your cart", "cart"), ("v1: last call", "cart")]
