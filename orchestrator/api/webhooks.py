"""POST /webhooks/sendgrid, /webhooks/twilio/status and /webhooks/twilio/inbound: what providers tell us.

No API key: the provider's signature over the request is the credential, checked
before anything is read (orchestrator/webhooks/*_signature.py). A request that
is unsigned (401), badly signed or stale (403), or malformed (400, naming the
field) changes nothing. A request is applied whole or not at all, and a repeat
is harmless (orchestrator/webhooks/plan.py), so answering 503 when Temporal is
down is safe: the providers retry. The keys that check the signatures are the
app's settings (`ApiSettings`), read from the environment when the process starts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import ImmutableMultiDict

from orchestrator.api.errors import ApiError, FieldError
from orchestrator.api.state import ApiRuntime, runtime
from orchestrator.metrics import WEBHOOK_EVENTS
from orchestrator.store import StoreSession
from orchestrator.webhooks.errors import PayloadError, WebhookRefused
from orchestrator.webhooks.kinds import metric_kind
from orchestrator.webhooks.plan import Applied, WebhookPlan, apply_plan
from orchestrator.webhooks.sendgrid_events import parse_events, plan_events
from orchestrator.webhooks.sendgrid_signature import verify_sendgrid
from orchestrator.webhooks.twilio_inbound import EMPTY_TWIML, parse_inbound, plan_inbound
from orchestrator.webhooks.twilio_signature import verify_twilio
from orchestrator.webhooks.twilio_status import parse_status, plan_status

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
Runtime = Annotated[ApiRuntime, Depends(runtime)]


class WebhookAnswer(BaseModel):
    received: int = Field(description="Events in the request.")
    new: int = Field(description="Events seen for the first time; the others were repeats and changed nothing.")


def _refused(error: WebhookRefused) -> ApiError:
    headers = {"Retry-After": "60"} if error.status == 503 else None
    return ApiError(error.status, error.code, error.message, headers=headers)


def _invalid(error: PayloadError) -> ApiError:
    return ApiError.invalid([FieldError(field, message) for field, message in error.problems])


def _apply(api: ApiRuntime, plan_of: Callable[[StoreSession, datetime], WebhookPlan]) -> Applied:
    """Plan in a read transaction, then apply: blocking, so it runs in a worker thread."""
    now = datetime.now(UTC)
    with api.store.read() as session:
        plan = plan_of(session, now)
    applied = apply_plan(api.store, api.router, plan)
    for row in applied.logged:  # committed, and new: a provider's redelivery counts nothing twice
        WEBHOOK_EVENTS.labels(row.provider, metric_kind(row.provider, row.kind)).inc()
    return applied


@router.post("/sendgrid", response_model=WebhookAnswer)
async def sendgrid_events(request: Request, api: Runtime) -> WebhookAnswer:
    """SendGrid's Signed Event Webhook: delivery and engagement events for the email we sent."""
    body = await request.body()  # at most payloads.MAX_BODY_BYTES: the app refuses larger ones
    try:
        verify_sendgrid(api.settings.sendgrid_webhook, body, request.headers, datetime.now(UTC))
        events = parse_events(body)
    except WebhookRefused as exc:
        raise _refused(exc) from None
    except PayloadError as exc:
        raise _invalid(exc) from None
    applied = await run_in_threadpool(_apply, api, lambda session, now: plan_events(session, events, now))
    return WebhookAnswer(received=applied.received, new=applied.new)


async def _twilio_form(request: Request, api: ApiRuntime) -> ImmutableMultiDict[str, str]:
    """The form fields, after checking Twilio's signature over them."""
    body = await request.body()  # at most payloads.MAX_BODY_BYTES: the app refuses larger ones
    try:
        form = ImmutableMultiDict(_form_fields(body))
    except UnicodeDecodeError:
        raise ApiError.invalid([FieldError("body", "must be a UTF-8 form (application/x-www-form-urlencoded)")]) from None
    settings = api.settings.twilio_webhook
    url = settings.signed_url(str(request.url), request.url.path, request.url.query)
    try:
        verify_twilio(settings, url, form, request.headers)
    except WebhookRefused as exc:
        raise _refused(exc) from None
    return form


def _form_fields(body: bytes) -> list[tuple[str, str]]:
    # Blank values kept: Twilio signs every field it sends, empty ones included.
    return parse_qsl(body.decode("utf-8"), keep_blank_values=True)


@router.post("/twilio/status", response_model=WebhookAnswer)
async def twilio_status(request: Request, api: Runtime) -> WebhookAnswer:
    """Twilio's status callback for an SMS we sent (the StatusCallback URL the SMS provider sets)."""
    form = await _twilio_form(request, api)
    try:
        callback = parse_status(form)
    except PayloadError as exc:
        raise _invalid(exc) from None
    applied = await run_in_threadpool(_apply, api, lambda session, now: plan_status(session, callback, now))
    return WebhookAnswer(received=applied.received, new=applied.new)


@router.post("/twilio/inbound", response_class=Response)
async def twilio_inbound(request: Request, api: Runtime) -> Response:
    """An SMS a customer sent to our number: STOP, START and their synonyms change SMS consent. Answered with empty TwiML."""
    form = await _twilio_form(request, api)
    try:
        message = parse_inbound(form)
    except PayloadError as exc:
        raise _invalid(exc) from None
    await run_in_threadpool(_apply, api, lambda session, now: plan_inbound(session, message, now))
    return Response(EMPTY_TWIML, media_type="text/xml")
