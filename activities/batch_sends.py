"""Many sends at once (a cohort's page): each request means what `JourneyActivities.send_message` means for it, paid per batch.

`BatchSends.send_all(requests)` answers each request as `send_message(request)` would: the same
gate decisions (activities/batch_gate.py runs the same `decide`), the same ledger key and rows,
facts, outbox rows and problems, the same deferred, suppressed and failed answers, the same
retries. What changes is the cost: the gate reads and claims for the whole batch in one
transaction, each provider takes its messages in its batch calls (activities/providers/batches.py),
and the outcomes of each provider call are recorded in one transaction.

Retries. A message whose provider failed retryably leaves its ledger row `intent`; once every
other outcome of the batch is recorded, `send_all` raises `ProviderRetryable` (with the longest
Retry-After any provider asked for), and Temporal retries the whole batch. The retry finds every
other message decided in the ledger and reports it again without sending it; only the undecided
ones go to their provider again. The same holds after a crash in the middle of a batch: outcomes
are recorded after each provider call (for Twilio, about a second's worth of messages), so a
re-run sends again at most what one call had in flight (docs/delivery.md, "The crash window").
Once the retry window has passed, failing messages are given up as failed, as alone.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from activities.batch_gate import GatedSend, gate_batch
from activities.current_customer import current_requests
from activities.delivery_gate import DeliveryPolicy, count_decision
from activities.heartbeat import heartbeat
from activities.journey_activities import JourneyActivities
from activities.messages import Message, build_message
from activities.progress_facts import error_summary, outcome_facts
from activities.provider_retries import give_up_reason, retry_error
from activities.providers import ChannelProviders, PermanentFailure, Provider, ProviderResult, RetryableFailure
from activities.providers.batches import Answer, Outgoing, batch_size, send_batch
from activities.sent_outcomes import ERASED_MEANWHILE, outbox_message
from orchestrator.metrics import SENDS, provider_call
from orchestrator.personalization.unsubscribe import UnsubscribeConfig
from orchestrator.runtime.contracts import SendRequest, SendResult
from orchestrator.store import OutboxMessage, Store
from orchestrator.store.values import DeliveryKey, JourneyFact, Profile

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class BatchSends:
    """Sends bound to one store and set of providers: what a `JourneyActivities` holds (`BatchSends.of`)."""

    def __init__(
        self,
        store: Store,
        providers: ChannelProviders | None = None,
        policy: DeliveryPolicy | None = None,
        unsubscribe: UnsubscribeConfig | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.store = store
        self.providers = providers if providers is not None else ChannelProviders()
        self.policy = policy if policy is not None else DeliveryPolicy()
        self.unsubscribe = unsubscribe if unsubscribe is not None else UnsubscribeConfig.development()
        self.clock = clock
        """The wall clock of the ledger's `updated_at`; the journey's clock (`request.now`) decides."""

    def send_all(self, requests: Sequence[SendRequest]) -> list[SendResult]:
        """Each request's `SendResult`, in order; raises `ProviderRetryable` if any is to be retried (the others are recorded)."""
        if not requests:
            return []
        requests = current_requests(self.store, requests)
        # Claim, gate and take the slots under the caps in one transaction holding every customer's lock of the batch.
        customers = [request.customer_id for request in requests]
        with self.store.session(lock_customers=customers, waiting=heartbeat) as session:
            gated = gate_batch(session, requests, self.policy, self.clock(), self._render)
        for send in gated:
            if send.decision is not None:
                count_decision(send.decision, send.request.step)
                if send.decision.action == "send" and send.result is not None:  # its template failed: recorded as the gate decided
                    SENDS.labels(send.decision.channel or send.request.step.channel, send.result.status).inc()
        results: list[SendResult | None] = [send.result for send in gated]
        retried: list[tuple[str, RetryableFailure]] = []
        for provider, indices in self._by_provider(gated):
            size = batch_size(provider)
            for first in range(0, len(indices), size):
                chunk = indices[first : first + size]
                message = gated[chunk[0]].message
                assert message is not None  # _by_provider groups only sends with a message, one provider (so channel) each
                with provider_call(message.channel, provider.name, permanent=PermanentFailure) as call:
                    answers = send_batch(provider, [_outgoing(gated[n]) for n in chunk])
                    call["outcome"] = _batch_outcome(answers)
                recorded = self._record(provider, [gated[n] for n in chunk], answers)
                for n, answer, result in zip(chunk, answers, recorded, strict=True):
                    results[n] = result
                    if result is None:
                        assert isinstance(answer, RetryableFailure)
                        retried.append((provider.name, answer))
                heartbeat()
        statuses = Counter(result.status for result in results if result is not None)
        log.info("batch of %d sends: %s", len(requests), ", ".join(f"{count} {status}" for status, count in sorted(statuses.items())))
        if retried:
            name, first_failure = retried[0]
            longest = max((failure.retry_after or 0.0 for _, failure in retried), default=0.0)
            raise retry_error(f"{len(retried)} of {len(requests)} sends to retry; {name}: {first_failure.reason}", longest or None)
        return [result for result in results if result is not None]

    @classmethod
    def of(cls, activities: JourneyActivities) -> BatchSends:
        """Sending as `activities.send_message` sends: the same store, providers, delivery policy and unsubscribe links."""
        return cls(activities.store, activities.providers, activities.policy, activities.unsubscribe)

    def _render(self, request: SendRequest, channel: str, profile: Profile | None) -> Message:
        return build_message(request, channel, profile, unsubscribe=self.unsubscribe)

    def _by_provider(self, gated: Sequence[GatedSend]) -> list[tuple[Provider, list[int]]]:
        """The indices of the messages to send, by the provider of their channel, in the batch's order."""
        groups: dict[int, tuple[Provider, list[int]]] = {}
        for n, send in enumerate(gated):
            if send.message is not None:
                provider = self.providers.for_channel(send.message.channel)
                groups.setdefault(id(provider), (provider, []))[1].append(n)
        return list(groups.values())

    def _record(self, provider: Provider, sends: Sequence[GatedSend], answers: Sequence[Answer]) -> list[SendResult | None]:
        """Record what the provider answered for `sends` in one transaction, as `send_message` records each; their results
        (None: to be retried).

        `sent` is written only over `intent` (an overlapping attempt that recorded first wins). The
        customers whose rows fail (a slot given back) or whose push tokens are dead (a profile change)
        are locked, as alone; the others are not, for the reason `send_message` gives.
        """
        at = self.clock()
        locked = [send.request.customer_id for send, answer in zip(sends, answers, strict=True) if _changes_customer(answer)]
        results: list[SendResult | None] = []
        changes: list[tuple[DeliveryKey, dict[str, object]]] = []
        facts: list[JourneyFact] = []
        outbox: list[OutboxMessage] = []
        recorded: list[tuple[str, str]] = []  # (channel, outcome) of each send decided here: counted once the transaction commits
        with self.store.session(lock_customers=locked, waiting=heartbeat) as session:
            rows = session.deliveries_of([send.key for send in sends], for_update=True)
            for send, answer in zip(sends, answers, strict=True):
                request, message, row = send.request, send.message, rows.get(send.key)
                assert message is not None
                undecided = row is not None and row[0] == "intent"
                if isinstance(answer, ProviderResult):
                    sent_at = datetime.fromisoformat(request.now)
                    session.remove_push_tokens(request.customer_id, answer.invalid_recipients, sent_at)
                    if not undecided:
                        results.append(_recorded_first(row, provider, send))
                        continue
                    changes.append((send.key, {"status": "sent", "provider_message_id": answer.provider_message_id, "reason": None}))
                    facts.extend(outcome_facts(request, "sent", message.channel, None, sent_at))
                    outbox.append(outbox_message(request, message, sent_at))
                    recorded.append((message.channel, "sent"))
                    results.append(SendResult("sent"))
                    continue
                session.remove_push_tokens(request.customer_id, answer.invalid_recipients, at)
                if isinstance(answer, PermanentFailure):
                    reason: str | None = answer.reason
                else:
                    reason = give_up_reason(provider.name, answer.reason, self.policy.retry_window)
                if reason is None or (not undecided and isinstance(answer, RetryableFailure)):
                    # Not given up, or another attempt decided the row meanwhile: the retry reports what it finds.
                    results.append(None)
                    continue
                if undecided:
                    changes.append((send.key, {"status": "failed", "provider_message_id": None, "reason": reason}))
                    facts.extend(outcome_facts(request, "failed", message.channel, error_summary(reason)))
                    recorded.append((message.channel, "failed"))
                log.info("send %s/%s failed at %s: %s", send.key.enrollment_id, send.key.step_id, provider.name, error_summary(reason))
                results.append(SendResult("failed", reason))
            session.decide_deliveries([(key, {**values, "updated_at": at}) for key, values in changes])
            session.record_facts(facts)
            session.add_outbox_messages(outbox)
        for channel, outcome in recorded:
            SENDS.labels(channel, outcome).inc()
        return results


def _batch_outcome(answers: Sequence[Answer]) -> str:
    """The provider call's outcome for `journey_provider_request_seconds`: the worst of its answers."""
    if any(isinstance(answer, RetryableFailure) for answer in answers):
        return "retryable"
    if any(isinstance(answer, PermanentFailure) for answer in answers):
        return "permanent"
    return "ok"


def _outgoing(send: GatedSend) -> Outgoing:
    """What the provider gets for `send`: its message, named by its ledger key, to the profile's push tokens on push."""
    message = send.message
    assert message is not None
    tokens = send.profile.push_tokens if message.channel == "push" and send.profile is not None else (message.to,)
    return Outgoing(message, str(send.key), tuple(tokens))


def _changes_customer(answer: Answer) -> bool:
    """Whether recording `answer` changes what the customer's lock guards: a slot given back, or dead push tokens removed."""
    return not isinstance(answer, ProviderResult) or bool(answer.invalid_recipients)


def _recorded_first(row: tuple[str, str | None] | None, provider: Provider, send: GatedSend) -> SendResult:
    """The outcome another attempt recorded before this one (the row's), or the erasure that deleted the row meanwhile."""
    if row is None:
        return SendResult("sent", ERASED_MEANWHILE)
    if provider.name != "sandbox":
        log.warning("send %s/%s: another attempt recorded %s first", send.key.enrollment_id, send.key.step_id, row[0])
    return SendResult(*row)
