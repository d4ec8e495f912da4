"""Benchmark: what an identify that merges an anonymous visitor into a known customer costs, against a plain identify.

The store holds `--others` other customers (a profile, 20 events, an enrollment with a delivery, an outbox
row, a provider event and its `entered` fact each), so the merge's updates look through tables that are
not empty; three journeys are deployed (each triggered by an event of its own: an identify enrolls no one).
Temporal is the dev server `journey dev` runs (a subprocess, SQLite), on which each running enrollment is a
workflow started on a task queue no worker polls, so the merge's EndCall terminates a real workflow.

Each round makes, afresh:
  the visitor - an anonymous profile (`anonymous:<anonymousId>`: traits, an e-mail address with its opt-in, a
                push token), 1,000 events, 3 running enrollments (journeys a, b, c), each with a delivery, an
                outbox row, a provider event and its `entered` fact;
  two known customers of the same shape - a profile, 20 events, a running enrollment in journey a that entered
                before the visitor's.
Timed, in the round's order (swapped every round), each through `Router.apply` with the production gateway
(`LoopGateway`), as `POST /v1/identify` runs it minus HTTP:
  merge    - an identify of the first known customer with the visitor's anonymousId and two traits: the visitor's
             rows move, their profile merges, their enrollment in journey a (the younger twin) ends `merged` (an
             EndCall: a terminate on Temporal), one `identities` row;
  baseline - the same identify (same traits) of the second known customer, without anonymousId.
Checked after each round: no row of the visitor left in any of MOVED_TABLES, its events and enrollments the known
customer's, its profile gone and its traits added, the `identities` row, the twin `merged` in the index and
terminated on Temporal, the two others still running; the baseline's traits stored.
Prints the medians of each side, the merge's Temporal part, and the ratio merge/baseline.

    python bench/merge.py [--rounds 20] [--others 2000] [--postgres] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from embedded_stack import HASH_SECRET, StoreCounts, compiled, dev_server, open_store, scratch_dir, stop_on_sigterm
from temporalio.client import Client, WorkflowExecutionStatus

from orchestrator.host.deployment import deploy
from orchestrator.routing.calls import IdentifyCall, TemporalCall
from orchestrator.routing.gateway import LoopGateway
from orchestrator.routing.router import Router
from orchestrator.store import OutboxMessage, Store
from orchestrator.store.identities import MERGED_STATUS, MOVED_TABLES, anonymous_customer_id
from orchestrator.store.values import DeliveryKey, EventRow, JourneyFact, ProviderEvent, fact_key

QUEUE = "bench-nobody"
"""The enrollments' workflows wait on it; no worker polls it."""
VISITOR_EVENTS, KNOWN_EVENTS, OTHER_EVENTS = 1000, 20, 20
JOURNEYS = ("merge_a", "merge_b", "merge_c")
"""The visitor runs all three; the known customers run merge_a, which is what the merge doubles."""
JOURNEY = """
id: {id}
name: Bench {id}
trigger: {{event: {id}_started}}
steps:
  - id: wait
    wait: 30d
  - id: hello
    send: {{channel: email, subject: "Hi", body: "<p>Hi</p>"}}
"""
NOW = datetime.now(UTC)
VERSIONS: dict[str, str] = {}
"""The deployed version of each journey of JOURNEYS (filled once they are compiled)."""


def seed(
    store: Store, customer_id: str, traits: dict[str, Any], events: int, enrollments: Sequence[tuple[str, str, datetime]], running: bool
) -> list[str]:
    """A profile with `traits`, `events` events and `enrollments` (id, journey, entered), each with a delivery, an outbox row, a
    provider event and its `entered` fact; left running or finished. Returns the enrollments' ids."""
    with store.session() as session:
        session.identify(customer_id, traits, NOW - timedelta(days=1))
        at = NOW - timedelta(hours=3)
        session.record_events([EventRow(f"{customer_id}-ev-{n}", customer_id, "page_viewed", {"n": n}, at, at) for n in range(events)])
        for enrollment_id, journey_id, entered in enrollments:
            version = VERSIONS[journey_id]
            session.start_enrollment(enrollment_id, journey_id, version, customer_id, entered)
            session.record_facts([JourneyFact("entered", journey_id, version, enrollment_id, customer_id, fact_key("entered"), entered)])
            key = DeliveryKey(enrollment_id, "hello", 1)
            session.claim_delivery(key, "email", at, customer_id=customer_id, journey_id=journey_id, category="marketing")
            session.mark_delivery(key, "sent", at, provider_message_id=f"pm-{enrollment_id}")
            address = f"{customer_id}@example.com"
            message = OutboxMessage(customer_id, enrollment_id, journey_id, version, "hello", "email", address, "Hi", "Hi", at)
            session.add_outbox_message(message)
            opened = ProviderEvent("sendgrid", f"ev-{enrollment_id}", "open", at, at, customer_id, enrollment_id, "hello", 1)
            session.record_provider_events([opened])
            if not running:
                session.finish_enrollment(enrollment_id, "completed", "hello", at)
    return [enrollment_id for enrollment_id, _, _ in enrollments]


class TimedGateway:
    """The router's gateway, its `execute` (the Temporal calls) timed."""

    def __init__(self, gateway: LoopGateway) -> None:
        self.gateway = gateway
        self.seconds = 0.0
        self.calls: list[TemporalCall] = []

    def execute(self, calls: Sequence[TemporalCall]) -> list[bool]:
        started = time.perf_counter()
        try:
            return self.gateway.execute(calls)
        finally:
            self.seconds += time.perf_counter() - started
            self.calls.extend(calls)


async def start_workflows(client: Client, ids: Sequence[str]) -> None:
    """The running enrollments' workflows: started on a queue nobody polls, so they wait until something ends them."""
    for workflow_id in ids:
        await client.start_workflow("bench-nothing", {"customer": "someone"}, id=workflow_id, task_queue=QUEUE)


async def one_round(
    n: int, store: Store, client: Client, router: Router, timed: TimedGateway, counts: StoreCounts, merge_first: bool
) -> tuple[float, float, float]:
    """Seed a visitor and two known customers, time the merge and the baseline; (merge s, its Temporal s, baseline s)."""
    visitor = anonymous_customer_id(f"visitor-{n}")
    known, plain = f"known-{n}", f"plain-{n}"
    visitor_traits = {"email": f"visitor-{n}@example.com", "email_opt_in": True, "color": "blue", "last_path": "/pricing"}
    visitor_ids = seed(
        store,
        visitor,
        {**visitor_traits, "push_tokens": [f"tok-{n}"], "push_opt_in": True},
        VISITOR_EVENTS,
        [(f"{visitor}-{j}", j, NOW - timedelta(hours=1)) for j in JOURNEYS],
        running=True,
    )
    twin = visitor_ids[0]  # merge_a, entered after the known customer's: the younger, it ends
    known_ids, plain_ids = (
        seed(
            store,
            customer,
            {"email": f"{customer}@example.com", "email_opt_in": True, "first_name": "Known", "plan": "free"},
            KNOWN_EVENTS,
            [(f"{customer}-a", JOURNEYS[0], NOW - timedelta(hours=2))],
            running=True,
        )
        for customer in (known, plain)
    )
    await start_workflows(client, [*visitor_ids, *known_ids, *plain_ids])

    traits = {"plan": "pro", "last_login": NOW.isoformat()}
    at = datetime.now(UTC)
    merge_call = IdentifyCall(known, traits, f"login-{n}", at, at, anonymous_id=visitor)
    plain_call = IdentifyCall(plain, traits, f"plain-login-{n}", at, at)
    seconds: dict[str, float] = {}
    for side in ("merge", "baseline") if merge_first else ("baseline", "merge"):
        call = merge_call if side == "merge" else plain_call
        timed.seconds, timed.calls = 0.0, []
        started = time.perf_counter()
        [outcome] = await asyncio.to_thread(router.apply, [call])
        seconds[side] = time.perf_counter() - started
        assert not outcome.duplicate and not outcome.enrolled, outcome
        if side == "merge":
            temporal = timed.seconds
            assert [type(c).__name__ for c in timed.calls] == ["EndCall"] and timed.calls[0].enrollment_id == twin, timed.calls
        else:
            assert timed.calls == [], timed.calls
    await check_round(store, client, counts, visitor, known, plain, visitor_ids, known_ids)
    return seconds["merge"], temporal, seconds["baseline"]


async def check_round(
    store: Store, client: Client, counts: StoreCounts, visitor: str, known: str, plain: str, visitor_ids: list[str], known_ids: list[str]
) -> None:
    """What the merge must have done (module docstring), and the baseline's identify."""
    left = {t.name: counts.scalar(f"SELECT count(*) FROM {t.name} WHERE customer_id = :c", c=visitor) for t in MOVED_TABLES}
    assert not any(left.values()), f"rows of the visitor left after the merge: {left}"
    events = counts.scalar("SELECT count(*) FROM events WHERE customer_id = :c", c=known)
    assert events == VISITOR_EVENTS + KNOWN_EVENTS + 1, events  # + the identify call itself
    with store.read() as session:
        merge = session.merge_of(visitor)
        assert merge is not None and merge.customer_id == known, merge
        assert session.get_profile(visitor) is None
        profile = session.get_profile(known)
        assert profile is not None and profile.traits.get("color") == "blue" and profile.traits.get("plan") == "pro", profile
        assert profile.email == f"{known}@example.com" and profile.push_tokens, profile
        enrollments = {e.enrollment_id: e for e in session.enrollments_for(known)}
        assert set(enrollments) == {*visitor_ids, *known_ids}, enrollments
        statuses = {i: enrollments[i].status for i in (*visitor_ids, *known_ids)}
        assert statuses == {visitor_ids[0]: MERGED_STATUS, visitor_ids[1]: "running", visitor_ids[2]: "running", known_ids[0]: "running"}
        baseline = session.get_profile(plain)
        assert baseline is not None and baseline.traits.get("plan") == "pro", baseline
    for workflow_id in (*visitor_ids, *known_ids):
        status = (await client.get_workflow_handle(workflow_id).describe()).status
        expected = WorkflowExecutionStatus.TERMINATED if workflow_id == visitor_ids[0] else WorkflowExecutionStatus.RUNNING
        assert status == expected, (workflow_id, status)


async def run(args: argparse.Namespace) -> None:
    stop_on_sigterm()
    journeys = [compiled(JOURNEY.format(id=j), f"{j}.yaml") for j in JOURNEYS]
    VERSIONS.update((j.id, j.version) for j in journeys)
    with scratch_dir(args.keep) as data_dir, open_store(data_dir, postgres=args.postgres) as store:
        counts = StoreCounts(store)
        try:
            started = time.perf_counter()
            for n in range(args.others):
                enrollment = (f"other-{n}-a", JOURNEYS[n % 3], NOW - timedelta(days=2))
                seed(store, f"other-{n}", {"first_name": "Other"}, OTHER_EVENTS, [enrollment], running=False)
            print(f"{args.others} other customers seeded in {time.perf_counter() - started:.0f} s", flush=True)
            async with dev_server(data_dir) as (_, client):
                await deploy(store, client, journeys, task_queue=QUEUE)
                timed = TimedGateway(LoopGateway(client, asyncio.get_running_loop(), task_queue=QUEUE))
                router = Router(store, timed, hash_secret=HASH_SECRET)
                await one_round(-1, store, client, router, timed, counts, merge_first=True)  # warm-up, not counted
                merges, temporal, baselines = [], [], []
                for n in range(args.rounds):
                    merge, merge_temporal, baseline = await one_round(n, store, client, router, timed, counts, merge_first=n % 2 == 0)
                    merges.append(merge)
                    temporal.append(merge_temporal)
                    baselines.append(baseline)
                    parts = f"merge {merge * 1000:6.1f} ms (Temporal {merge_temporal * 1000:5.1f})   baseline {baseline * 1000:6.1f} ms"
                    print(f"round {n}: {parts}", flush=True)
        finally:
            counts.close()
    kind = "PostgreSQL" if args.postgres else "SQLite"
    merge, baseline = statistics.median(merges), statistics.median(baselines)
    ratios = sorted(m / b for m, b in zip(merges, baselines, strict=True))
    print(f"store: {kind}, {args.others} other customers; the visitor: {VISITOR_EVENTS} events, {len(JOURNEYS)} running enrollments")
    store_part = statistics.median(m - t for m, t in zip(merges, temporal, strict=True))
    print(f"merge (identify with anonymousId): median {merge * 1000:6.1f} ms")
    print(f"  Temporal (the EndCall's terminate): median {statistics.median(temporal) * 1000:6.1f} ms")
    print(f"  the rest (the plan and the commit transactions): median {store_part * 1000:6.1f} ms")
    print(f"baseline (identify, same traits): median {baseline * 1000:6.1f} ms")
    print(f"ratio merge/baseline: {merge / baseline:.1f} (per round: {ratios[0]:.1f} to {ratios[-1]:.1f}), {args.rounds} rounds")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--others", type=int, default=2000, help="other customers in the store")
    parser.add_argument("--postgres", action="store_true", help="the store on a throwaway PostgreSQL server instead of SQLite")
    parser.add_argument("--keep", action="store_true", help="keep the data dir (databases, logs) for inspection")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
