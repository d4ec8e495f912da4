"""What an offline run answers the interpreter core's activity calls with: the activities' rules, no store, nothing sent.

Each answer is the one the activity gives live (activities/journey_activities.py), decided by the same
functions: conditions, wake times and computed values by activities/step_answers.py, a send by the
delivery gate's `decide` and the renderer's `build_message`, an update by the profile's own rules
(orchestrator/store/profiles.py), a webhook rendered as `call_webhook` renders it. What differs is where
things are kept: the profile is the recorded one at the journey's instant with the run's updates on top
(recorded_profile.py), the caps count the customer's real sends of other journeys plus the run's own, and
what a real run would write (messages, skipped sends, problems, webhook calls) is kept here to be shown.
The provider is the sandbox's: a message that may go, and renders, is sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, is_dataclass, replace
from datetime import datetime
from typing import Any

import httpx

from activities.delivery_gate import DeliveryPolicy, PastSend, decide, history_start
from activities.messages import Message, Undeliverable, build_message
from activities.sent_outcomes import outbox_message
from activities.step_answers import conditions_answer, values_answer, wake_answer
from activities.step_problems import StepVisit, refused
from activities.webhook_calls import NotMade, rendered_call
from orchestrator.language.scope import JourneyInScope, expression_scope
from orchestrator.personalization.unsubscribe import UnsubscribeConfig
from orchestrator.runtime.contracts import (
    ConditionRequest,
    SendRequest,
    SendResult,
    UpdateRequest,
    ValuesRequest,
    WakeRequest,
    WakeResult,
    WebhookRequest,
    WebhookResult,
)
from orchestrator.simulation.recorded_profile import RecordedProfile
from orchestrator.simulation.timeline import iso
from orchestrator.store import ProfileFieldError
from orchestrator.store.profile_timeline import recorded_changes
from orchestrator.store.profiles import apply_all_traits
from orchestrator.store.values import DeliveryKey, OutboxMessage, Profile, customer_context


@dataclass(frozen=True)
class Problem:
    """A step that could not do its part, as the API shows it (orchestrator/store/problems.py)."""

    at: datetime
    step: str
    visit: int
    field: str
    problem: str


class OfflineCustomer:
    """One customer's world during one offline enrollment: answers the calls, keeps what a live run would have written."""

    def __init__(
        self,
        customer_id: str,
        profile: RecordedProfile,
        *,
        policy: DeliveryPolicy,
        past_sends: list[PastSend],
        unsubscribe: UnsubscribeConfig,
        secrets: Mapping[str, str],
    ) -> None:
        self.customer_id = customer_id
        self.profile = profile
        self.policy = policy
        self.sends = past_sends
        """Marketing messages that hold a slot under the caps: other journeys' real ones, then this run's."""
        self.unsubscribe = unsubscribe
        self.secrets = secrets
        self.attempts: list[tuple[SendRequest, SendResult]] = []
        self.outbox: list[OutboxMessage] = []
        self.rendered: dict[tuple[str, int], Message] = {}
        """The message each sent (step, visit) carried."""
        self.channels: dict[tuple[str, int], str] = {}
        """The channel each decided send (step, visit) went, or would have gone, on."""
        self.problems: dict[tuple[str, int, str], Problem] = {}
        self.webhooks: list[dict[str, Any]] = []

    def answer(self, activity: str, request: Any, now: datetime) -> Any:
        """The answer to `activity` with `request`, asked at `now` on the run's clock."""
        # As every activity does live: the request's customer is the one the enrollment's id is now (a visitor who
        # logged in is the known customer: their unsubscribe link, for one, is the known customer's).
        current = self.profile.customer_id_as_of(now)
        if is_dataclass(request) and not isinstance(request, type) and getattr(request, "customer_id", current) != current:
            request = replace(request, customer_id=current)
        match activity:
            case "evaluate_conditions":
                return self.conditions(request, now)
            case "wake_time":
                return self.wake_time(request)
            case "evaluate_values":
                return self.values(request)
            case "update_profile":
                return self.update(request)
            case "call_webhook":
                return self.webhook(request)
            case "send_message":
                return self.send(request)
        raise ValueError(f"no offline answer for activity {activity!r}")

    def customer_at(self, at: datetime) -> dict[str, Any]:
        return customer_context(self.profile.customer_id_as_of(at), self.profile_at(at))

    def profile_at(self, at: datetime) -> Profile | None:
        return self.profile.profile_as_of(at)

    def conditions(self, request: ConditionRequest, now: datetime) -> list[bool]:
        """A condition request carries no instant: the profile is the one at `now`, when the core asked."""
        return conditions_answer(request, self.customer_at(now))

    def wake_time(self, request: WakeRequest) -> WakeResult:
        result = wake_answer(request, self.customer_at(datetime.fromisoformat(request.now)))
        if result.at is None and result.reason is not None:
            self._note(StepVisit.of(request), "until_date", result.reason)
        return result

    def values(self, request: ValuesRequest) -> dict[str, Any]:
        values, problems = values_answer(request, self.customer_at(datetime.fromisoformat(request.now)))
        for key, problem in problems:
            self._note(StepVisit.of(request), key, problem)
        return values

    def update(self, request: UpdateRequest) -> None:
        """Write the literal traits as `update_profile` does: a value the profile refuses is dropped and noted, the rest written."""
        at = datetime.fromisoformat(request.now)
        where = StepVisit.of(request)
        values = dict(request.set or {})
        profile = self.profile_at(at)
        if profile is None:
            return  # a customer without a profile is left so (StoreSession.update_traits)
        while True:
            changes = {**values, **dict.fromkeys(request.unset)}
            try:
                stated = apply_all_traits(profile, changes, at)
            except ProfileFieldError as exc:
                self._note(where, exc.field, refused(exc.message))
                if exc.field not in values:
                    return
                del values[exc.field]
                continue
            recorded = recorded_changes(changes, stated)
            if recorded:
                self.profile = self.profile.updated(at, recorded)
            return

    def webhook(self, request: WebhookRequest) -> WebhookResult | None:
        """Render the call as `call_webhook` would and keep it, as the simulator's recording transport does; None if not made."""
        journey = JourneyInScope(request.journey_id, request.version, request.step_id)
        at = datetime.fromisoformat(request.now)
        context = expression_scope(self.customer_at(at), request.event, journey, events=request.events, secrets=self.secrets)
        # Live, the request reaches the activity through Temporal's JSON converter, which sorts an object's keys:
        # the body a webhook gets has its keys in that order, so the offline one does too.
        body = json.loads(json.dumps(request.body, sort_keys=True))
        try:
            call = rendered_call(request.url, request.headers, body, context)
        except NotMade as exc:
            self._note(StepVisit.of(request), exc.field, f"not called: {exc.problem}")
            return None
        headers = dict(call.headers)
        headers.setdefault("Idempotency-Key", str(DeliveryKey(request.enrollment_id, request.step_id, request.visit)))
        body = call.body
        made = httpx.Request(
            request.method,
            call.url,
            headers=headers,
            json=body if not isinstance(body, str) else None,
            content=body if isinstance(body, str) else None,
        )
        shown = made.content.decode("utf-8", errors="replace") if made.content else None
        self.webhooks.append({"at": iso(at), "step": request.step_id, "method": made.method, "url": str(made.url), "body": shown})
        return WebhookResult(200)

    def send(self, request: SendRequest) -> SendResult:
        """The delivery gate's decision, then the message rendered and "sent" (the sandbox), as `send_message` does."""
        now = datetime.fromisoformat(request.now)
        step, settings = request.step, request.settings
        profile = self.profile_at(now)
        since = history_start(now, settings)
        decision = decide(
            channels=[step.channel, *step.fallback],
            category=step.category,
            profile=profile,
            settings=settings,
            now=now,
            journey_id=request.journey_id,
            past_sends=[sent for sent in self.sends if sent.at >= since] if profile is not None else [],
            policy=self.policy,
        )
        key = (step.id, request.visit)
        self.channels[key] = decision.channel or step.channel
        if decision.action == "defer":
            assert decision.retry_at is not None
            return self._attempt(request, SendResult("deferred", decision.reason, decision.retry_at.isoformat()))
        if decision.action == "suppress":
            return self._attempt(request, SendResult("suppressed", decision.reason))
        channel = decision.channel or step.channel
        try:
            message = build_message(request, channel, profile, unsubscribe=self.unsubscribe)
        except Undeliverable as exc:
            status = "failed" if str(exc).startswith("template error") else "suppressed"
            return self._attempt(request, SendResult(status, str(exc)))
        if step.category == "marketing":
            self.sends.append(PastSend(request.journey_id, now))
        self.rendered[key] = message
        self.outbox.append(outbox_message(request, message, now))
        return self._attempt(request, SendResult("sent"))

    def _attempt(self, request: SendRequest, result: SendResult) -> SendResult:
        self.attempts.append((request, result))
        return result

    def _note(self, where: StepVisit | None, field: str, problem: str) -> None:
        """Note a problem once per (step, visit, field), as the store does; a request too old to say where notes nothing."""
        if where is not None:
            self.problems.setdefault((where.step_id, where.visit, field), Problem(where.at, where.step_id, where.visit, field, problem))

