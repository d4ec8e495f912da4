"""The activities a journey enrollment calls: every read or write of the outside world.

All of them are idempotent, because Temporal retries an activity whose worker
died mid-way: sends go through the delivery gate and the delivery ledger keyed
by (enrollment, step, visit); profile updates write literal values (computed
ones are evaluated beforehand by the read-only `evaluate_values`), so a retry
writes the same again; webhooks carry an Idempotency-Key; finishing an
enrollment twice changes nothing.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from jinja2 import TemplateError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.delivery_gate import decide, settings_from_json
from activities.messages import Undeliverable, build_message
from orchestrator.runtime.clock import customer_zone, next_time_of_day, until_date_instant
from orchestrator.runtime.contracts import (
    ConditionRequest,
    FinishRequest,
    SendRequest,
    SendResult,
    UpdateRequest,
    ValuesRequest,
    WakeRequest,
    WakeResult,
    WebhookRequest,
    WebhookResult,
)
from orchestrator.store import OutboxMessage, ProfileFieldError, Store
from orchestrator.store.profiles import dumps
from orchestrator.templating import evaluate, render

log = logging.getLogger(__name__)

SECRET_PREFIX = "JOURNEY_SECRET_"


def _now() -> datetime:
    return datetime.now(UTC)


class JourneyActivities:
    """Activities bound to one store; register `activities()` with the worker.

    `http` is the client webhooks go through and `secrets` what their templates
    read as `secrets.NAME` (default: JOURNEY_SECRET_NAME variables, read at each
    call); the simulator passes a recording transport and placeholders.
    """

    def __init__(self, store: Store, http: httpx.Client | None = None, secrets: Mapping[str, str] | None = None) -> None:
        self.store = store
        self.http = http if http is not None else httpx.Client()
        self.secrets = secrets

    def activities(self) -> list[Any]:
        return [
            self.send_message,
            self.evaluate_conditions,
            self.evaluate_values,
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
        """Deliver one message at most once per (enrollment, step, visit), through the delivery gate.

        `deferred` (quiet hours) leaves the ledger row claimed but undecided: the workflow
        sleeps until `retry_at` and calls again with the same visit, and the gate decides anew.
        """
        with self.store.session() as session:
            claim = session.claim_delivery(request.enrollment_id, request.step_id, request.visit, request.channel, _now())
        if claim.status != "intent":
            # A retry of a send that already happened (or was refused): report it again, do nothing.
            return SendResult(claim.status, claim.reason)
        customer = self._customer(request.customer_id)
        now = datetime.fromisoformat(request.now)
        decision = decide(
            channel=request.channel,
            category=request.category,
            customer=customer,
            settings=settings_from_json(request.settings),
            now=now,
            recent_sends=self._recent_sends(request.customer_id, request.journey_id, set(request.transactional_steps)),
        )
        if decision.action == "defer":
            assert decision.retry_at is not None
            return SendResult("deferred", decision.reason, decision.retry_at.isoformat())
        try:
            if decision.action == "suppress":
                raise Undeliverable(decision.reason or "suppressed")
            message = build_message(request, customer)
        except Undeliverable as exc:
            status = "failed" if str(exc).startswith("template error") else "suppressed"
            with self.store.session() as session:
                session.mark_delivery(request.enrollment_id, request.step_id, request.visit, status, _now(), reason=str(exc))
            log.info("send %s/%s not delivered: %s", request.enrollment_id, request.step_id, exc)
            return SendResult(status, str(exc))
        # The sandbox provider: the outbox row and the ledger's `sent` commit together, exactly once.
        # The ledger is read again under the customer's lock, so an attempt that overlaps a slow
        # earlier one (a start-to-close timeout) sees its `sent` and writes nothing.
        with self.store.session(lock_customer=request.customer_id) as session:
            current = session.claim_delivery(request.enrollment_id, request.step_id, request.visit, request.channel, _now())
            if current.status != "intent":
                return SendResult(current.status, current.reason)
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
                    sent_at=now,
                )
            )
            session.mark_delivery(request.enrollment_id, request.step_id, request.visit, "sent", _now(), provider_message_id="sandbox")
        return SendResult("sent")

    def _recent_sends(self, customer_id: str, journey_id: str, transactional_steps: set[str]) -> list[datetime]:
        """When this journey sent the customer a marketing message (what the frequency cap counts)."""
        with self.store.session() as session:
            messages = session.messages_for(customer_id)
        return [m.sent_at for m in messages if m.journey_id == journey_id and m.step_id not in transactional_steps]

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

    @activity.defn(name="evaluate_values")
    def evaluate_values(self, request: ValuesRequest) -> dict[str, Any]:
        """The value of each expression (an update's `compute`); one that fails or is not JSON is left out.

        Read-only, so retrying it is harmless; the workflow then writes the values with
        `update_profile`, which writes the same values on every retry.
        """
        context = {
            "customer": self._customer(request.customer_id),
            "event": request.event or {},
            "journey": {"id": request.journey_id, "version": request.version},
        }
        values: dict[str, Any] = {}
        for key, expression in request.expressions.items():
            try:
                values[key] = json.loads(dumps(evaluate(expression, context)))
            except (TemplateError, TypeError, ValueError, ArithmeticError) as exc:
                log.info("%s: %s=%r skipped: %s", request.journey_id, key, expression, exc)
        return values

    @activity.defn(name="update_profile")
    def update_profile(self, request: UpdateRequest) -> None:
        """Write literal traits. A value the profile refuses (a bad e-mail...) is dropped, the rest is written."""
        values = dict(request.set or {})
        if request.compute:  # requests from before `evaluate_values` existed
            legacy = ValuesRequest(request.customer_id, request.journey_id, request.version, request.compute, request.event)
            values.update(self.evaluate_values(legacy))
        at = datetime.fromisoformat(request.now)
        while True:
            try:
                with self.store.session(lock_customer=request.customer_id) as session:
                    session.update_traits(request.customer_id, values, request.unset, at)
                return
            except ProfileFieldError as exc:
                log.info("update %s.%s skipped: %s", request.step_id, exc.field, exc.message)
                if exc.field not in values:
                    return
                del values[exc.field]

    @activity.defn(name="call_webhook")
    def call_webhook(self, request: WebhookRequest) -> WebhookResult:
        secrets = self.secrets
        if secrets is None:
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
            response = self.http.request(
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
