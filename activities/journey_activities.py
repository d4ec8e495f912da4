"""The activities a journey enrollment calls: every read or write of the outside world.

All of them are idempotent, because Temporal retries an activity whose worker
died mid-way: sends go through the delivery ledger keyed by (enrollment, step,
visit), profile updates write the same values again, webhooks carry an
Idempotency-Key, and finishing an enrollment twice changes nothing.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from typing import Any

import httpx
from jinja2 import TemplateError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.messages import Undeliverable, build_message
from orchestrator.runtime.clock import customer_zone, next_time_of_day, until_date_instant
from orchestrator.runtime.contracts import (
    ConditionRequest,
    FinishRequest,
    SendRequest,
    SendResult,
    UpdateRequest,
    WakeRequest,
    WakeResult,
    WebhookRequest,
    WebhookResult,
)
from orchestrator.store import OutboxMessage, Store
from orchestrator.templating import evaluate, render

log = logging.getLogger(__name__)

SECRET_PREFIX = "JOURNEY_SECRET_"


def _now() -> datetime:
    return datetime.now(UTC)


class JourneyActivities:
    """Activities bound to one store; register `activities()` with the worker."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def activities(self) -> list[Any]:
        return [
            self.send_message,
            self.evaluate_conditions,
            self.wake_time,
            self.update_profile,
            self.call_webhook,
            self.finish_enrollment,
        ]

    def _customer(self, customer_id: str) -> dict[str, Any]:
        with self.store.session() as session:
            profile = session.get_profile(customer_id)
        if profile is None:
            return {"id": customer_id, "email": None, "phone": None, "timezone": None, "locale": None, "push_tokens": []}
        return profile.template_context()

    @activity.defn(name="send_message")
    def send_message(self, request: SendRequest) -> SendResult:
        """Render and deliver one message, at most once per (enrollment, step, visit)."""
        now = _now()
        with self.store.session() as session:
            claim = session.claim_delivery(request.enrollment_id, request.step_id, request.visit, request.channel, now)
            if claim.status != "intent":
                # A retry of a send that already happened (or was refused): report it again, do nothing.
                return SendResult(claim.status, claim.reason)
        customer = self._customer(request.customer_id)
        try:
            message = build_message(request, customer)
        except Undeliverable as exc:
            status = "failed" if str(exc).startswith("template error") else "suppressed"
            with self.store.session() as session:
                session.mark_delivery(request.enrollment_id, request.step_id, request.visit, status, _now(), reason=str(exc))
            log.info("send %s/%s not delivered: %s", request.enrollment_id, request.step_id, exc)
            return SendResult(status, str(exc))
        # The sandbox provider: the outbox row and the ledger's `sent` commit together, exactly once.
        with self.store.session() as session:
            session.add_outbox_message(
                OutboxMessage(
                    customer_id=request.customer_id,
                    enrollment_id=request.enrollment_id,
                    journey_id=request.journey_id,
                    version=request.version,
                    step_id=request.step_id,
                    channel=message.channel,
                    to=message.to,
                    subject=message.subject if message.channel == "email" else message.title,
                    body=message.body,
                    sent_at=datetime.fromisoformat(request.now),
                )
            )
            session.mark_delivery(request.enrollment_id, request.step_id, request.visit, "sent", _now(), provider_message_id="sandbox")
        return SendResult("sent")

    @activity.defn(name="evaluate_conditions")
    def evaluate_conditions(self, request: ConditionRequest) -> list[bool]:
        """Truth of each condition against the customer's current profile; a failing one is false."""
        context = {
            "customer": self._customer(request.customer_id),
            "event": request.event or {},
            "journey": {"id": request.journey_id, "version": request.version},
        }
        results: list[bool] = []
        for condition in request.conditions:
            try:
                results.append(bool(evaluate(condition, context)))
            except (TemplateError, TypeError, ValueError, ArithmeticError) as exc:
                log.info("condition %r of %s is false: %s", condition, request.journey_id, exc)
                results.append(False)
        return results

    @activity.defn(name="wake_time")
    def wake_time(self, request: WakeRequest) -> WakeResult:
        customer = self._customer(request.customer_id)
        zone = customer_zone(customer.get("timezone"), request.default_timezone)
        now = datetime.fromisoformat(request.now)
        if request.until is not None:
            return WakeResult(next_time_of_day(now, zone, request.until, tuple(request.days)).isoformat())
        assert request.until_date is not None
        try:
            value = evaluate(request.until_date, {"customer": customer, "event": request.event or {}, "journey": {}})
            moment = until_date_instant(
                value, now=now, zone=zone, offset_seconds=request.offset_seconds, at=request.at, repeat=request.repeat
            )
        except (TemplateError, TypeError, ValueError, OverflowError) as exc:
            return WakeResult(None, f"no date from {request.until_date!r}: {exc}")
        return WakeResult(moment.isoformat())

    @activity.defn(name="update_profile")
    def update_profile(self, request: UpdateRequest) -> None:
        context = {
            "customer": self._customer(request.customer_id),
            "event": request.event or {},
            "journey": {"id": request.journey_id, "version": request.version},
        }
        values = dict(request.set or {})
        for key, expression in (request.compute or {}).items():
            try:
                values[key] = evaluate(expression, context)
            except (TemplateError, TypeError, ValueError, ArithmeticError) as exc:
                log.info("update %s.%s skipped: %s", request.step_id, key, exc)
        with self.store.session(lock_customer=request.customer_id) as session:
            session.update_traits(request.customer_id, values, request.unset, datetime.fromisoformat(request.now))

    @activity.defn(name="call_webhook")
    def call_webhook(self, request: WebhookRequest) -> WebhookResult:
        secrets = {k[len(SECRET_PREFIX) :]: v for k, v in os.environ.items() if k.startswith(SECRET_PREFIX)}
        context = {
            "customer": self._customer(request.customer_id),
            "event": request.event or {},
            "journey": {"id": request.journey_id, "version": request.version},
            "secrets": secrets,
        }
        try:
            url = render(request.url, context)
            headers = {k: render(v, context) for k, v in (request.headers or {}).items()}
            body = _render_body(request.body, context)
        except TemplateError as exc:
            raise ApplicationError(f"webhook template error: {exc}", non_retryable=True) from exc
        headers.setdefault("Idempotency-Key", f"{request.enrollment_id}:{request.step_id}:{request.visit}")
        try:
            response = httpx.request(
                request.method,
                url,
                headers=headers,
                json=body if not isinstance(body, str) else None,
                content=body if isinstance(body, str) else None,
                timeout=request.timeout_seconds,
            )
        except httpx.HTTPError as exc:
            raise ApplicationError(f"webhook {request.step_id}: {exc}") from exc  # retried
        if response.status_code == 429 or response.status_code >= 500:
            raise ApplicationError(f"webhook {request.step_id}: HTTP {response.status_code}")  # retried
        return WebhookResult(response.status_code)

    @activity.defn(name="finish_enrollment")
    def finish_enrollment(self, request: FinishRequest) -> None:
        with self.store.session() as session:
            session.finish_enrollment(request.enrollment_id, request.status, request.step, datetime.fromisoformat(request.at))


def _render_body(body: Any, context: dict[str, Any]) -> Any:
    if isinstance(body, str):
        return render(body, context)
    if isinstance(body, dict):
        return {k: _render_body(v, context) for k, v in body.items()}
    if isinstance(body, list):
        return [_render_body(v, context) for v in body]
    return body
