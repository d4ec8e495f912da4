"""Benchmark: how long erasing a customer with 1,000 events and 50 enrollments takes, store and Temporal.

The store holds `--others` other customers (each with a profile, 20 events and 2 enrollments with a
delivery, an outbox row and a provider event), so the erasure's deletes look through tables that are
not empty, and the customer to erase has 1,000 events and 50 enrollments, each with a delivery, an
outbox row and a provider event, 10 of them still running. Temporal is a dev server (a subprocess,
SQLite) on which each of the customer's 50 enrollments is a workflow started on a task queue no worker
polls (10 running, 40 terminated beforehand), so that the erasure's end-and-delete calls do real work.

Timed, per round (a new customer each round): `erase_customer` whole, and its parts: the store's final
transaction (suppress, count, delete, audit), and Temporal's end-and-delete. Deleting the histories is
asynchronous on the server: the time until they are gone is not the request's and is not counted.

    python bench/erasure.py [--rounds 3] [--others 2000] [--postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from temporalio.testing import WorkflowEnvironment

from orchestrator.host.binaries import temporal_cli
from orchestrator.routing.erasure import erase_customer
from orchestrator.routing.gateway import LoopGateway
from orchestrator.runtime.search_attributes import SEARCH_ATTRIBUTES
from orchestrator.simulation.simulator import quiet_runtime
from orchestrator.store import Enrollment, OutboxMessage, Store
from orchestrator.store.values import DeliveryKey, EventRow, ProviderEvent

EVENTS, ENROLLMENTS, RUNNING = 1000, 50, 10
NOW = datetime.now(UTC)


def seed_customer(store: Store, customer_id: str, events: int, enrollments: int, running: int) -> list[str]:
    """A customer with `events` events and `enrollments` enrollments (each with a delivery, an outbox row, a provider event)."""
    ids = [f"bench-{customer_id}-{n}" for n in range(enrollments)]
    with store.session() as session:
        session.identify(customer_id, {"email": f"{customer_id}@example.com", "phone": "+14155552671", "first_name": "Bench"}, NOW)
        rows = [EventRow(f"{customer_id}-ev-{n}", customer_id, "viewed", {"n": n}, NOW, NOW) for n in range(events)]
        session.record_events(rows)
        for n, enrollment_id in enumerate(ids):
            session.start_enrollment(enrollment_id, "bench", "v1", customer_id, NOW - timedelta(minutes=n))
            key = DeliveryKey(enrollment_id, "hello", 1)
            session.claim_delivery(key, "email", NOW, customer_id=customer_id, journey_id="bench", category="marketing")
            session.mark_delivery(key, "sent", NOW, provider_message_id=f"pm-{enrollment_id}")
            address = f"{customer_id}@example.com"
            sent = OutboxMessage(customer_id, enrollment_id, "bench", "v1", "hello", "email", address, "Hi", "Body", NOW)
            session.add_outbox_message(sent)
            event = ProviderEvent("sendgrid", f"ev-{enrollment_id}", "open", NOW, NOW, customer_id, enrollment_id, "hello", 1)
            session.record_provider_events([event])
            if n >= running:
                session.finish_enrollment(enrollment_id, "completed", "hello", NOW)
    return ids


async def start_workflows(env: WorkflowEnvironment, ids: list[str], running: int) -> None:
    """The enrollments' workflows: started with a payload, on a queue nobody polls; all but `running` terminated."""
    for n, workflow_id in enumerate(ids):
        handle = await env.client.start_workflow("bench-nothing", {"customer": "someone"}, id=workflow_id, task_queue="bench-nobody")
        if n >= running:
            await handle.terminate()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--others", type=int, default=2000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        server = None
        if args.postgres:
            from tests.postgres import start_server

            server = start_server()
            url = server.url(server.create_database())
        else:
            url = f"sqlite:///{Path(folder) / 'journey.db'}"
        store = Store(url)
        store.migrate()
        for n in range(args.others):
            seed_customer(store, f"other-{n}", 20, 2, 0)
        async with await WorkflowEnvironment.start_local(
            dev_server_existing_path=temporal_cli(),
            dev_server_database_filename=str(Path(folder) / "temporal.db"),
            search_attributes=SEARCH_ATTRIBUTES,
            runtime=quiet_runtime(),
            dev_server_log_level="error",
            ui=False,
        ) as env:
            gateway = LoopGateway(env.client, asyncio.get_running_loop(), task_queue="bench-nobody", search_attributes=True)
            totals, temporal_parts, store_parts = [], [], []
            for _ in range(args.rounds):
                customer = f"erase-{uuid.uuid4().hex[:8]}"
                ids = seed_customer(store, customer, EVENTS, ENROLLMENTS, RUNNING)
                await start_workflows(env, ids, RUNNING)
                timed = _TimedEraser(gateway)
                started = time.perf_counter()
                report = await asyncio.to_thread(erase_customer, store, timed, customer, "bench")
                total = time.perf_counter() - started
                assert report.removed["events"] == EVENTS and report.removed["enrollments"] == ENROLLMENTS, report
                assert report.enrollments_ended == RUNNING, report
                totals.append(total)
                temporal_parts.append(timed.seconds)
                store_parts.append(total - timed.seconds)
        store.dispose()
        if server is not None:
            server.stop()
    kind = "PostgreSQL" if args.postgres else "SQLite"
    print(f"store: {kind}, {args.others} other customers; the customer: {EVENTS} events, {ENROLLMENTS} enrollments ({RUNNING} running)")
    print(f"erasure, whole: median {statistics.median(totals):.2f} s (rounds: {', '.join(f'{t:.2f}' for t in totals)})")
    print(f"  Temporal end-and-delete: median {statistics.median(temporal_parts):.2f} s")
    print(f"  store (tombstone, final transaction, WAL truncation): median {statistics.median(store_parts):.2f} s")


class _TimedEraser:
    """The gateway's end-and-delete (and the cohorts' forget, which this bench's customer never needs), timed."""

    def __init__(self, gateway: LoopGateway) -> None:
        self.gateway = gateway
        self.seconds = 0.0

    def end_and_delete(self, enrollment_ids: list[str], customer_keys: list[str]) -> tuple[int, int]:
        started = time.perf_counter()
        try:
            return self.gateway.end_and_delete(enrollment_ids, customer_keys)
        finally:
            self.seconds += time.perf_counter() - started

    def forget_members(self, members: list[Enrollment]) -> int:
        started = time.perf_counter()
        try:
            return self.gateway.forget_members(members)
        finally:
            self.seconds += time.perf_counter() - started


if __name__ == "__main__":
    asyncio.run(main())
