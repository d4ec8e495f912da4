"""Benchmark: many enrollments asleep in a 30-day wait; the worker's memory and the API's latency around them.

The stack: the Temporal dev server (SQLite, a subprocess), `journey worker` as a
process of its own (TEMPORAL_ADDRESS and DATABASE_URL in its environment, its
memory read from /proc/PID/status), and the API served by uvicorn on a free port
in this process, called by httpx over real sockets. The journey is

    wait 30d -> send email

This run
  1. times `--latency-calls` identify calls of an unrelated customer, one after
     the other (the baseline),
  2. enrolls `--enrollments` customers through the API (`POST /v1/batch` of
     `--batch` track calls each, `--concurrency` batches in flight) and waits
     until every enrollment is asleep: the worker has run its first workflow
     task (the 30-day timer is in its history) - checked on the last-started
     enrollments and a random sample, with the task queue's backlog empty,
  3. reads the worker's resident memory (VmRSS; VmHWM is its peak over the run),
  4. times the same identify calls again.
Prints the worker's memory (target: under 300 MB with 20,000 sleepers), the
identify latency p50/p99 before and after (target: p99 under 50 ms after) and the
ratio after/before.

    python bench/sleepers.py [--enrollments 2000] [--batch 100] [--concurrency 4] [--latency-calls 500]
    python bench/sleepers.py --enrollments 20000      # the recorded run (about 25 minutes on 2 busy cores)
    python bench/sleepers.py --postgres               # the store on a throwaway PostgreSQL server
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import logging
import sys
import time
import uuid
from dataclasses import dataclass

import httpx
from embedded_stack import (
    HASH_SECRET,
    Child,
    LockStats,
    all_asleep,
    api_server,
    child_process,
    compiled,
    cpu_seconds,
    dev_server,
    drive,
    http_client,
    open_store,
    percentile,
    post_retrying,
    proc_status_kib,
    scratch_dir,
    stop_on_sigterm,
    until,
)
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from orchestrator.api import create_app
from orchestrator.host.deployment import deploy
from orchestrator.runtime.ids import CustomerKeys

JOURNEY = """
id: bench_sleepers
name: Asleep for a month
trigger: {event: bench_nap}
steps:
  - id: nap
    wait: 30d
  - id: wake
    send: {channel: email, subject: "Good morning", body: "<p>A month has passed.</p>"}
"""

UNRELATED = "bench-unrelated-customer"
RSS_LIMIT_MB = 300
P99_LIMIT_MS = 50


@dataclass
class Latency:
    p50: float
    p99: float
    mean: float
    count: int

    def text(self) -> str:
        return f"p50 {self.p50:6.2f} ms  p99 {self.p99:6.2f} ms  mean {self.mean:6.2f} ms  ({self.count} calls)"


async def identify_latency(http: httpx.AsyncClient, calls: int, label: str) -> Latency:
    """`calls` identify calls of one customer, one at a time; the first 50 warm up and are not counted."""
    samples: list[float] = []
    for i in range(calls + 50):
        body = {"userId": UNRELATED, "messageId": f"{label}-{i}", "traits": {"plan": "pro", "visits": i}}
        start = time.perf_counter()
        answer = await http.post("/v1/identify", json=body)
        elapsed = time.perf_counter() - start
        if answer.status_code != 200:
            raise RuntimeError(f"identify answered {answer.status_code}: {answer.text}")
        if i >= 50:
            samples.append(elapsed * 1000)
    return Latency(percentile(samples, 50), percentile(samples, 99), sum(samples) / len(samples), len(samples))


async def backlog(client: Client, task_queue: str) -> int:
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        report_stats=True,
    )
    answer = await client.workflow_service.describe_task_queue(request)
    return int(answer.stats.approximate_backlog_count)


async def pollers(client: Client, task_queue: str) -> int:
    request = DescribeTaskQueueRequest(
        namespace=client.namespace, task_queue=TaskQueue(name=task_queue), task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW
    )
    return len((await client.workflow_service.describe_task_queue(request)).pollers)


def worker_memory(worker: Child) -> tuple[float, float]:
    """(VmRSS, VmHWM) of the worker process, in MB."""
    return proc_status_kib(worker.pid, "VmRSS") / 1024, proc_status_kib(worker.pid, "VmHWM") / 1024


async def run(args: argparse.Namespace) -> None:
    stop_on_sigterm()
    logging.getLogger("orchestrator.api.auth").setLevel(logging.ERROR)
    journey = compiled(JOURNEY)
    queue = f"bench-sleepers-{uuid.uuid4().hex[:8]}"
    customers = [f"sleeper-{i}" for i in range(args.enrollments)]
    ids = [CustomerKeys(HASH_SECRET).enrollment_id(journey.id, customer, 1) for customer in customers]
    with scratch_dir(args.keep) as data_dir, open_store(data_dir, postgres=args.postgres) as store:
        locks = LockStats()
        locks.attach(store.engine)
        async with dev_server(data_dir) as (server, client):
            await deploy(store, client, [journey], task_queue=queue)
            env = {"TEMPORAL_ADDRESS": server.address, "DATABASE_URL": store.url, "TEMPORAL_TASK_QUEUE": queue}
            # Plain payloads, as the in-process API's client: enrollments.py --codec measures what encryption costs.
            env |= {"JOURNEY_PAYLOAD_KEYS": "none", "JOURNEY_HASH_SECRET": HASH_SECRET.key.decode(), "JOURNEY_WORKER_HTTP": "off"}
            command = [sys.executable, "-m", "orchestrator", "worker"]
            with child_process(command, data_dir / "worker.log", env) as worker:
                await until(lambda: _worker_polling(client, queue, worker), timeout=60, what="the worker to poll")
                app = create_app(
                    store, client, api_keys=None, hash_secret=HASH_SECRET, auth_disabled=True, task_queue=queue, search_attributes=True
                )
                async with api_server(app) as url, http_client(url, max(args.concurrency, 1)) as http:
                    await report(args, client, http, worker, server.process.pid if server.process else 0, queue, customers, ids, locks)


async def _worker_polling(client: Client, queue: str, worker: Child) -> bool:
    if not worker.alive():
        raise RuntimeError(f"the worker exited:\n{worker.log_tail()}")
    return await pollers(client, queue) > 0


async def report(
    args: argparse.Namespace,
    client: Client,
    http: httpx.AsyncClient,
    worker: Child,
    server_pid: int,
    queue: str,
    customers: list[str],
    ids: list[str],
    locks: LockStats,
) -> None:
    await http.post("/v1/identify", json={"userId": UNRELATED, "traits": {"email": "unrelated@example.com"}})
    before = await identify_latency(http, args.latency_calls, "before")
    idle_rss, _ = worker_memory(worker)
    print(f"identify before: {before.text()}", flush=True)
    print(f"worker idle: VmRSS {idle_rss:6.1f} MB", flush=True)

    batches = [customers[i : i + args.batch] for i in range(0, len(customers), args.batch)]
    refusals: collections.Counter[str] = collections.Counter()
    locks.reset()
    worker_cpu, server_cpu = cpu_seconds(worker.pid), cpu_seconds(server_pid)
    start = time.perf_counter()

    async def send(index: int) -> None:
        items = [{"type": "track", "userId": c, "event": "bench_nap", "messageId": f"nap-{c}"} for c in batches[index]]
        answer = await post_retrying(http, "/v1/batch", {"batch": items}, refusals)
        if answer.status_code != 200:
            raise RuntimeError(f"batch {index} answered {answer.status_code}: {answer.text}")
        enrolled = len(answer.json()["enrolled"])
        if enrolled != len(items):
            raise RuntimeError(f"batch {index} enrolled {enrolled} of {len(items)}")

    await drive(len(batches), args.concurrency, send)
    started = time.perf_counter() - start
    print(f"started {len(customers)} enrollments in {started:6.1f} s ({len(customers) / started:6.1f}/s through /v1/batch)", flush=True)
    refused = ", ".join(f"{code} x{count}" for code, count in refusals.items()) or "none"
    print(f"batches answered 503 (then retried, same messageIds): {refused}")
    print("\n".join(["store transactions while starting (API: one per batch):", *locks.lines(started)]), flush=True)
    await all_asleep(client, ids, args.sample)
    await until(lambda: _backlog_empty(client, queue), timeout=600, what="the task queue's backlog to empty", every=1.0)
    slept = time.perf_counter() - start
    worker_cpu, server_cpu = cpu_seconds(worker.pid) - worker_cpu, cpu_seconds(server_pid) - server_cpu
    print(
        f"all asleep {slept:6.1f} s after the first start ({len(customers) / slept:6.1f}/s); "
        f"CPU: worker {worker_cpu:6.1f} s ({worker_cpu / len(customers) * 1000:5.1f} ms per enrollment), "
        f"Temporal server {server_cpu:6.1f} s",
        flush=True,
    )
    await asyncio.sleep(2)
    rss, peak = worker_memory(worker)
    worker_cpu = cpu_seconds(worker.pid)
    after = await identify_latency(http, args.latency_calls, "after")
    print(f"identify after:  {after.text()}  (worker CPU meanwhile: {cpu_seconds(worker.pid) - worker_cpu:.1f} s)")
    print(f"sleepers: {len(customers)}")
    met = "met" if rss < RSS_LIMIT_MB else "MISSED"
    print(f"worker memory: VmRSS {rss:6.1f} MB (idle before: {idle_rss:6.1f} MB; peak VmHWM {peak:6.1f} MB)", end="")
    print(f"  target < {RSS_LIMIT_MB} MB: {met}")
    met = "met" if after.p99 < P99_LIMIT_MS else "MISSED"
    print(f"identify p99 after: {after.p99:.2f} ms  target < {P99_LIMIT_MS} ms: {met}")
    print(f"ratio after/before: p50 {after.p50 / before.p50:.2f}  p99 {after.p99 / before.p99:.2f}")


async def _backlog_empty(client: Client, queue: str) -> bool:
    return await backlog(client, queue) == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--enrollments", type=int, default=2000, help="sleeping enrollments to start (the issue's figure: 20000)")
    parser.add_argument("--batch", type=int, default=100, help="track calls per /v1/batch request")
    parser.add_argument("--concurrency", type=int, default=4, help="batch requests in flight at once")
    parser.add_argument("--latency-calls", type=int, default=500, help="identify calls timed before and after")
    parser.add_argument("--sample", type=int, default=200, help="random enrollments checked to be asleep")
    parser.add_argument("--postgres", action="store_true", help="the store on a throwaway PostgreSQL server instead of SQLite")
    parser.add_argument("--keep", action="store_true", help="keep the data dir (databases, logs) for inspection")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
