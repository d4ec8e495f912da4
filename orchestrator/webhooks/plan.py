"""What one webhook request changes, decided before anything is written, and how it is applied.

A request becomes a `WebhookPlan`: identify calls (consent, undeliverable
flags), track calls (the customer events journeys wait for), provider event
log rows, ledger states and the STOP or START of a phone number. `apply_plan` applies it in two steps, each one
transaction, all or nothing:

1. the calls, in order, through `Router.apply` (profile changes before the
   events, so a journey woken by `email_bounced` already sees the flag);
2. the provider event log, the ledger states, the journey facts of the messages'
   outcomes and the opt-outs of phone numbers, in one store transaction.

Both steps are idempotent, keyed by the provider's event id: the calls' message
ids are derived from it (the router records each message id once and drops
repeats), and the log's primary key is (provider, event id). And an event the
log holds already was applied whole (step 2 is the last), so the planners read
the log first and plan nothing but its log row for it: planned again against
today's profile, a replay could otherwise revoke a consent the customer gave
since, or move the ledger state back. So a request the provider delivers again,
or retries after a failure between the two steps (it was answered 5xx, nothing
logged), applies what is missing and nothing twice. Step 1 is first
because it is the one that can fail for an outside reason (Temporal down):
then nothing at all was applied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from orchestrator.routing.calls import Call
from orchestrator.routing.router import Router
from orchestrator.store import JourneyFact, Store, StoreSession
from orchestrator.store.values import Delivery, ProviderEvent, fact_key


@dataclass(frozen=True)
class StatusUpdate:
    """Record `status` as the provider's state of one delivery, unless its current state is further along."""

    delivery: Delivery
    status: str
    at: datetime
    further: Callable[[str | None], bool]
    """Whether a current state is further along than `status` (then it stays)."""


@dataclass(frozen=True)
class NumberOptOut:
    """A number texted STOP (`keyword`) or, with `keyword` None, START: recorded for the number itself."""

    phone: str
    keyword: str | None
    at: datetime


@dataclass(frozen=True)
class MessageOutcome:
    """What a provider event says became of a journey's message: a `provider` fact of its enrollment."""

    delivery: Delivery
    status: str
    """delivered | opened | clicked | bounced | failed | complained | unsubscribed (docs/analytics.md)"""
    provider_event: str
    """The provider's own name for it (`open`, `dropped`, `undelivered`...): the fact's detail."""
    at: datetime


@dataclass
class WebhookPlan:
    calls: list[Call] = field(default_factory=list)
    log: list[ProviderEvent] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)
    numbers: list[NumberOptOut] = field(default_factory=list)
    outcomes: list[MessageOutcome] = field(default_factory=list)


@dataclass(frozen=True)
class Applied:
    received: int
    """Events in the request."""
    new: int
    """Events not seen before (the others were repeats: they changed nothing)."""
    logged: list[ProviderEvent] = field(default_factory=list)
    """The log rows of those new events (what `journey_webhook_events_total` counts)."""


def apply_plan(store: Store, router: Router, plan: WebhookPlan) -> Applied:
    """Apply `plan` (see the module docstring). Raises TemporalUnavailable when step 1 could not be confirmed."""
    if plan.calls:
        router.apply(plan.calls)
    with store.session() as session:
        new = session.record_provider_events(plan.log)
        for update in plan.statuses:
            session.set_provider_status(update.delivery.key, update.status, update.at, unless=update.further)
        session.record_facts(_provider_facts(session, plan.outcomes))
        for number in plan.numbers:
            if number.keyword is None:
                session.start_number(number.phone)
            else:
                session.stop_number(number.phone, number.keyword, number.at)
    logged = [row for row in plan.log if (row.provider, row.event_id) in new]
    return Applied(received=len({(row.provider, row.event_id) for row in plan.log}), new=len(new), logged=logged)


def _provider_facts(session: StoreSession, outcomes: list[MessageOutcome]) -> list[JourneyFact]:
    """The outcomes as `provider` facts, named by the journey version of each enrollment's index row (one read for all).

    A delivery whose enrollment routing never indexed has no version to name, and no fact.
    """
    if not outcomes:
        return []
    indexed = session.enrollments_by_id([outcome.delivery.enrollment_id for outcome in outcomes])
    facts: list[JourneyFact] = []
    for outcome in outcomes:
        delivery, enrollment = outcome.delivery, indexed.get(outcome.delivery.enrollment_id)
        if enrollment is None:
            continue
        facts.append(
            JourneyFact(
                kind="provider",
                journey_id=enrollment.journey_id,
                version=enrollment.version,
                enrollment_id=enrollment.enrollment_id,
                customer_id=enrollment.customer_id,
                fact_key=fact_key("provider", delivery.step_id, delivery.visit, outcome.status),
                occurred_at=outcome.at,
                step_id=delivery.step_id,
                visit=delivery.visit,
                name=delivery.channel,
                status=outcome.status,
                detail=outcome.provider_event,
            )
        )
    return facts


def further_than(order: dict[str, int], status: str) -> Callable[[str | None], bool]:
    """A `StatusUpdate.further` from an ordering of states: a current state ranked above `status` stays."""
    rank = order[status]
    return lambda current: current is not None and order.get(current, 0) > rank
