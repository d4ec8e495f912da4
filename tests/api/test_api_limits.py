"""What one call may hold: bodies, values and ids the store or Temporal could not take are a 400 or 413 naming the field."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from orchestrator.api.limits import MAX_DEPTH, MAX_PROPERTIES_BYTES, MAX_TRAIT_BYTES
from orchestrator.api.payloads import MAX_BODY_BYTES
from tests.api.support import QUICK_CART, Stack, compiled
from tests.api.test_api_payloads import nothing_recorded

pytestmark = pytest.mark.asyncio(loop_scope="session")

JSON = {"Content-Type": "application/json"}
ESCAPED_OVER_TRAIT_LIMIT = "é" * (MAX_TRAIT_BYTES // 6 + 1)
"""Fewer characters than the limit, but over it as Temporal writes it: each "é" is 6 bytes once escaped."""


async def refused(stack: Stack, path: str, content: bytes) -> list[tuple[str, str]]:
    answer = await stack.http.post(path, content=content, headers=JSON)
    assert answer.status_code == 400, answer.text
    assert nothing_recorded(stack)
    assert stack.spy.calls == []
    return [(e["field"], e["message"]) for e in answer.json()["errors"]]


def track(properties: Any) -> bytes:
    return json.dumps({"userId": "c1", "event": "x", "properties": properties}).encode()


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"in": value}
    return value


@pytest.mark.parametrize(
    ("path", "body", "field", "message"),
    [
        ("/v1/track", b'{"userId": "c1", "event": "x", "properties": {"cart": {"items": [1, NaN]}}}', "properties.cart.items[1]", "finite"),
        ("/v1/track", b'{"userId": "c1", "event": "x", "properties": {"value": -Infinity}}', "properties.value", "finite"),
        ("/v1/identify", b'{"userId": "c1", "traits": {"score": Infinity}}', "traits.score", "finite"),
        ("/v1/batch", b'{"batch": [{"type": "identify", "userId": "c1", "traits": {"ltv": NaN}}]}', "batch[0].traits.ltv", "finite"),
        ("/v1/track", b'{"userId": "c1", "event": "x", "timestamp": "0001-01-01T00:00:00+14:00"}', "timestamp", "out of range"),
        ("/v1/track", b'{"userId": "c1", "event": "x", "timestamp": "9999-12-31T23:59:59-14:00"}', "timestamp", "out of range"),
        ("/v1/track", b'{"userId": "c1\\n", "event": "x"}', "userId", "control characters"),
        ("/v1/identify", b'{"userId": "c\\u00001", "traits": {}}', "userId", "control characters"),
        ("/v1/track", b'{"userId": "c\\ud800", "event": "x"}', "userId", "lone surrogate"),
        ("/v1/track", b'{"userId": "c1", "event": "x", "properties": {"name": "\\udc00"}}', "properties.name", "lone surrogate"),
        ("/v1/track", track(nested(MAX_DEPTH + 1)), "properties" + ".in" * MAX_DEPTH, "nested"),
        ("/v1/track", track({"blob": "x" * MAX_PROPERTIES_BYTES}), "properties", f"at most {MAX_PROPERTIES_BYTES}"),
        ("/v1/identify", json.dumps({"userId": "c1", "traits": {"bio": ESCAPED_OVER_TRAIT_LIMIT}}).encode(), "traits.bio", "at most"),
    ],
)
async def test_a_value_nothing_downstream_can_take_is_a_400_naming_it(
    stack: Stack, path: str, body: bytes, field: str, message: str
) -> None:
    await stack.deploy(compiled(QUICK_CART))
    [(named, text)] = await refused(stack, path, body)
    assert named == field
    assert message in text


async def test_values_at_the_limits_are_accepted(stack: Stack) -> None:
    properties = {"blob": "x" * (MAX_PROPERTIES_BYTES - 400), "deep": nested(MAX_DEPTH - 1)}
    assert len(json.dumps(properties, separators=(",", ":"))) <= MAX_PROPERTIES_BYTES
    answer = await stack.http.post("/v1/track", json={"userId": "c1", "event": "x", "properties": properties})
    assert answer.status_code == 200, answer.text


async def test_a_body_over_the_limit_is_a_413_naming_the_body(stack: Stack) -> None:
    body = json.dumps({"batch": [{"type": "track", "userId": "c1", "event": "x", "properties": {"p": "x" * 60_000}}] * 90}).encode()
    assert len(body) > MAX_BODY_BYTES
    answer = await stack.http.post("/v1/batch", content=body, headers=JSON)
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"] == "payload_too_large"
    assert answer.json()["errors"] == [{"field": "body", "message": f"must be at most {MAX_BODY_BYTES} bytes"}]
    assert nothing_recorded(stack)


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (b'{"userId": "c1", "event": "caf\xe9"}', {}, "not valid UTF-8"),
        (b'{"userId": "c1", "event": "x", "properties": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", {}, "nested too deeply"),
        (gzip.compress(b'{"userId": "c1", "event": "x"}'), {"Content-Encoding": "gzip"}, "compressed (Content-Encoding: gzip)"),
    ],
)
async def test_a_body_that_cannot_be_read_is_a_400_with_the_field_error_shape(
    stack: Stack, body: bytes, headers: dict[str, str], message: str
) -> None:
    answer = await stack.http.post("/v1/track", content=body, headers=JSON | headers)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid_payload"
    [error] = answer.json()["errors"]
    assert error["field"] == "body"
    assert message in error["message"]


async def test_an_identify_with_five_bad_traits_lists_all_five(stack: Stack) -> None:
    traits = {
        "email": "not-an-address",
        "plan": "pro",
        "phone": "12",
        "timezone": "Mars/Olympus",
        "locale": "??",
        "sms_opt_in": "yes",
    }
    errors = await refused(stack, "/v1/identify", json.dumps({"userId": "c1", "traits": traits}).encode())
    assert [field for field, _ in errors] == ["traits.email", "traits.phone", "traits.timezone", "traits.locale", "traits.sms_opt_in"]
    batch = {"batch": [{"type": "identify", "userId": "c1", "traits": {"country": "FR", "phone": "12", "email": "@"}}]}
    errors = await refused(stack, "/v1/batch", json.dumps(batch).encode())
    assert [field for field, _ in errors] == ["batch[0].traits.phone", "batch[0].traits.email"]
    assert "read as a FR number" in errors[0][1]


async def test_a_body_over_the_limit_without_a_length_is_a_413_too(stack: Stack) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"userId": "c1", "event": "x", "properties": {"p": "'
        for _ in range(MAX_BODY_BYTES // 65_536 + 1):
            yield b"x" * 65_536
        yield b'"}}'

    answer = await stack.http.post("/v1/track", content=chunks(), headers=JSON)
    assert answer.status_code == 413, answer.text
    assert answer.json()["errors"] == [{"field": "body", "message": f"must be at most {MAX_BODY_BYTES} bytes"}]
    assert nothing_recorded(stack)
