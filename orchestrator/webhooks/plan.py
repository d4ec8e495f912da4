"""What one webhook request changes, decided before anything is written, and how it is applied.

A request becomes a `WebhookPlan`: identify calls (consent, undeliverable
flags), track calls (the customer events journeys wait for), provider event
log rows, ledger states and the STOP or START of a phone number. `apply_plan` applies it in two steps, each one
transaction, all or nothing:

1. the calls, in order, through `Router.apply` (profile changes before the
   events, so a journey woken by `email_bounced` already sees the flag);
2. the provider event log, the ledger states and the opt-outs of phone numbers,
   in one store transaction.

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
from orchestrator.store import Store
from orchestrator.store.values import Delivery, ProviderEvent


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


@dataclass
class WebhookPlan:
    calls: list[Call] = field(default_factory=list)
    log: list[ProviderEvent] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)
    numbers: list[NumberOptOut] = field(default_factory=list)


@dataclass(frozen=True)
class Applied:
    received: int
    """Events in the request."""
    new: int
    """Events not seen before (the others were repeats: they changed nothing)."""


def apply_plan(store: Store, router: Router, plan: WebhookPlan) -> Applied:
    """Apply `plan` (see the module docstring). Raises TemporalUnavailable when step 1 could not be confirmed."""
    if plan.calls:
        router.apply(plan.calls)
    with store.session() as session:
        new = session.record_provider_events(plan.log)
        for update in plan.statuses:
            session.set_provider_status(update.delivery.key, update.status, update.at, unless=update.further)
        for number in plan.numbers:
            if number.keyword is None:
                session.start_number(number.phone)
            else:
                session.stop_number(number.phone, number.keyword, number.at)
    return Applied(received=len({(row.provider, row.event_id) for row in plan.log}), new=len(new))


def further_than(order: dict[str, int], status: str) -> Callable[[str | None], bool]:
    """A `StatusUpdate.further` from an ordering of states: a current state ranked above `status` stays."""
    rank = order[status]
    return lambda current: current is not None and order.get(current, 0) > rank
