"""Anonymous visitors through the API, on a real Temporal dev server and worker: enrolled before they log in, merged
by identify or alias, and the customer's messages, caps and lookups as one customer's."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.client import WorkflowExecutionStatus

from orchestrator.store.schema import events, identities, profiles
from tests.api.support import Stack, compiled, count_rows, eventually, first_messages

pytestmark = pytest.mark.asyncio(loop_scope="session")

BROWSE = """
id: browse
name: Browse
trigger: {event: product_viewed}
entry: {re_entry: never}
steps:
  - id: ready
    wait_for: {event: cart_viewed, within: 1d, timeout_next: end}
  - id: reminder
    send: {channel: email, subject: "Still thinking about it?", body: "<p>It is waiting for you.</p>"}
"""

CAPPED = """
id: capped
name: Capped
trigger: {event: product_viewed}
entry: {re_entry: always}
settings:
  frequency_cap: {max: 1, per: 1d}
steps:
  - id: hello
    send: {channel: email, subject: "Seen something you like?", body: "<p>Have a look.</p>"}
"""


async def post(stack: Stack, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    answer = await stack.http.post(path, json=body)
    assert answer.status_code == status, answer.text
    payload: dict[str, Any] = answer.json()
    return payload


async def test_a_visitor_enrolled_before_logging_in_is_emailed_at_the_address_the_login_brings(stack: Stack) -> None:
    await stack.deploy(compiled(BROWSE))
    (enrolled,) = (await post(stack, "/v1/track", {"anonymousId": "v-1", "event": "product_viewed"}))["enrolled"]
    assert [j["status"] for j in await stack.journeys("anonymous:v-1")] == ["running"]

    login = {"userId": "u-1", "anonymousId": "v-1", "traits": {"email": "u1@example.com"}, "messageId": "login-1"}
    await post(stack, "/v1/identify", login)
    assert (await post(stack, "/v1/identify", login))["duplicate"] is True
    answer = await stack.http.get("/v1/customers/u-1/journeys")
    assert [(j["enrollment_id"], j["status"]) for j in answer.json()["journeys"]] == [(enrolled, "running")]
    assert [(m["anonymous_id"], m["message_id"]) for m in answer.json()["merged"]] == [("v-1", "login-1")]
    gone = await stack.http.get("/v1/customers/anonymous:v-1/journeys")
    assert gone.status_code == 404 and "'u-1'" in gone.json()["message"]

    # The visitor's id still reaches them: the event the enrollment waits for comes from the anonymous browser.
    assert (await post(stack, "/v1/track", {"anonymousId": "v-1", "event": "cart_viewed"}))["signalled"] == [enrolled]
    (message,) = await first_messages(stack, "u-1", 1)
    assert message["to"] == "u1@example.com" and message["step"] == "reminder"
    assert count_rows(stack.store, events, customer_id="anonymous:v-1") == 0


async def test_where_both_were_enrolled_one_message_goes_out_and_the_younger_workflow_is_ended(stack: Stack) -> None:
    await stack.deploy(compiled(BROWSE))
    (older,) = (await post(stack, "/v1/track", {"anonymousId": "v-2", "event": "product_viewed"}))["enrolled"]
    await stack.identify("u-2", email="u2@example.com")
    (younger,) = (await stack.track("u-2", "product_viewed")).json()["enrolled"]

    await post(stack, "/v1/alias", {"previousId": "v-2", "userId": "u-2"})
    statuses = {j["enrollment_id"]: j["status"] for j in await stack.journeys("u-2")}
    assert statuses == {older: "running", younger: "merged"}
    described = await stack.temporal.get_workflow_handle(younger).describe()
    assert described.status == WorkflowExecutionStatus.TERMINATED

    assert (await stack.track("u-2", "cart_viewed")).json()["signalled"] == [older]
    (message,) = await first_messages(stack, "u-2", 1)
    assert message["enrollment_id"] == older
    assert len(await stack.messages("u-2")) == 1


async def test_a_frequency_cap_counts_what_the_visitor_was_sent_before_logging_in(stack: Stack) -> None:
    await stack.deploy(compiled(CAPPED))
    await post(stack, "/v1/identify", {"anonymousId": "v-3", "traits": {"email": "v3@example.com"}})
    await post(stack, "/v1/track", {"anonymousId": "v-3", "event": "product_viewed"})
    await first_messages(stack, "anonymous:v-3", 1)

    await post(stack, "/v1/batch", {"batch": [{"type": "alias", "previousId": "v-3", "userId": "u-3"}]})
    (second,) = (await stack.track("u-3", "product_viewed")).json()["enrolled"]

    async def skipped() -> dict[str, Any] | None:
        answer = await stack.http.get("/v1/customers/u-3/deliveries")
        found = [d for d in answer.json()["deliveries"] if d["enrollment_id"] == second]
        return found[0] if found and found[0]["status"] == "suppressed" else None

    assert "cap" in (await eventually(skipped, what="the second message suppressed by the cap"))["reason"]
    assert len(await stack.messages("u-3")) == 1  # the visitor's message, now the customer's


async def test_an_anonymous_id_is_merged_into_one_customer_only(stack: Stack) -> None:
    await post(stack, "/v1/track", {"anonymousId": "v-4", "event": "product_viewed"})
    await post(stack, "/v1/alias", {"previousId": "v-4", "userId": "u-4"})
    refused = await post(stack, "/v1/identify", {"userId": "u-5", "anonymousId": "v-4", "traits": {"plan": "pro"}}, status=409)
    assert refused["error"] == "anonymous_id_merged"
    assert [e["field"] for e in refused["errors"]] == ["anonymousId", "userId"]
    batch = {"batch": [{"type": "track", "userId": "u-6", "event": "x"}, {"type": "alias", "previousId": "v-4", "userId": "u-6"}]}
    refused = await post(stack, "/v1/batch", batch, status=409)
    assert [e["field"] for e in refused["errors"]] == ["batch[1].previousId", "batch[1].userId"]
    assert count_rows(stack.store, profiles, customer_id="u-5") == count_rows(stack.store, profiles, customer_id="u-6") == 0
    assert count_rows(stack.store, identities) == 1
