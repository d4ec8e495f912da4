"""POST /v1/codec/decode and /encode: Temporal's remote codec protocol, behind the API key, CORS for the UI's origin only."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.converter import DataConverter

from orchestrator.api import ApiSettings, create_app
from orchestrator.privacy.payload_codec import PayloadKey, PayloadKeys, encrypting_converter
from orchestrator.store import Store
from tests.api.support import API_KEY, AUTH, running_app
from tests.keys import HASH_SECRET, PAYLOAD_KEYS

pytestmark = pytest.mark.asyncio(loop_scope="session")
UI = "https://temporal.shop.example"
EMAIL = "ann@example.com"


@pytest_asyncio.fixture(loop_scope="session")
async def api(tmp_path: Path, temporal: Client) -> AsyncIterator[httpx.AsyncClient]:
    store = Store(f"sqlite:///{tmp_path / 'journey.db'}")
    store.migrate()
    settings = ApiSettings(payload_keys=PAYLOAD_KEYS, codec_origins=frozenset({UI}))
    app = create_app(
        store, temporal, api_keys=frozenset({API_KEY}), hash_secret=HASH_SECRET, task_queue="q", search_attributes=True, settings=settings
    )
    async with running_app(app) as http:
        yield http
    store.dispose()


async def as_json(value: object, converter: DataConverter) -> dict[str, list[object]]:
    """A value as the Temporal CLI and UI post it: protobuf's JSON form of `Payloads`."""
    return {"payloads": [json_format.MessageToDict(p) for p in await converter.encode([value])]}


def data_of(answer: httpx.Response) -> list[bytes]:
    return [base64.b64decode(payload["data"]) for payload in answer.json()["payloads"]]


async def test_an_engineer_with_an_api_key_reads_an_encrypted_payload(api: httpx.AsyncClient) -> None:
    body = await as_json({"customer_id": EMAIL}, encrypting_converter(PAYLOAD_KEYS))
    answer = await api.post("/v1/codec/decode", json=body, headers=AUTH | {"X-Namespace": "default"})
    assert answer.status_code == 200, answer.text
    assert [json.loads(data) for data in data_of(answer)] == [{"customer_id": EMAIL}]


async def test_without_an_api_key_the_payload_stays_encrypted(api: httpx.AsyncClient) -> None:
    body = await as_json({"customer_id": EMAIL}, encrypting_converter(PAYLOAD_KEYS))
    answer = await api.post("/v1/codec/decode", json=body)
    assert answer.status_code == 401 and EMAIL not in answer.text


async def test_encode_gives_what_the_workers_decode(api: httpx.AsyncClient) -> None:
    answer = await api.post("/v1/codec/encode", json=await as_json("hello", DataConverter.default), headers=AUTH)
    assert answer.status_code == 200 and b"hello" not in b"".join(data_of(answer))
    payloads = [json_format.ParseDict(p, Payload()) for p in answer.json()["payloads"]]
    assert await encrypting_converter(PAYLOAD_KEYS).decode(payloads) == ["hello"]


async def test_a_payload_of_a_removed_key_is_refused_naming_the_key(api: httpx.AsyncClient) -> None:
    body = await as_json("x", encrypting_converter(PayloadKeys((PayloadKey("retired", bytes(32)),))))
    answer = await api.post("/v1/codec/decode", json=body, headers=AUTH)
    assert answer.status_code == 422 and "'retired'" in answer.json()["message"]


async def test_the_temporal_uis_origin_gets_cors_and_no_other_does(api: httpx.AsyncClient) -> None:
    preflight = {"Origin": UI, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}
    allowed = await api.options("/v1/codec/decode", headers=preflight)
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == UI and allowed.headers["access-control-allow-credentials"] == "true"
    assert "authorization" in allowed.headers["access-control-allow-headers"]
    other = await api.options("/v1/codec/decode", headers=preflight | {"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    body = await as_json("x", encrypting_converter(PAYLOAD_KEYS))
    decoded = await api.post("/v1/codec/decode", json=body, headers=AUTH | {"Origin": UI})
    assert decoded.headers["access-control-allow-origin"] == UI
