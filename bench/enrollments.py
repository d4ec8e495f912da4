"""Benchmark: enrollments per second through the whole embedded stack, against a hand-written Temporal workflow.

One process runs what `journey dev` runs: the Temporal dev server (a subprocess,
SQLite with WAL), one worker (`build_worker`) and the API served by uvicorn on a
free port of 127.0.0.1, all on one event loop. The journey is

    send email -> wait 1s -> send email

and each round times, from the first request until every enrollment has ended
(its index row finished, Temporal reports no run open) and both messages of each
are in the outbox:
  journey  - N `POST /v1/track` calls, each enrolling a different customer, sent
             by aiohttp over real sockets, `--concurrency` at a time (a
             503, nothing recorded, is retried after 1 s as a client would, and counted)
  baseline - N `client.start_workflow` of a plain workflow that calls the same
             `send_message` activity twice with a 1 s `workflow.sleep` between
             (bench/baseline_workflow.py), `--concurrency` at a time, on the
             same server, the same store and a worker with the same settings
The two alternate in the order baseline, journey, journey, baseline, ... (each
round swaps which side goes first), because every round leaves the server and the
store larger and the later of two slots is slower: with a fixed order the second
side always ran on the bigger database. Prints the ratio journey/baseline (target
>= 0.8) two ways: of all rounds' totals (enrollments over seconds, each side's
slots balanced between early and late), and of the best round of each side. Customers are identified
(e-mail, consent) beforehand, outside the timing, for both.

`--codec` measures what encrypting Temporal payloads costs instead: both sides are the
journey round, one with the API's and the worker's client plain, one with the
AES-256-GCM payload codec every deployment runs (orchestrator/privacy/payload_codec.py),
alternating the same way; it prints the ratio encrypted/plain (target >= 0.9).

`--facts` measures what recording the journey facts costs (docs/analytics.md): both sides are the
journey round, one as it runs, one with fact recording off (enrollments started on interpreter
revision 2, which collects no `reached` or `rested` facts and runs no `record_progress`, and
`record_facts` a no-op, so routing, the send and the finish write none: a switch this bench flips in
its own process, not a product setting), alternating the same way; it prints the ratio on/off
(target >= 0.95).

    python bench/enrollments.py [--enrollments 500] [--concurrency 32] [--rounds 2]
                                [--lock-stats] [--postgres] [--only baseline|journey] [--codec] [--facts] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from baseline_workflow import BASELINE_JOURNEY_ID, FIRST_BODY, FIRST_SUBJECT, SECOND_BODY, SECOND_SUBJECT, BaselineInput, BaselineTwoEmails
from embedded_stack import (
    HASH_SECRET,
    LeanClient,
    LockStats,
    StoreCounts,
    api_server,
    closed_workflows,
    compiled,
    cpu_seconds,
    dev_server,
    drive,
    encrypting,
    open_store,
    post_retrying,
    running_workflows,
    scratch_dir,
    stop_on_sigterm,
    until,
)
from temporalio.client import Client
from temporalio.worker import Worker

from activities.journey_activities import JourneyActivities
from orchestrator.api import create_app
from orchestrator.host.deployment import deploy
from orchestrator.host.devserver import DevServer
from orchestrator.host.worker import build_worker
from orchestrator.routing import router as routing
from orchestrator.store import Store
from orchestrator.store.journey_facts import JourneyFactQueries

JOURNEY = f"""
id: bench_two_emails
name: Two e-mails a second apart
trigger: {{event: bench_signup}}
steps:
  - id: hello
    send: {{channel: email, subject: "{FIRST_SUBJECT}", body: "{FIRST_BODY}"}}
  - id: pause
    wait: 1s
  - id: again
    send: {{channel: email, subject: "{SECOND_SUBJECT}", body: "{SECOND_BODY}"}}
"""

# The baseline worker is built as build_worker builds the journey worker (orchestrator/host/worker.py).
ACTIVITY_THREADS = 16
MAX_CACHED_WORKFLOWS = 1000


@dataclass
class Round:
    kind: str
    accepted: float
    """Seconds until the last start (or track call) was answered."""
    done: float
    """Seconds until the last enrollment ended with both messages in the outbox."""
    cpu_self: float
    cpu_server: float
    count: int
    locks: list[str]
    refused: int = 0
    """Calls answered 503 (the store's busy timeout ran out), then retried as a client would."""

    def text(self, lock_stats: bool) -> str:
        return "\n".join([self.line(), *(self.locks if lock_stats else [])])

    def line(self) -> str:
        return (
            f"{self.kind:<8} {self.count / self.done:7.1f} enrollments/s  (all started in {self.accepted:5.2f} s: "
            f"{self.count / self.accepted:6.1f}/s; all done in {self.done:5.2f} s; "
            f"CPU: bench process {self.cpu_self:5.1f} s, Temporal server {self.cpu_server:5.1f} s)"
            + (f"; {self.refused} calls answered 503 and were retried" if self.refused else "")
        )


def identify_all(store: Store, customers: list[str]) -> None:
    now = datetime.now(UTC)
    with store.session() as session:
        for customer in customers:
            session.identify(customer, {"email": f"{customer}@example.com", "email_opt_in": True, "first_name": "Ada"}, now)


def own_cpu() -> float:
    times = os.times()
    return times.user + times.system


@dataclass
class Bench:
    """What every round runs on: one server, one store, the same counters."""

    server: DevServer
    client: Client
    store: Store
    counts: StoreCounts
    locks: LockStats
    concurrency: int

    def server_cpu(self) -> float:
        return cpu_seconds(self.server.process.pid) if self.server.process else 0.0

    async def settle(self, task_queue: str, journey_id: str, messages: int, count: int, finished: int | None) -> None:
        """Until `messages` rows of `journey_id` are in the outbox, `finished` index rows ended, `count` runs closed."""

        async def done() -> bool:
            if await asyncio.to_thread(self.counts.outbox, journey_id) < messages:
                return False
            if finished is not None and await asyncio.to_thread(self.counts.finished, journey_id) < finished:
                return False
            return await running_workflows(self.client, task_queue) == 0 and await closed_workflows(self.client, task_queue) >= count

        await until(done, timeout=900, what=f"{count} runs on {task_queue} to finish")

    async def timed(self, kind: str, count: int, one: Callable[[int], Awaitable[None]], settled: Callable[[], Awaitable[None]]) -> Round:
        self.locks.reset()
        cpu_self, cpu_server = own_cpu(), self.server_cpu()
        start = time.perf_counter()
        await drive(count, self.concurrency, one)
        accepted = time.perf_counter() - start
        await settled()
        done = time.perf_counter() - start
        return Round(kind, accepted, done, own_cpu() - cpu_self, self.server_cpu() - cpu_server, count, self.locks.lines(done))


async def baseline_round(bench: Bench, customers: list[str]) -> Round:
    queue = f"bench-baseline-{uuid.uuid4().hex[:8]}"
    before = await asyncio.to_thread(bench.counts.outbox, BASELINE_JOURNEY_ID)
    worker = Worker(
        bench.client,
        task_queue=queue,
        workflows=[BaselineTwoEmails],
        activities=JourneyActivities(bench.store).activities(),
        activity_executor=ThreadPoolExecutor(ACTIVITY_THREADS),
        max_cached_workflows=MAX_CACHED_WORKFLOWS,
        max_concurrent_activities=ACTIVITY_THREADS,
    )

    async def one(i: int) -> None:
        workflow_id = f"baseline-{customers[i]}"
        await bench.client.start_workflow(BaselineTwoEmails.run, BaselineInput(customers[i], workflow_id), id=workflow_id, task_queue=queue)

    async def settled() -> None:
        await bench.settle(queue, BASELINE_JOURNEY_ID, before + 2 * len(customers), len(customers), None)

    async with worker:
        return await bench.timed("baseline", len(customers), one, settled)


async def journey_round(bench: Bench, journey_id: str, customers: list[str], *, encrypted: bool = False, kind: str = "journey") -> Round:
    """`encrypted`: the API and the worker on a client with the payload codec, as `journey api` and `journey worker` run."""
    queue = f"bench-journey-{uuid.uuid4().hex[:8]}"
    before_messages = await asyncio.to_thread(bench.counts.outbox, journey_id)
    before_finished = await asyncio.to_thread(bench.counts.finished, journey_id)
    client = encrypting(bench.client) if encrypted else bench.client
    app = create_app(
        bench.store, client, api_keys=None, hash_secret=HASH_SECRET, auth_disabled=True, task_queue=queue, search_attributes=True
    )
    count = len(customers)
    refusals: collections.Counter[str] = collections.Counter()

    async def settled() -> None:
        await bench.settle(queue, journey_id, before_messages + 2 * count, count, before_finished + count)

    async with (
        api_server(app) as url,
        LeanClient(url, bench.concurrency) as http,
        build_worker(client, bench.store, hash_secret=HASH_SECRET, task_queue=queue),
    ):

        async def one(i: int) -> None:
            body = {"userId": customers[i], "event": "bench_signup", "messageId": f"signup-{customers[i]}"}
            answer = await post_retrying(http, "/v1/track", body, refusals)
            if answer.status_code != 200 or not answer.json()["enrolled"]:
                raise RuntimeError(f"track for {customers[i]} did not enroll: {answer.status_code} {answer.text}")

        result = await bench.timed(kind, count, one, settled)
    result.refused = sum(refusals.values())
    return result


async def run(args: argparse.Namespace) -> None:
    stop_on_sigterm()
    logging.getLogger("orchestrator.api.auth").setLevel(logging.ERROR)  # "auth disabled", once per round
    journey = compiled(JOURNEY)
    rounds: list[Round] = []
    with scratch_dir(args.keep) as data_dir, open_store(data_dir, postgres=args.postgres) as store:
        counts = StoreCounts(store)
        locks = LockStats()
        locks.attach(store.engine)
        try:
            async with dev_server(data_dir) as (server, client):
                await deploy(store, client, [journey], task_queue="unused")
                bench = Bench(server, client, store, counts, locks, args.concurrency)
                if args.codec:
                    await codec_rounds(bench, journey.id, args, rounds)
                    return
                if args.facts:
                    await facts_rounds(bench, journey.id, args, rounds)
                    return
                for n in range(args.rounds):
                    base_customers = [f"r{n}-base-{i}" for i in range(args.enrollments)]
                    journey_customers = [f"r{n}-journey-{i}" for i in range(args.enrollments)]
                    await asyncio.to_thread(identify_all, store, base_customers + journey_customers)
                    order = ["baseline", "journey"] if n % 2 == 0 else ["journey", "baseline"]
                    for kind in order:
                        if args.only not in (None, kind):
                            continue
                        if kind == "baseline":
                            rounds.append(await baseline_round(bench, base_customers))
                        else:
                            rounds.append(await journey_round(bench, journey.id, journey_customers))
                        print(rounds[-1].text(args.lock_stats), flush=True)
        finally:
            counts.close()

    if args.only:
        return
    base = [r for r in rounds if r.kind == "baseline"]
    journeys = [r for r in rounds if r.kind == "journey"]
    best_base, best_journey = min(base, key=lambda r: r.done), min(journeys, key=lambda r: r.done)
    base_rate, journey_rate = best_base.count / best_base.done, best_journey.count / best_journey.done
    base_total = sum(r.count for r in base) / sum(r.done for r in base)
    journey_total = sum(r.count for r in journeys) / sum(r.done for r in journeys)
    store_kind = "PostgreSQL" if args.postgres else "SQLite"
    print(f"enrollments: {args.enrollments} per round, concurrency {args.concurrency}, {args.rounds} rounds, store: {store_kind}")
    print(f"baseline (plain workflow, start_workflow):  all rounds {base_total:6.1f} enrollments/s, best round {base_rate:6.1f}")
    print(f"journey  (POST /v1/track, JourneyWorkflow): all rounds {journey_total:6.1f} enrollments/s, best round {journey_rate:6.1f}")
    starts = (best_journey.count / best_journey.accepted) / (best_base.count / best_base.accepted)
    print(
        f"ratio journey/baseline: all rounds {journey_total / base_total:.2f}, best rounds {journey_rate / base_rate:.2f}"
        f"  (target >= 0.8); starts only (best rounds): {starts:.2f}"
    )


async def codec_rounds(bench: Bench, journey_id: str, args: argparse.Namespace, rounds: list[Round]) -> None:
    """The journey round plain and encrypted, alternating; prints the ratio encrypted/plain."""
    for n in range(args.rounds):
        plain_customers = [f"r{n}-plain-{i}" for i in range(args.enrollments)]
        encrypted_customers = [f"r{n}-encrypted-{i}" for i in range(args.enrollments)]
        await asyncio.to_thread(identify_all, bench.store, plain_customers + encrypted_customers)
        for encrypted in (False, True) if n % 2 == 0 else (True, False):
            customers = encrypted_customers if encrypted else plain_customers
            kind = "encrypted" if encrypted else "plain"
            rounds.append(await journey_round(bench, journey_id, customers, encrypted=encrypted, kind=kind))
            print(rounds[-1].text(args.lock_stats), flush=True)
    print_ratio(args, rounds, ("encrypted", "encrypted payloads"), ("plain", "plain payloads"), target=0.9)


@contextlib.contextmanager
def facts_off() -> Iterator[None]:
    """Enrollments started meanwhile collect no facts (revision 2), and nothing records any: the bench's own switch."""
    revision, record = routing.INTERPRETER_REVISION, JourneyFactQueries.record_facts
    routing.INTERPRETER_REVISION = 2  # type: ignore[misc]
    JourneyFactQueries.record_facts = lambda self, facts, now=None: None  # type: ignore[method-assign,assignment,misc]
    try:
        yield
    finally:
        routing.INTERPRETER_REVISION = revision  # type: ignore[misc]
        JourneyFactQueries.record_facts = record  # type: ignore[method-assign]


async def facts_rounds(bench: Bench, journey_id: str, args: argparse.Namespace, rounds: list[Round]) -> None:
    """The journey round with fact recording on and off, alternating; prints the ratio on/off."""
    for n in range(args.rounds):
        on_customers = [f"r{n}-facts-{i}" for i in range(args.enrollments)]
        off_customers = [f"r{n}-nofacts-{i}" for i in range(args.enrollments)]
        await asyncio.to_thread(identify_all, bench.store, on_customers + off_customers)
        for on in (True, False) if n % 2 == 0 else (False, True):
            with contextlib.nullcontext() if on else facts_off():
                customers = on_customers if on else off_customers
                rounds.append(await journey_round(bench, journey_id, customers, kind="facts" if on else "no-facts"))
            print(rounds[-1].text(args.lock_stats), flush=True)
    print_ratio(args, rounds, ("facts", "facts recorded"), ("no-facts", "facts not recorded"), target=0.95)


def print_ratio(args: argparse.Namespace, rounds: list[Round], side: tuple[str, str], reference: tuple[str, str], *, target: float) -> None:
    """The ratio side/reference of alternating rounds (each a `(kind, label)`): of all rounds' totals, of the best
    round of each, and of the bench process's CPU."""
    ours = [r for r in rounds if r.kind == side[0]]
    theirs = [r for r in rounds if r.kind == reference[0]]
    ours_total = sum(r.count for r in ours) / sum(r.done for r in ours)
    theirs_total = sum(r.count for r in theirs) / sum(r.done for r in theirs)
    best_ours, best_theirs = min(ours, key=lambda r: r.done), min(theirs, key=lambda r: r.done)
    best = (best_ours.count / best_ours.done) / (best_theirs.count / best_theirs.done)
    cpu = sum(r.cpu_self for r in ours) / sum(r.cpu_self for r in theirs)
    width = max(len(side[1]), len(reference[1])) + 1
    print(f"enrollments: {args.enrollments} per round, concurrency {args.concurrency}, {args.rounds} rounds")
    print(f"{side[1] + ':':<{width}} all rounds {ours_total:6.1f} enrollments/s")
    print(f"{reference[1] + ':':<{width}} all rounds {theirs_total:6.1f} enrollments/s")
    print(
        f"ratio {side[0]}/{reference[0]}: all rounds {ours_total / theirs_total:.2f}, best rounds {best:.2f}  (target >= {target});"
        f" bench process CPU {side[0]}/{reference[0]} {cpu:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--enrollments", type=int, default=500, help="enrollments per round and side")
    parser.add_argument("--concurrency", type=int, default=32, help="requests (or starts) in flight at once")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", choices=["baseline", "journey"], help="run one side only (to profile it); prints no ratio")
    parser.add_argument("--lock-stats", action="store_true", help="print how long store transactions waited for the write lock")
    parser.add_argument("--postgres", action="store_true", help="the store on a throwaway PostgreSQL server instead of SQLite")
    parser.add_argument("--codec", action="store_true", help="the journey with and without payload encryption, instead of the baseline")
    parser.add_argument("--facts", action="store_true", help="the journey with and without journey facts, instead of the baseline")
    parser.add_argument("--keep", action="store_true", help="keep the data dir (databases, Temporal's log) for inspection")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
