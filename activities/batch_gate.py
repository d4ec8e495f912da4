"""The delivery gate for a batch of sends: what `gate_send` decides for each request, for many requests in one transaction.

The same `decide`, over the same facts: the transaction holds every customer's lock of the batch
(`Store.session(lock_customers=...)`), reads their erasures, profiles, capped sends and the
batch's ledger rows in one statement each, then decides the requests in order. What one request
takes counts for the next: a message admitted earlier in the batch holds its slot under the caps
for the later messages of its customer, exactly as if each had been sent alone one after the
other (two messages of one customer cannot both pass a cap of one). The claims, the decisions of
rows an earlier attempt left undecided and the facts of suppressions and holds are then written
together.

Unlike a single send, the message is rendered here, in the transaction, right after its decision:
a template that fails must give its slot back before the next message of the customer is decided,
as it does when each is sent alone. A message whose provider later refuses it gives its slot back
too late for the batch's other messages to that customer, as with two sends at the same moment
(docs/delivery.md, "Batches").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from activities.delivery_gate import (
    ERASED,
    Decision,
    DeliveryPolicy,
    claim_outcome,
    claimed_channel,
    decide,
    decision_facts,
    history_start,
    past_sends_since,
)
from activities.messages import Message, Undeliverable
from activities.progress_facts import error_summary, outcome_facts
from orchestrator.runtime.contracts import SendRequest, SendResult
from orchestrator.store import StoreSession
from orchestrator.store.send_batches import CappedSend, claim_row
from orchestrator.store.values import DeliveryKey, JourneyFact, Profile

Render = Callable[[SendRequest, str, Profile | None], Message]
"""Builds the message of a request on a channel for a profile; raises Undeliverable."""


@dataclass
class GatedSend:
    """One request of a batch after the gate: answered already (`result`), or a `message` to hand to its provider."""

    request: SendRequest
    key: DeliveryKey
    result: SendResult | None = None
    message: Message | None = None
    profile: Profile | None = None
    decision: Decision | None = None
    """What the gate decided and recorded for it now; None when an earlier attempt had decided it (reported again)."""


@dataclass
class _Writes:
    """What the gate's transaction writes once every request is decided."""

    claims: list[dict[str, Any]]
    changes: list[tuple[DeliveryKey, dict[str, Any]]]
    facts: list[JourneyFact]


def gate_batch(
    session: StoreSession, requests: Sequence[SendRequest], policy: DeliveryPolicy, at: datetime, render: Render
) -> list[GatedSend]:
    """Decide every request in order, claim and record as `gate_send` does for each, in `session`'s transaction.

    `session` must hold every customer's lock of the batch. `at` is the wall clock for `updated_at`;
    each request's own clock (`request.now`) decides and stamps `admitted_at`.
    """
    gated = [GatedSend(request, DeliveryKey(request.enrollment_id, request.step.id, request.visit)) for request in requests]
    for customer_id in {request.customer_id for request in requests}:
        session.refuse_if_merged(customer_id)  # as `gate_send`: a batch merged meanwhile is retried whole
    erased = session.erased_among({request.customer_id for request in requests}, at)
    live = [send for send in gated if send.request.customer_id not in erased]
    since = min((history_start(datetime.fromisoformat(s.request.now), s.request.settings) for s in live), default=at)
    profiles, capped = session.gate_facts_of({send.request.customer_id for send in live}, since)
    slots = {customer: {send.key: send for send in sends} for customer, sends in capped.items()}
    existing = session.deliveries_of([send.key for send in live])
    writes = _Writes([], [], [])
    for send in gated:
        request = send.request
        if request.customer_id in erased:
            # Nothing claimed: the ledger must hold no row of a customer whose rows are being (or were just) deleted.
            send.result = SendResult("suppressed", ERASED)
            send.decision = Decision("suppress", ERASED, rule="erased")
            continue
        send.profile = profiles.get(request.customer_id)
        held = slots.setdefault(request.customer_id, {})
        now = datetime.fromisoformat(request.now)
        decision = decide(
            channels=[request.step.channel, *request.step.fallback],
            category=request.step.category,
            profile=send.profile,
            settings=request.settings,
            now=now,
            journey_id=request.journey_id,
            past_sends=past_sends_since(now, request.settings, [(s.journey_id, s.admitted_at) for k, s in held.items() if k != send.key]),
            policy=policy,
        )
        row = existing.get(send.key)
        if row is not None and row[0] != "intent":
            # A retry of a send that already happened (or was refused): report it again, do nothing.
            send.result = SendResult(*row)
            continue
        _decided(send, decision, now, at, row is not None, render, writes)
        send.decision = decision
        counts = send.message is not None and request.step.category == "marketing"
        if counts:
            held[send.key] = CappedSend(send.key, request.journey_id, now)
        elif send.result is not None and send.result.status in ("suppressed", "failed"):
            held.pop(send.key, None)  # a row decided so gives back the slot an earlier attempt's admission took
    session.claim_deliveries(writes.claims)
    session.decide_deliveries(writes.changes)
    session.record_facts(writes.facts)
    return gated


def _decided(send: GatedSend, decision: Decision, now: datetime, at: datetime, claimed: bool, render: Render, writes: _Writes) -> None:
    """Set `send`'s result or message from `decision`, and add what records it to `writes` (a new row, or a change of
    the `intent` row an earlier attempt `claimed`)."""
    request, step = send.request, send.request.step
    outcome = claim_outcome(decision, now)
    facts = decision_facts(request, decision)
    if decision.action == "defer":
        assert decision.retry_at is not None
        send.result = SendResult("deferred", decision.reason, decision.retry_at.isoformat())
    elif decision.action == "suppress":
        send.result = SendResult("suppressed", decision.reason)
    else:
        assert decision.channel is not None
        try:
            send.message = render(request, decision.channel, send.profile)
        except Undeliverable as exc:
            send.result = SendResult(exc.status, str(exc))
            outcome |= {"status": exc.status, "reason": str(exc)}
            facts = outcome_facts(request, exc.status, decision.channel, error_summary(str(exc)))
    channel = claimed_channel(decision, step)
    if not claimed:
        where = {"customer_id": request.customer_id, "journey_id": request.journey_id, "category": step.category}
        writes.claims.append(claim_row(send.key, channel, at, **where, **outcome))
    elif decision.action == "send":
        writes.changes.append((send.key, {"channel": channel, "category": step.category, **outcome, "updated_at": at}))
    elif decision.action == "defer":
        writes.changes.append((send.key, {**outcome, "updated_at": at}))
    else:
        writes.changes.append((send.key, {**outcome, "provider_message_id": None, "updated_at": at}))
    writes.facts.extend(facts)
