"""Identify, track and batch through the API, on a real Temporal dev server and worker."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from temporalio.client import Client

from orchestrator.routing.calls import SignalCall, StartCall
from orchestrator.store.events import EVENT_BATCH
from orchestrator.store.schema import events, profiles
from tests.api.support import QUICK_CART, Stack, compiled, count_rows, eventually, first_messages, open_stack, shipped_journeys

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def enrollment_in(stack: Stack, user: str, status: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        found = [j for j in await stack.journeys(user) if j["status"] == status]
        return found[0] if found else None

    return await eventually(probe, what=f"a {status} enrollment of {user}")


async def test_track_enrolls_in_the_shipped_abandoned_cart_journey(stack: Stack) -> None:
    await stack.deploy(*shipped_journeys())
    assert (await stack.identify("ann", email="ann@example.com", country="US", first_name="Ann")).status_code == 200
    answer = await stack.track("ann", "checkout_started", cart_value=80, cart_url="https://shop.example/cart/1")
    assert answer.status_code == 200, answer.text
    assert [e.split("-")[0] for e in answer.json()["enrolled"]] == ["abandoned_cart"]

    (journey,) = await stack.journeys("ann")
    assert journey["journey"] == "abandoned_cart" and journey["status"] == "running"
    assert journey["current_step"] == "wait_an_hour"  # asked of the workflow through its status query
    assert journey["ended_at"] is None


async def test_identify_then_track_enrolls_and_the_first_message_is_delivered(stack: Stack) -> None:
    journey = compiled(QUICK_CART)
    await stack.deploy(journey)
    await stack.identify("bob@example.com", email="bob@example.com", country="CA", first_name="Bob")
    answer = await stack.track("bob@example.com", "checkout_started", cart_value=25)
    assert answer.json()["enrolled"] and answer.json()["signalled"] == []

    (message,) = await first_messages(stack, "bob@example.com")
    assert message["journey"] == "quick_cart" and message["version"] == journey.version and message["step"] == "reminder"
    assert message["channel"] == "email" and message["to"] == "bob@example.com"
    assert message["subject"] == "Bob, you left something behind"
    assert message["body"].startswith("<p>Your cart of 25 is waiting.</p>")
    assert "/v1/unsubscribe/" in message["body"]  # marketing email without a link gets the unsubscribe footer

    async def at_opened() -> bool:
        return (await stack.journeys("bob@example.com"))[0]["current_step"] == "opened"

    await eventually(at_opened, what="the enrollment to wait at `opened`")


async def test_audience_and_trigger_conditions_decide_who_enrolls(stack: Stack) -> None:
    await stack.deploy(compiled(QUICK_CART))
    await stack.identify("fr", email="fr@example.com", country="FR")
    await stack.identify("us", email="us@example.com", country="US")
    assert (await stack.track("fr", "checkout_started", cart_value=90)).json()["enrolled"] == []  # audience: US/CA only
    assert (await stack.track("us", "checkout_started", cart_value=5)).json()["enrolled"] == []  # trigger: cart_value >= 20
    assert stack.spy.calls == []


async def test_the_same_message_id_twice_has_effect_once(stack: Stack) -> None:
    await stack.deploy(compiled(QUICK_CART))
    await stack.identify("cat", email="cat@example.com", country="US")
    first = await stack.track("cat", "checkout_started", message_id="m-1", cart_value=30)
    again = await stack.track("cat", "checkout_started", message_id="m-1", cart_value=30)
    assert first.json()["duplicate"] is False and len(first.json()["enrolled"]) == 1
    assert again.status_code == 200
    assert again.json() == {"ok": True, "messageId": "m-1", "duplicate": True, "enrolled": [], "signalled": []}
    assert count_rows(stack.store, events, message_id="m-1") == 1
    assert len(stack.spy.calls) == 1
    unlistened = [await stack.track("cat", "page_viewed", message_id="m-2") for _ in range(2)]
    assert [a.json()["duplicate"] for a in unlistened] == [False, True]


async def test_events_no_journey_listens_to_never_reach_temporal(stack: Stack) -> None:
    await stack.deploy(*shipped_journeys())
    await stack.identify("dan", email="dan@example.com", country="US")
    calls_after_identify = len(stack.spy.calls)
    for name in ("page_viewed", "product_viewed", "button_clicked"):
        answer = await stack.track("dan", name, path="/pricing")
        assert answer.status_code == 200 and answer.json()["enrolled"] == [] and answer.json()["signalled"] == []
    batch = [{"type": "track", "userId": f"visitor-{i}", "event": "page_viewed"} for i in range(50)]
    assert (await stack.http.post("/v1/batch", json={"batch": batch})).status_code == 200
    assert len(stack.spy.calls) == calls_after_identify
    assert count_rows(stack.store, events, name="page_viewed") == 51
    assert count_rows(stack.store, profiles) == 1  # unlistened events create no profile either
    assert (await stack.http.get("/v1/customers/visitor-1/messages")).status_code == 404


async def test_an_awaited_event_moves_the_enrollment_on(stack: Stack) -> None:
    await stack.deploy(compiled(QUICK_CART))
    await stack.identify("eve", email="eve@example.com", country="US")
    enrolled = (await stack.track("eve", "checkout_started", cart_value=40)).json()["enrolled"]
    await first_messages(stack, "eve")

    answer = await stack.track("eve", "email_opened")
    assert answer.json()["signalled"] == enrolled
    messages = await first_messages(stack, "eve", count=2)
    assert messages[1]["step"] == "thanks"  # the wait_for matched: not the timeout path (nudge)
    finished = await enrollment_in(stack, "eve", "completed")
    assert finished["ended_at"] is not None


GATED = """
id: gated
name: Gated
trigger: {event: signed_up}
steps:
  - id: check
    branch:
      - when: "customer.country == 'US'"
        next: hello
      - else: outside
  - id: outside
    exit: {reason: "outside the US launch"}
  - id: hello
    send: {channel: email, subject: "Hello", body: "Welcome"}
"""


async def test_an_enrollment_that_exited_at_an_exit_step_shows_its_reason(stack: Stack) -> None:
    await stack.deploy(compiled(GATED))
    await stack.identify("gil", email="gil@example.com", country="FR")
    await stack.identify("hana", email="hana@example.com", country="US")
    await stack.track("gil", "signed_up")
    await stack.track("hana", "signed_up")
    exited = await enrollment_in(stack, "gil", "exited")
    assert (exited["current_step"], exited["reason"]) == ("outside", "outside the US launch")
    completed = await enrollment_in(stack, "hana", "completed")
    assert completed["reason"] is None


async def test_the_goal_event_converts_the_enrollment(stack: Stack) -> None:
    await stack.deploy(compiled(QUICK_CART))
    await stack.identify("fay", email="fay@example.com", country="US")
    enrolled = (await stack.track("fay", "checkout_started", cart_value=40)).json()["enrolled"]
    answer = await stack.track("fay", "order_completed", order_id="o-1")
    assert answer.json()["signalled"] == enrolled
    converted = await enrollment_in(stack, "fay", "converted")
    assert converted["enrollment_id"] == enrolled[0]
    # Ended: the index is updated by the workflow's last activity; later events reach nothing.
    assert (await stack.track("fay", "email_opened")).json()["signalled"] == []


async def test_a_batch_of_mixed_calls_applies_in_order(stack: Stack) -> None:
    await stack.deploy(compiled(QUICK_CART))
    batch = [
        {"type": "track", "userId": "gus", "event": "checkout_started", "properties": {"cart_value": 50}},  # no country yet
        {"type": "identify", "userId": "gus", "traits": {"email": "gus@example.com", "country": "US"}},
        {"type": "track", "userId": "visitor", "event": "page_viewed"},
        {"type": "track", "userId": "gus", "event": "checkout_started", "properties": {"cart_value": 60}, "messageId": "gus-2"},
        {"type": "identify", "userId": "hal", "traits": {"email": "hal@example.com", "country": "CA"}},
        {"type": "track", "userId": "hal", "event": "checkout_started", "properties": {"cart_value": 70}},
        {"type": "track", "userId": "gus", "event": "order_completed"},
        {"type": "track", "userId": "gus", "event": "checkout_started", "properties": {"cart_value": 80}, "messageId": "gus-2"},
    ]
    answer = await stack.http.post("/v1/batch", json={"batch": batch})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["received"] == 8 and body["duplicates"] == 1
    assert len(body["enrolled"]) == 2  # gus only on his second checkout (after identify), hal once
    assert len(body["signalled"]) == 1  # gus's order_completed reached his enrollment
    assert count_rows(stack.store, events) == 7
    await enrollment_in(stack, "gus", "converted")
    await first_messages(stack, "hal")
    starts = [c for c in stack.spy.calls if isinstance(c, StartCall)]
    signals = [c for c in stack.spy.calls if isinstance(c, SignalCall)]
    assert [c.customer_id for c in starts] == ["gus", "hal"] and [c.customer_id for c in signals] == ["gus"]


async def test_unknown_customers_are_404(stack: Stack) -> None:
    for path in ("/v1/customers/nobody/messages", "/v1/customers/nobody/journeys"):
        answer = await stack.http.get(path)
        assert answer.status_code == 404
        assert answer.json()["error"] == "not_found"


async def test_customer_ids_with_slashes_and_at_signs_are_found(stack: Stack) -> None:
    await stack.identify("team/a@example.com", email="a@example.com")
    answer = await stack.http.get("/v1/customers/team%2Fa%40example.com/journeys")
    assert answer.status_code == 200 and answer.json() == {"customer_id": "team/a@example.com", "journeys": [], "merged": []}


async def test_journeys_deployed_by_another_process_are_picked_up_without_reload(tmp_path: Path, temporal: Client) -> None:
    async with open_stack(tmp_path, temporal, catalog_refresh=timedelta(milliseconds=200)) as stack:
        await stack.identify("ida", email="ida@example.com", country="US")
        assert (await stack.track("ida", "checkout_started", cart_value=50)).json()["enrolled"] == []
        with stack.store.session() as session:  # `journey deploy` elsewhere: no reload call
            from datetime import UTC, datetime

            session.deploy(compiled(QUICK_CART), datetime.now(UTC))

        async def enrolled() -> list[str]:
            return list((await stack.track("ida", "checkout_started", cart_value=50)).json()["enrolled"])

        assert await eventually(enrolled, timeout=5, what="the periodic catalog refresh")


async def test_a_batch_of_unlistened_events_is_bulk_inserted_and_never_reaches_temporal(stack: Stack) -> None:
    await stack.deploy(*shipped_journeys())
    batch = [
        {"type": "track", "userId": f"u{i % 300}", "event": "page_viewed", "properties": {"path": f"/p/{i}"}, "messageId": f"pv-{i}"}
        for i in range(5_000)
    ]
    statements: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    # How fast is bench/ingest.py's job; here: a few multi-row INSERTs, not one per event.
    sqlalchemy.event.listen(stack.store.engine, "before_cursor_execute", note)
    try:
        answer = await stack.http.post("/v1/batch", json={"batch": batch})
    finally:
        sqlalchemy.event.remove(stack.store.engine, "before_cursor_execute", note)
    assert answer.status_code == 200 and answer.json()["received"] == 5_000
    assert count_rows(stack.store, events) == 5_000
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO EVENTS")]
    assert 1 <= len(inserts) <= math.ceil(5_000 / EVENT_BATCH)
    assert stack.spy.calls == []
