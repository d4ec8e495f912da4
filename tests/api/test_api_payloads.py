"""Bad payloads: 400 with field-level errors, and nothing recorded (not FastAPI's 422)."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.store.schema import enrollments, events, profiles
from tests.api.support import QUICK_CART, Stack, compiled, count_rows

pytestmark = pytest.mark.asyncio(loop_scope="session")

TRACK = {"userId": "c1", "event": "checkout_started", "properties": {"cart_value": 50}}
IDENTIFY = {"type": "identify", "userId": "c1", "traits": {"country": "US", "email": "c1@example.com"}}
NOBODY = "is required, or anonymousId for a visitor who has not logged in"


def nothing_recorded(stack: Stack) -> bool:
    return count_rows(stack.store, events) == 0 and count_rows(stack.store, profiles) == 0 and count_rows(stack.store, enrollments) == 0


async def post(stack: Stack, path: str, body: Any) -> dict[str, Any]:
    answer = await stack.http.post(path, json=body)
    assert answer.status_code == 400, answer.text
    payload: dict[str, Any] = answer.json()
    assert payload["error"] == "invalid_payload"
    return payload


@pytest.mark.parametrize(
    ("path", "body", "field", "message"),
    [
        ("/v1/track", {"event": "checkout_started"}, "userId", NOBODY),
        ("/v1/track", {"userId": "", "event": "checkout_started"}, "userId", "must not be empty"),
        ("/v1/track", {"userId": "  ", "event": "checkout_started"}, "userId", "must not be blank"),
        ("/v1/track", {"userId": ["c1"], "event": "checkout_started"}, "userId", "must be a string"),
        ("/v1/track", {"userId": "c1"}, "event", "is required"),
        ("/v1/track", {"userId": "c1", "event": 42}, "event", "must be a string"),
        ("/v1/track", {"userId": "c1", "event": "x", "properties": [1, 2]}, "properties", "must be a JSON object"),
        ("/v1/track", {"userId": "c1", "event": "x", "timestamp": "yesterday"}, "timestamp", "ISO 8601"),
        ("/v1/track", {"userId": "c1", "event": "x", "messageId": ""}, "messageId", "must not be empty"),
        ("/v1/track", {"userId": "c1", "event": "x", "context": "web"}, "context", "must be a JSON object"),
        ("/v1/track", ["not", "an", "object"], "body", "must be a JSON object"),
        ("/v1/identify", {"traits": {"plan": "pro"}}, "userId", NOBODY),
        ("/v1/identify", {"userId": "anonymous:v1"}, "userId", "must not begin with 'anonymous:'"),
        ("/v1/track", {"anonymousId": "", "event": "x"}, "anonymousId", "must not be empty"),
        ("/v1/alias", {"userId": "c1"}, "previousId", "is required"),
        ("/v1/alias", {"previousId": "v1"}, "userId", "is required"),
        ("/v1/identify", {"userId": "c1", "traits": "pro"}, "traits", "must be a JSON object"),
        ("/v1/batch", {}, "batch", "is required"),
        ("/v1/batch", {"batch": {"type": "track"}}, "batch", "must be a JSON array"),
        ("/v1/batch", {"batch": [IDENTIFY, {**TRACK, "type": "page"}]}, "batch[1].type", "must be one of 'identify', 'track', 'alias'"),
        ("/v1/batch", {"batch": [IDENTIFY, TRACK]}, "batch[1].type", "is required"),
        ("/v1/batch", {"batch": [IDENTIFY, {"type": "track", "userId": "c1"}]}, "batch[1].event", "is required"),
        ("/v1/batch", {"batch": [IDENTIFY, {"type": "identify", "userId": "c2", "traits": 7}]}, "batch[1].traits", "must be a JSON object"),
    ],
)
async def test_bad_payload_is_a_400_naming_the_field_and_records_nothing(
    stack: Stack, path: str, body: Any, field: str, message: str
) -> None:
    await stack.deploy(compiled(QUICK_CART))
    answer = await post(stack, path, body)
    assert [e["field"] for e in answer["errors"]] == [field]
    assert message in answer["errors"][0]["message"]
    assert nothing_recorded(stack)
    assert stack.spy.calls == []


async def test_a_body_that_is_not_json_is_a_400(stack: Stack) -> None:
    answer = await stack.http.post("/v1/track", content=b'{"userId": "c1", ', headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "body"
    assert "not valid JSON" in answer.json()["errors"][0]["message"]


async def test_every_bad_item_of_a_batch_is_listed(stack: Stack) -> None:
    batch = [IDENTIFY, TRACK | {"type": "track"}, {"type": "track", "event": "x"}, IDENTIFY, {"type": "track", "userId": "c9"}]
    answer = await post(stack, "/v1/batch", {"batch": batch})
    assert [(e["field"], e["message"]) for e in answer["errors"]] == [("batch[2].userId", NOBODY), ("batch[4].event", "is required")]
    assert nothing_recorded(stack)


async def test_a_trait_the_profile_refuses_is_a_400_naming_the_trait(stack: Stack) -> None:
    answer = await post(stack, "/v1/identify", {"userId": "c1", "traits": {"email": "not-an-address", "plan": "pro"}})
    assert answer["errors"][0]["field"] == "traits.email"
    assert "not a valid email address" in answer["errors"][0]["message"]
    answer = await post(stack, "/v1/identify", {"userId": "c1", "traits": {"timezone": "Mars/Olympus"}})
    assert answer["errors"][0]["field"] == "traits.timezone"
    assert nothing_recorded(stack)


async def test_a_batch_with_one_refused_trait_applies_nothing_and_reaches_no_enrollment(stack: Stack) -> None:
    await stack.deploy(compiled(QUICK_CART))
    batch = [
        IDENTIFY,
        TRACK | {"type": "track"},  # would enroll c1
        {"type": "track", "userId": "c2", "event": "page_viewed"},  # no journey listens: bulk-inserted
        {"type": "identify", "userId": "c3", "traits": {"phone": "12"}},
    ]
    answer = await post(stack, "/v1/batch", {"batch": batch})
    assert answer["errors"] == [{"field": "batch[3].traits.phone", "message": answer["errors"][0]["message"]}]
    assert "not a valid phone number" in answer["errors"][0]["message"]
    assert nothing_recorded(stack)
    assert stack.spy.calls == []  # the enrollment of c1 was planned, never started
    assert await stack.workflow_count() == 0


async def test_a_body_not_sent_as_json_is_a_400_naming_the_content_type(stack: Stack) -> None:
    answer = await stack.http.post("/v1/track", content=b'{"userId": "c1", "event": "x"}', headers={"Content-Type": "text/plain"})
    assert answer.status_code == 400
    assert "Content-Type: application/json" in answer.json()["errors"][0]["message"]
    assert nothing_recorded(stack)
