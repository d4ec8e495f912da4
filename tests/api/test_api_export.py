"""GET /v1/customers/{id}/export and `journey customers export`: everything the store holds about one customer, as one document."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from orchestrator.cli import main
from tests.api.support import QUICK_CART, Stack, compiled, eventually
from tests.keys import KEYS_ENVIRONMENT

pytestmark = pytest.mark.asyncio(loop_scope="session")

TRAITS = {"email": "ann@example.com", "first_name": "Ann", "country": "US", "email_opt_in": True, "address": {"city": "Lyon"}}


async def through_the_cart(stack: Stack, user: str) -> None:
    """`user` identified, in the cart journey, its reminder sent. (Workflow ids are the customer's, and the dev
    server is the session's: one user per test, used by no other test file.)"""
    await stack.deploy(compiled(QUICK_CART))
    identify = {"userId": user, "messageId": "id-1", "timestamp": "2026-03-02T09:00:00Z", "traits": TRAITS}
    assert (await stack.http.post("/v1/identify", json=identify)).status_code == 200
    assert (await stack.track(user, "checkout_started", message_id="tr-1", cart_value=50, items=["tea"])).status_code == 200
    await eventually(lambda: stack.messages(user), what="the reminder")


async def export(stack: Stack, user: str) -> dict[str, Any]:
    answer = await stack.http.get(f"/v1/customers/{user}/export")
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json()
    return document


async def test_the_export_gives_back_what_identify_and_track_wrote_and_what_was_sent(stack: Stack) -> None:
    await through_the_cart(stack, "ann-export")  # a customer of this test alone: the dev server is the session's
    document = await export(stack, "ann-export")

    assert (document["format"], document["customer_id"]) == ("journey-customer-export/1", "ann-export")
    profile = document["profile"]
    assert (profile["email"], profile["consent"]["email"]) == ("ann@example.com", True)
    assert profile["traits"] == {"first_name": "Ann", "country": "US", "address": {"city": "Lyon"}}
    assert [(r["channel"], r["opted_in"], r["source"], r["evidence"]) for r in document["consent_records"]] == [
        ("email", True, "identify", "id-1")
    ]
    events = {event["message_id"]: event for event in document["events"]}
    assert events["id-1"]["name"] == "identify" and events["id-1"]["properties"] == TRAITS
    assert events["tr-1"]["name"] == "checkout_started" and events["tr-1"]["properties"] == {"cart_value": 50, "items": ["tea"]}

    (enrollment,) = document["enrollments"]
    assert enrollment["journey_id"] == "quick_cart"
    assert [(step["step_id"], step["send"], step["status"]) for step in enrollment["steps"]] == [("reminder", "email", "sent")]
    (delivery,) = document["deliveries"]
    assert (delivery["step_id"], delivery["status"], delivery["provider_events"]) == ("reminder", "sent", [])
    (message,) = document["messages"]
    assert message["to"] == "ann@example.com" and "Your cart of 50 is waiting" in message["body"]


async def test_an_unknown_customer_is_404_and_the_export_needs_the_api_key(stack: Stack) -> None:
    assert (await stack.http.get("/v1/customers/nobody/export")).status_code == 404
    await stack.identify("bob", email="bob@example.com")
    assert (await stack.http.get("/v1/customers/bob/export", headers={"Authorization": ""})).status_code == 401


async def test_journey_customers_export_prints_the_same_document_from_the_store(stack: Stack) -> None:
    await through_the_cart(stack, "ann-export-cli")

    async def resting_at_opened() -> bool:
        # The enrollment still writes facts after the reminder (its rest at `opened`): compare once it waits there.
        facts = (await export(stack, "ann-export-cli"))["journey_facts"]
        return any(fact["kind"] == "rested" and fact["step_id"] == "opened" for fact in facts)

    await eventually(resting_at_opened, what="the enrollment resting at opened")
    environment = KEYS_ENVIRONMENT | {"DATABASE_URL": stack.store.url}  # the environment a worker has
    printed = CliRunner().invoke(main, ["customers", "export", "ann-export-cli"], env=environment)
    assert printed.exit_code == 0, printed.output
    from_cli, from_api = json.loads(printed.output), await export(stack, "ann-export-cli")
    assert {**from_cli, "exported_at": None} == {**from_api, "exported_at": None}

    unknown = CliRunner().invoke(main, ["customers", "export", "nobody"], env=environment)
    assert unknown.exit_code == 1 and "no customer 'nobody'" in unknown.output
