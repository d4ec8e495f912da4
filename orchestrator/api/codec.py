"""POST /v1/codec/encode and /decode: Temporal's remote codec protocol, so authorized engineers can read encrypted histories.

`temporal workflow show --codec-endpoint https://<api>/v1/codec --codec-auth "Bearer <key>"`
and the Temporal UI's codec endpoint setting post `{"payloads": [...]}` (protobuf's JSON
form of `temporal.api.common.v1.Payloads`) and get the same shape back, decoded (or
encoded) with the API's payload keys (orchestrator/privacy/payload_codec.py). Like every
endpoint that reads customer data, it needs an API key; reading a history without one
shows ciphertext only.

The UI calls it from the browser, on another origin: the origins of JOURNEY_CODEC_CORS_ORIGINS
(the UI's address) get CORS headers, credentials included, and their preflight OPTIONS is
answered without a key (a browser never sends one with it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import lru_cache
from typing import Annotated

from cryptography.exceptions import InvalidTag
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from orchestrator.api.errors import ApiError, FieldError
from orchestrator.api.state import ApiRuntime, ApiSettings, runtime
from orchestrator.privacy.payload_codec import EncryptionCodec, PayloadKeys, UnknownPayloadKey

PREFIX = "/v1/codec"
Runtime = Annotated[ApiRuntime, Depends(runtime)]
Transform = Callable[[EncryptionCodec, Sequence[Payload]], Awaitable[list[Payload]]]

router = APIRouter(prefix=PREFIX, tags=["codec"])
"""The two POSTs, behind the API key (app.py)."""
preflight = APIRouter(prefix=PREFIX, tags=["codec"], include_in_schema=False)
"""CORS preflight, open: it carries no data and a browser sends no credentials with it."""


@router.post("/encode", summary="Encrypt payloads (Temporal remote codec protocol)")
async def encode(request: Request, api: Runtime) -> Response:
    return await _apply(request, api.settings, EncryptionCodec.encode)


@router.post("/decode", summary="Decrypt payloads (Temporal remote codec protocol)")
async def decode(request: Request, api: Runtime) -> Response:
    return await _apply(request, api.settings, EncryptionCodec.decode)


@preflight.options("/{operation}")
async def allow(operation: str, request: Request, api: Runtime) -> Response:
    return Response(status_code=204, headers=cors_headers(request, api.settings.codec_origins))


def cors_headers(request: Request, origins: frozenset[str]) -> dict[str, str]:
    """CORS headers for a request from one of `origins` (the Temporal UI); none for any other origin."""
    origin = request.headers.get("origin")
    if origin is None or origin.rstrip("/") not in origins:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": "authorization, content-type, x-namespace",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }


async def _apply(request: Request, settings: ApiSettings, transform: Transform) -> Response:
    if settings.payload_keys is None:
        raise ApiError.not_found("this API has no payload keys (JOURNEY_PAYLOAD_KEYS=none): its Temporal payloads are not encrypted")
    payloads = Payloads()
    try:
        json_format.Parse(await request.body(), payloads)
    except (json_format.ParseError, UnicodeDecodeError) as exc:
        raise ApiError.invalid([FieldError("body", f'must be {{"payloads": [...]}} as Temporal sends it ({exc})')]) from None
    try:
        done = await transform(_codec(settings.payload_keys), payloads.payloads)
    except UnknownPayloadKey as exc:
        raise ApiError(422, "unknown_key", str(exc)) from None
    except InvalidTag:
        raise ApiError(422, "undecryptable", "a payload does not decrypt with the key its id names: it was changed") from None
    body = {"payloads": [json_format.MessageToDict(payload) for payload in done]}
    return JSONResponse(body, headers=cors_headers(request, settings.codec_origins))


@lru_cache(maxsize=4)
def _codec(keys: PayloadKeys) -> EncryptionCodec:
    return EncryptionCodec(keys)
