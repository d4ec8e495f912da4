"""A one-send broadcast to N customers: messages per second, against a floor of writing the same rows without Temporal.

Floor: the rows N sends leave in the store, written straight in pages of `--page` (500, a
cohort's page), one transaction a page: each message's ledger row (`sent`), its `message` fact
and its outbox row, rendered beforehand and outside the timing. Nothing is decided, read or
rendered: it is what any design must at least write.

Modes (`--mode`):
- `floor`: the floor, and `BatchSends.send_all` (activities/batch_sends.py) over the same
  requests in the same pages with the sandbox provider, as a cohort's `send_messages` activity
  calls it: the gate's reads, claims, rendering and the outcomes, without Temporal. It prints
  both rates and the ratio send_all/floor, same run, each side on a fresh store with the same
  customers.
- `stack`: the broadcast on the embedded stack (Temporal, the cohort workflow, the worker), timed
  from the scheduled time to the last message, against the floor of the same run. Added with the
  cohort workflow (`stack_run` below is where it goes).

Run: .venv/bin/python bench/broadcast.py [--customers 100000 --page 500 --mode floor --postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import broadcast_stack

from activities.batch_sends import BatchSends
from activities.journey_activities import JourneyActivities
from activities.messages import build_message
from activities.progress_facts import outcome_facts
from activities.providers.sandbox import SANDBOX_MESSAGE_ID
from activities.sent_outcomes import outbox_message
from bench.send_path import Stores
from orchestrator import ir
from orchestrator.personalization.unsubscribe import UnsubscribeConfig
from orchestrator.runtime.contracts import SendRequest
from orchestrator.store import Store
from orchestrator.store.send_batches import claim_row
from orchestrator.store.values import DeliveryKey

NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
"""Black Friday, 10:00 in New York: outside any quiet hours."""
STEP = ir.SendStep(
    id="black_friday",
    channel="email",
    next="end",
    subject="{{ customer.first_name | default('Hi') }}, 30% off everything today",
    body="<p>Hello {{ customer.first_name }},</p><p>Everything is 30% off until midnight.</p>",
)
JOURNEY = "black_friday"


def customer_ids(count: int) -> list[str]:
    return [f"c-{n:07d}" for n in range(count)]


def identify(store: Store, customers: Sequence[str]) -> None:
    """The broadcast's audience: profiles with an e-mail address and marketing consent, in transactions of a page."""
    for first in range(0, len(customers), 1000):
        with store.session() as session:
            for customer in customers[first : first + 1000]:
                traits = {"email": f"{customer}@example.com", "first_name": "Ann", "timezone": "America/New_York"}
                session.identify(customer, traits, NOW)


def send_requests(customers: Sequence[str]) -> list[SendRequest]:
    """What the cohort's members ask for: one visit of the send step each."""
    return [
        SendRequest(
            enrollment_id=f"broadcast-{customer}",
            journey_id=JOURNEY,
            version="v1",
            visit=1,
            customer_id=customer,
            step=STEP,
            settings=ir.Settings(),
            event=None,
            now=NOW.isoformat(),
        )
        for customer in customers
    ]


def floor_run(store: Store, requests: Sequence[SendRequest], page: int) -> float:
    """Seconds to write the ledger, fact and outbox rows of `requests`, a transaction a page (rendered beforehand)."""
    unsubscribe = UnsubscribeConfig.development()
    with store.read() as session:
        profiles = {r.customer_id: session.get_profile(r.customer_id) for r in requests}
    pages = []
    for first in range(0, len(requests), page):
        claims, facts, outbox = [], [], []
        for request in requests[first : first + page]:
            message = build_message(request, "email", profiles[request.customer_id], unsubscribe=unsubscribe)
            key = DeliveryKey(request.enrollment_id, request.step.id, request.visit)
            claim = claim_row(key, "email", NOW, customer_id=request.customer_id, journey_id=JOURNEY, category="marketing", admitted_at=NOW)
            claims.append(claim | {"status": "sent", "provider_message_id": SANDBOX_MESSAGE_ID})
            facts.extend(outcome_facts(request, "sent", "email", None, NOW))
            outbox.append(outbox_message(request, message, NOW))
        pages.append((claims, facts, outbox))
    started = time.perf_counter()
    for claims, facts, outbox in pages:
        with store.session() as session:
            session.claim_deliveries(claims)
            session.record_facts(facts)
            session.add_outbox_messages(outbox)
    return time.perf_counter() - started


def batch_run(store: Store, requests: Sequence[SendRequest], page: int) -> float:
    """Seconds `BatchSends.send_all` takes over `requests` in pages, the sandbox delivering."""
    batch = BatchSends.of(JourneyActivities(store))
    started = time.perf_counter()
    for first in range(0, len(requests), page):
        results = batch.send_all(requests[first : first + page])
        assert all(result.status == "sent" for result in results), {(r.status, r.reason) for r in results}
    return time.perf_counter() - started


def stack_run(store: Store, requests: Sequence[SendRequest], page: int) -> float:
    """The scheduled broadcast on the embedded stack, from T to the last message (the page is the broadcast's, 500)."""
    return reported(asyncio.run(broadcast_stack.one_send(store, [r.customer_id for r in requests], STEP)))


def three_step_run(store: Store, requests: Sequence[SendRequest], page: int) -> float:
    """Send, wait 1d, send on the time-skipping server, from T to the last second message."""
    return reported(asyncio.run(broadcast_stack.three_step(store, [r.customer_id for r in requests], STEP)))


def reported(run: broadcast_stack.StackRun) -> float:
    started = ", ".join(f"{kind} {count}" for kind, count in run.workflows.items())
    print(f"  workflows started: {started}; {run.messages} messages in the outbox")
    print(f"  {run.cohort.text()}")
    return run.seconds


@dataclass(frozen=True)
class Mode:
    label: str
    run: Callable[[Store, Sequence[SendRequest], int], float]
    sends: int
    """Messages each customer gets."""


MODES: dict[str, Mode] = {
    "floor": Mode("BatchSends.send_all, sandbox", batch_run, 1),
    "stack": Mode("embedded stack, cohorts", stack_run, 1),
    "three-step": Mode("time-skipping server, send + wait 1d + send, cohorts", three_step_run, 2),
}


def timed(stores: Stores, customers: Sequence[str], mode: Mode, page: int) -> float:
    with stores.fresh() as store:
        identify(store, customers)
        seconds = mode.run(store, send_requests(customers), page)
        with store.read() as session:
            assert len(session.messages_for(customers[-1])) == mode.sends
        return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--page", type=int, default=500, help="customers per cohort page (a send batch)")
    parser.add_argument("--mode", choices=sorted(MODES), default="floor")
    parser.add_argument("--postgres", action="store_true", help="the store on a throwaway PostgreSQL server instead of SQLite")
    args = parser.parse_args()
    customers = customer_ids(args.customers)
    mode = MODES[args.mode]
    with Stores(args.postgres) as stores:
        print(f"store: {stores.kind}; {args.customers} customers in pages of {args.page}")
        floor = timed(stores, customers, Mode("floor", floor_run, 1), args.page)
        print(f"floor (ledger, fact and outbox rows, written): {floor:.1f} s, {args.customers / floor:,.0f} messages/s", flush=True)
        full = timed(stores, customers, mode, args.page)
        rate = mode.sends * args.customers / full
        print(f"{mode.label}: {full:.1f} s, {rate:,.0f} messages/s")
        print(f"ratio {mode.label} / floor (messages/s): {rate / (args.customers / floor):.2f}")


if __name__ == "__main__":
    main()
