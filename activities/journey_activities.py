"""The activities a journey enrollment calls: every read or write of the outside world.

All of them are idempotent, because Temporal retries an activity whose worker
died mid-way: sends go through the delivery gate and the delivery ledger keyed
by (enrollment, step, visit); profile updates write literal values (computed
ones are evaluated beforehand by the read-only `evaluate_values`), so a retry
writes the same again; webhooks carry an Idempotency-Key; finishing an
enrollment twice changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from activities.current_customer import current_request, current_requests
from activities.delivery_gate import DeliveryPolicy, count_decision, gate_send
from activities.enrollment_moves import record_move
from activities.heartbeat import heartbeat
from activities.messages import Message, Undeliverable, build_message
from activities.progress_facts import ended_fact, error_summary, outcome_facts, progress_facts
from activities.provider_retries import give_up_reason, retry_error
from activities.providers import ChannelProviders, PermanentFailure, RetryableFailure
from activities.sent_outcomes import Accepted, SentOutcomes
from activities.step_answers import conditions_answer, values_answer, wake_answer
from activities.step_problems import ProblemNotes, StepVisit, refused
from activities.webhook_calls import NotMade, rendered_call
from orchestrator.language.scope import JourneyInScope, expression_scope
from orchestrator.metrics import ENROLLMENTS_ENDED, SENDS, provider_call
from orchestrator.personalization.unsubscribe import UnsubscribeConfig
from orchestrator.runtime.activity_calls import WEBHOOK_RETRY
from orchestrator.runtime.contracts import (
    ConditionRequest,
    FinishRequest,
    LegacySendRequest,
    MovedRequest,
    ProgressRequest,
    SendRequest,
    SendResult,
    UpdateRequest,
    ValuesRequest,
    WakeRequest,
    WakeResult,
    WebhookRequest,
    WebhookResult,
)
from orchestrator.runtime.end_reasons import derived_end_reason
from orchestrator.store import JourneyFact, ProfileFieldError, Store, StoreSession
from orchestrator.store.values import ConsentEvidence, DeliveryKey, Enrollment, EnrollmentEnd, Profile, customer_context

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class JourneyActivities:
    """Activities bound to one store; register `activities()` with the worker.

    `http` is the client webhooks go through and `secrets` what their templates
    read as `secrets.NAME` (the worker passes its JOURNEY_SECRET_NAME variables;
    default: none); the simulator passes a recording transport and placeholders.
    `providers` deliver each channel (default: the sandbox for all, so only the
    worker, which passes the providers its settings configure, ever sends for real). `policy` holds the
    workspace's delivery rules (default: no daily cap, the default retry window), and
    `unsubscribe` signs marketing email's unsubscribe links (default: the development key);
    the worker reads all of them once, when it starts (orchestrator/host/settings.py).

    Every activity is declared `no_thread_cancel_exception`: on cancellation (a worker shutting
    down) Temporal would otherwise raise CancelledError inside the activity's thread wherever it
    is, between a provider accepting a message and the ledger recording it, or in the middle of a
    database statement (leaving a pooled PostgreSQL connection busy). They are short and
    idempotent: they finish what they started (tests/runtime/test_worker_shutdown.py).
    """

    def __init__(
        self,
        store: Store,
        http: httpx.Client | None = None,
        secrets: Mapping[str, str] | None = None,
        providers: ChannelProviders | None = None,
        policy: DeliveryPolicy | None = None,
        unsubscribe: UnsubscribeConfig | None = None,
    ) -> None:
        self.store = store
        self.policy = policy if policy is not None else DeliveryPolicy()
        self.unsubscribe = unsubscribe if unsubscribe is not None else UnsubscribeConfig.development()
        self.http = http if http is not None else httpx.Client()
        self.secrets: Mapping[str, str] = secrets if secrets is not None else {}
        self.providers = providers if providers is not None else ChannelProviders()
        self.sent = SentOutcomes(store, _now)
        self.problems = ProblemNotes(store)

    def activities(self) -> list[Any]:
        return [
            self.send_message,
            self.evaluate_conditions,
            self.evaluate_values,
            self.wake_time,
            self.update_profile,
            self.call_webhook,
            self.finish_enrollment,
            self.record_progress,
            self.record_move,
        ]

    def _customer(self, customer_id: str) -> dict[str, Any]:
        """The customer the workflow's `customer_id` is now (activities/current_customer.py), as templates and conditions see them."""
        with self.store.read() as session:
            customer_id = session.current_customer(customer_id)
            profile = session.get_profile(customer_id)
        return customer_context(customer_id, profile)

    @activity.defn(name="send_message", no_thread_cancel_exception=True)
    def send_message(self, request: SendRequest | LegacySendRequest) -> SendResult:
        """Deliver one message at most once per (enrollment, step, visit), through the delivery gate.

        `deferred` (quiet hours, the SMS marketing window) leaves the ledger row claimed but
        undecided, its reason saying why and until when: the workflow sleeps until `retry_at`
        and calls again with the same visit, and the gate decides anew. A `LegacySendRequest` is
        a task an older workflow scheduled (orchestrator/runtime/contracts.py): sent the same way.
        """
        if isinstance(request, LegacySendRequest):
            request = request.upgraded()
        request = current_request(self.store, request)
        now = datetime.fromisoformat(request.now)
        key = DeliveryKey(request.enrollment_id, request.step.id, request.visit)
        # Claim, gate and take a slot under the caps in one transaction holding the customer's lock,
        # so two journeys sending to one customer at once cannot both take the last slot.
        with self.store.session(lock_customer=request.customer_id) as session:
            gated = gate_send(session, request, key, self.policy, _now())
        decision, profile = gated.decision, gated.profile
        if gated.earlier is not None:
            # A retry of a send that already happened (or was refused): report it again, do nothing.
            return SendResult(gated.earlier.status, gated.earlier.reason)
        count_decision(decision, request.step)
        if decision.action == "defer":
            assert decision.retry_at is not None
            return SendResult("deferred", decision.reason, decision.retry_at.isoformat())
        if decision.action == "suppress":
            log.info("send %s/%s suppressed: %s", key.enrollment_id, key.step_id, decision.reason)
            return SendResult("suppressed", decision.reason)
        channel = decision.channel or request.step.channel  # the step's channel, or a fallback the gate chose
        try:
            message = build_message(request, channel, profile, unsubscribe=self.unsubscribe)
        except Undeliverable as exc:
            status = exc.status
            with self.store.session() as session:
                marked = session.mark_delivery(key, status, _now(), reason=str(exc))
                if marked:
                    session.record_facts(outcome_facts(request, status, channel, error_summary(str(exc))))
            if marked:
                SENDS.labels(channel, status).inc()
            log.info("send %s/%s not delivered: %s", key.enrollment_id, key.step_id, exc)
            return SendResult(status, str(exc))
        return self._deliver(request, key, message, profile, now)

    def _deliver(self, request: SendRequest, key: DeliveryKey, message: Message, profile: Profile | None, now: datetime) -> SendResult:
        """Hand the message to the channel's provider, then record the outcome (docs/delivery.md).

        The ledger row was claimed at the start of this attempt, moments ago, and an attempt
        finds what an earlier one decided there; the window left (the provider accepted, the process died
        before the ledger update) is documented.
        """
        provider = self.providers.for_channel(message.channel)
        recipients = profile.push_tokens if message.channel == "push" and profile is not None else (message.to,)
        try:
            with provider_call(message.channel, provider.name, permanent=PermanentFailure):
                result = provider.send(message, str(key), recipients)
        except PermanentFailure as exc:
            with self.store.session(lock_customer=request.customer_id) as session:
                session.remove_push_tokens(request.customer_id, exc.invalid_recipients, _now())
                marked = session.mark_delivery(key, "failed", _now(), reason=exc.reason)
                if marked:
                    session.record_facts(outcome_facts(request, "failed", message.channel, error_summary(exc.reason)))
            if marked:
                SENDS.labels(message.channel, "failed").inc()
            log.info("send %s/%s refused by %s: %s", key.enrollment_id, key.step_id, provider.name, exc.reason)
            return SendResult("failed", exc.reason)
        except RetryableFailure as exc:
            given_up = give_up_reason(provider.name, exc.reason, self.policy.retry_window)
            marked = False
            if exc.invalid_recipients or given_up:
                with self.store.session(lock_customer=request.customer_id) as session:
                    session.remove_push_tokens(request.customer_id, exc.invalid_recipients, _now())
                    if given_up:
                        marked = session.mark_delivery(key, "failed", _now(), reason=given_up)
                    if marked:
                        session.record_facts(outcome_facts(request, "failed", message.channel, error_summary(given_up or "")))
            if given_up and marked:
                SENDS.labels(message.channel, "failed").inc()
                log.warning("send %s/%s given up: %s", key.enrollment_id, key.step_id, given_up)
                return SendResult("failed", given_up)
            # Not given up, or another attempt decided the row meanwhile: the next attempt reports what it finds.
            raise retry_error(f"{provider.name}: {exc.reason}", exc.retry_after) from exc
        # The outbox row (the delivery log customers' messages show) and the ledger's `sent` commit together.
        # `sent` is only written over `intent`: an overlapping attempt that recorded its outcome first wins.
        # No customer lock unless a profile changes (dead push tokens): `sent` over `intent` neither frees nor
        # takes a slot under the caps, routing reads neither the ledger nor the outbox, and so the outcome is
        # recorded at once, never kept waiting behind a router's lease while the provider has the message.
        accepted = Accepted(request, key, message, result.provider_message_id, now, result.invalid_recipients)
        self.sent.record(accepted)
        if accepted.earlier is not None:
            status, reason = accepted.earlier
            if provider is not self.providers.sandbox:
                log.warning("send %s/%s: another attempt recorded %s first", key.enrollment_id, key.step_id, status)
            return SendResult(status, reason)
        SENDS.labels(message.channel, "sent").inc()
        return SendResult("sent")

    @activity.defn(name="evaluate_conditions", no_thread_cancel_exception=True)
    def evaluate_conditions(self, request: ConditionRequest) -> list[bool]:
        """Truth of each condition against the customer's current profile; a failing one is false."""
        return conditions_answer(request, self._customer(request.customer_id))

    @activity.defn(name="wake_time", no_thread_cancel_exception=True)
    def wake_time(self, request: WakeRequest) -> WakeResult:
        result = wake_answer(request, self._customer(request.customer_id))
        if result.at is None and result.reason is not None:
            self.problems.note(StepVisit.of(request), "until_date", result.reason)
        return result

    @activity.defn(name="evaluate_values", no_thread_cancel_exception=True)
    def evaluate_values(self, request: ValuesRequest) -> dict[str, Any]:
        """The value of each expression (an update's `compute`); one that fails or is not JSON is left out, and noted.

        It writes no profile, so retrying it is harmless (a failure is noted once); the workflow then
        writes the values with `update_profile`, which writes the same values on every retry.
        """
        values, problems = values_answer(request, self._customer(request.customer_id))
        where = StepVisit.of(request)
        for key, problem in problems:
            self.problems.note(where, key, problem)
        return values

    @activity.defn(name="update_profile", no_thread_cancel_exception=True)
    def update_profile(self, request: UpdateRequest) -> None:
        """Write literal traits. A value the profile refuses (a bad e-mail...) is dropped and noted, the rest is written."""
        request = current_request(self.store, request)
        values = dict(request.set or {})
        if request.compute:  # requests from before `evaluate_values` existed
            legacy = ValuesRequest(request.customer_id, request.journey_id, request.version, request.compute, request.event)
            values.update(self.evaluate_values(legacy))
        at = datetime.fromisoformat(request.now)
        where = StepVisit.of(request)
        # Journeys cannot write consent, but a number they set may have texted STOP: the record names the step.
        step = str(DeliveryKey(where.enrollment_id, where.step_id, where.visit)) if where is not None else None
        evidence = ConsentEvidence("journey_update", step, _now())
        while True:
            try:
                with self.store.session(lock_customer=request.customer_id) as session:
                    session.refuse_if_merged(request.customer_id)
                    session.update_traits(request.customer_id, values, request.unset, at, evidence)
                return
            except ProfileFieldError as exc:
                self.problems.note(where, exc.field, refused(exc.message))
                if exc.field not in values:
                    return
                del values[exc.field]

    @activity.defn(name="call_webhook", no_thread_cancel_exception=True)
    def call_webhook(self, request: WebhookRequest) -> WebhookResult:
        """Make one webhook step's call. Not made (a template fails, the URL is not http(s)): noted, not retried.

        A network error, 429 or 5xx is retried by Temporal (WEBHOOK_RETRY); the last attempt it
        allows notes the failure before giving up, since the workflow then goes on without a word.
        """
        where = StepVisit.of(request)
        journey = JourneyInScope(request.journey_id, request.version, request.step_id)
        context = expression_scope(self._customer(request.customer_id), request.event, journey, events=request.events, secrets=self.secrets)
        try:
            call = rendered_call(request.url, request.headers, request.body, context)
        except NotMade as exc:
            self.problems.note(where, exc.field, f"not called: {exc.problem}")
            # Benign: the marketer's to fix, and said where they look; the worker logs it at DEBUG, not with a traceback.
            raise ApplicationError(
                f"webhook {request.step_id} not called: {exc}",
                type="WebhookNotMade",
                non_retryable=True,
                category=ApplicationErrorCategory.BENIGN,
            ) from exc
        headers = dict(call.headers)
        headers.setdefault("Idempotency-Key", str(DeliveryKey(request.enrollment_id, request.step_id, request.visit)))
        body = call.body
        try:
            response = self.http.request(
                request.method,
                call.url,
                headers=headers,
                json=body if not isinstance(body, str) else None,
                content=body if isinstance(body, str) else None,
                timeout=request.timeout_seconds,
            )
        except httpx.HTTPError as exc:
            raise self._webhook_retried(request.step_id, where, f"{type(exc).__name__}: {exc}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise self._webhook_retried(request.step_id, where, f"HTTP {response.status_code}")
        return WebhookResult(response.status_code)

    def _webhook_retried(self, step: str, where: StepVisit | None, failure: str) -> ApplicationError:
        """The error that has Temporal retry a failed call; on the last attempt its policy allows, the failure is noted too."""
        if activity.in_activity():
            info = activity.info()
            # The policy the server reports; the time-skipping test server reports none, so the one the interpreter sets.
            most = (info.retry_policy or WEBHOOK_RETRY).maximum_attempts
            if most and info.attempt >= most:
                self.problems.note(where, "call", f"failed after {info.attempt} attempts, the journey went on without it: {failure}")
        return ApplicationError(f"webhook {step}: {failure}")

    @activity.defn(name="finish_enrollment", no_thread_cancel_exception=True)
    def finish_enrollment(self, request: FinishRequest) -> None:
        """Write the enrollment's end and its reason to the index, with its `ended` fact and those it collected since it last reported.

        A request from a workflow that predates `reason` gets what the journey version tells
        (`derived_end_reason`: an exit step's reason, the goal, the split, a sole exit_on event);
        one that predates `journey_id` names the version its index row does.
        """
        # Under the customer's lock: a router that has started this enrollment but not yet
        # committed its index row holds the customer's lease, and this waits for that commit.
        self.finish_enrollments([request])

    def finish_enrollments(self, requests: Sequence[FinishRequest]) -> None:
        """`finish_enrollment` for each request in order, in one transaction under all their customers' locks (a cohort's ends):
        a page's ends cost one turn at the store's write lock, not one each."""
        requests = current_requests(self.store, requests)
        customers = [request.customer_id for request in requests if request.customer_id is not None]
        with self.store.session(lock_customers=customers, waiting=heartbeat) as session:
            ends = [_end_of(session, request) for request in requests]
            session.finish_enrollments([end for end, _ in ends])
            session.record_facts([fact for _, facts in ends for fact in facts])
        # Counted once committed. A retry of this activity after its commit (the answer lost) counts the ends again: rare,
        # and the index, not this counter, is the record of what ended.
        for request in requests:
            ENROLLMENTS_ENDED.labels(request.journey_id or "unknown", request.status).inc()

    @activity.defn(name="record_progress", no_thread_cancel_exception=True)
    def record_progress(self, request: ProgressRequest) -> None:
        """Record the steps reached and the rests an enrollment collected, before it blocks (a local activity).

        Nothing for a customer being erased: the erasure deletes their facts, and a late write must not bring one back.
        """
        self.record_progresses([request])

    def record_progresses(self, requests: Sequence[ProgressRequest]) -> None:
        """`record_progress` for each request, in one transaction (a cohort's members about to block)."""
        requests = current_requests(self.store, requests)
        with self.store.session() as session:
            now = _now()
            for request in requests:
                if session.erased_recently(request.customer_id, now):
                    continue
                enrollment = {"enrollment_id": request.enrollment_id, "customer_id": request.customer_id}
                session.record_facts(progress_facts(request.facts, **enrollment, journey_id=request.journey_id, version=request.version))

    @activity.defn(name="record_move", no_thread_cancel_exception=True)
    def record_move(self, request: MovedRequest) -> None:
        """An enrollment moves onto a newer version (`journey deploy --migrate`): its index row and its `moved` fact."""
        record_move(self.store, request)


def _end_of(session: StoreSession, request: FinishRequest) -> tuple[EnrollmentEnd, list[JourneyFact]]:
    """The enrollment's end as its index row takes it, and the facts it tells: what it collected last and `ended`."""
    at = datetime.fromisoformat(request.at)
    row = session.enrollment(request.enrollment_id) if request.journey_id is None else None
    reason = request.reason
    if reason is None and request.status != "completed":
        reason = _derived_end_reason(session, request, row)
    end = EnrollmentEnd(request.enrollment_id, request.status, request.step, at, reason)
    journey_id, version = (request.journey_id, request.version) if row is None else (row.journey_id, row.version)
    customer_id = request.customer_id or (row.customer_id if row is not None else None)
    if journey_id is None or version is None or customer_id is None:
        return end, []  # an enrollment routing never indexed, from a workflow too old to name its journey: no fact to tell
    where = {"enrollment_id": request.enrollment_id, "customer_id": customer_id, "journey_id": journey_id, "version": version}
    facts = progress_facts(request.facts, **where)
    facts.append(ended_fact(**where, status=request.status, step=request.step, reason=reason, at=at))
    return end, facts


def _derived_end_reason(session: StoreSession, request: FinishRequest, row: Enrollment | None) -> str | None:
    """The reason an end without one gets from the version its index row names (None: no row, or the version does not tell).

    `row`: the index row if the caller read it already."""
    row = row or session.enrollment(request.enrollment_id)
    journey = session.journey_version(row.journey_id, row.version) if row is not None else None
    return derived_end_reason(journey, request.status, request.step) if journey is not None else None
