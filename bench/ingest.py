"""Benchmark: `/v1/batch` ingestion, of events no journey listens to and of events that reach running enrollments.

The stack is `journey dev`'s, in this process: the Temporal dev server (SQLite, a
subprocess), one worker and the API served by uvicorn on a free port, called by
httpx over real sockets (`--concurrency` batch requests in flight, `--batch`
events each). `--enrollments` customers are first enrolled in a journey that
waits 30 days for `bench_ping` events whose `where` never holds, so every ping
is delivered (a signal) and evaluated, and the enrollment goes on waiting.

Quiet events (no journey listens to them), alternating rounds:
  api - `--events` track calls through `POST /v1/batch`,
  raw - the same rows through `StoreSession.record_events`, one transaction per
        batch, `--concurrency` at a time (the floor: the store's own insert rate);
prints events/s of each, the ratio api/raw and the target (>= 2,000 events/s
through the API), and shows Temporal untouched: the namespace's workflow count
and the history lengths of a few running enrollments, before and after.

Anonymous visitors (issue 28), alternating rounds, the order swapped every round:
  identified - `--anonymous-events` quiet track calls through `POST /v1/batch`, the customer named by `userId`,
  anonymous  - the same calls with `anonymousId` instead (each reaches the anonymous profile
               `anonymous:<anonymousId>`, so routing reads whether each visitor has merged);
prints events/s of each, the ratio anonymous/identified of the time they take (target <= 1.10: the median of
the rounds' ratios, each round a pair run back to back) and of this process's CPU time, and checks the anonymous
events were recorded under the anonymous profiles. Short rounds, many of them: the pairs cancel the shared
machine's drift, which moves the rate of whole rounds by a third.

Identify calls (the profile history's cost), alternating rounds:
  with    - `--identifies` identify calls through `POST /v1/batch`, each changing two
            traits of one of QUIET_CUSTOMERS known customers, the profile history recorded;
  without - the same calls with the history's write switched off in this process
            (`ProfileQueries.record_profile_change` made a no-op: the code before it);
prints identify calls/s of each and the ratio with/without.

Events that reach an enrollment (one signal each), alternating rounds:
  api - `--signals` `bench_ping` track calls through `POST /v1/batch`; the Router
        signals each batch's enrollments 32 at a time (MAX_CONCURRENT_CUSTOMERS
        in orchestrator/routing/gateway.py) inside the batch's transaction,
  raw - the same signals by `client.get_workflow_handle(id).signal(...)`, 32 at a time;
prints signals/s of each and the ratio api/raw.

    python bench/ingest.py [--events 20000] [--identifies 10000] [--signals 2000] [--enrollments 200] [--batch 100]
                           [--concurrency 4] [--rounds 2] [--anonymous-events 5000]
                           [--anonymous-rounds 20] [--only quiet|anonymous|identifies|signals]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import logging
import statistics
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from embedded_stack import (
    HASH_SECRET,
    StoreCounts,
    all_asleep,
    api_server,
    compiled,
    dev_server,
    drive,
    http_client,
    open_store,
    post_retrying,
    scratch_dir,
    stop_on_sigterm,
)
from temporalio.client import Client

from orchestrator.api import create_app
from orchestrator.host.deployment import deploy
from orchestrator.host.worker import build_worker
from orchestrator.routing.gateway import MAX_CONCURRENT_CUSTOMERS
from orchestrator.runtime.contracts import EVENT_SIGNAL, EventMessage
from orchestrator.runtime.ids import CustomerKeys
from orchestrator.store import EventRow, Store
from orchestrator.store.profiles_table import ProfileQueries

JOURNEY = """
id: bench_listener
name: Listens for a month
trigger: {event: bench_listen}
steps:
  - id: listen
    wait_for: {event: bench_ping, where: "event.final | default(false)", within: 30d}
  - id: bye
    send: {channel: email, subject: "Bye", body: "<p>A month has passed.</p>"}
"""

QUIET_TARGET = 2000
QUIET_CUSTOMERS = 1000
ANONYMOUS_TARGET = 1.10
"""Issue 28: anonymous events take at most 10% longer to ingest than the same events of known customers."""
SECTIONS = ("quiet", "anonymous", "identifies", "signals")


def quiet_items(round_name: str, count: int, *, anonymous: bool = False, name: str = "visitor") -> list[dict[str, Any]]:
    """`count` track calls of events no journey listens to, from QUIET_CUSTOMERS customers `<name>-<n>` (`anonymous`:
    visitors named by `anonymousId` instead of `userId`)."""
    who = "anonymousId" if anonymous else "userId"
    return [
        {
            "type": "track",
            who: f"{name}-{i % QUIET_CUSTOMERS}",
            "event": f"page_viewed_{i % 7}",
            "messageId": f"{round_name}-{i}",
            "properties": {"path": f"/pricing/{i % 13}", "referrer": "https://example.com/", "i": i},
        }
        for i in range(count)
    ]


def identify_items(round_name: str, count: int) -> list[dict[str, Any]]:
    """`count` identify calls from the QUIET_CUSTOMERS customers, each changing two of their traits."""
    return [
        {
            "type": "identify",
            "userId": f"visitor-{i % QUIET_CUSTOMERS}",
            "messageId": f"{round_name}-{i}",
            "traits": {"plan": ("free", "pro", "team")[i % 3], "last_path": f"/pricing/{i % 13}", "name": "Visitor", "i": i // 7},
        }
        for i in range(count)
    ]


def as_rows(items: list[dict[str, Any]], at: datetime) -> list[EventRow]:
    return [EventRow(item["messageId"], item["userId"], item["event"], item["properties"], at, at) for item in items]


def batches(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


REFUSALS: collections.Counter[str] = collections.Counter()
"""/v1/batch calls answered 503 (nothing recorded) and retried, by error code; printed at the end."""


async def post_batches(http: httpx.AsyncClient, items: list[dict[str, Any]], size: int, concurrency: int, signalled: bool) -> float:
    """POST `items` as /v1/batch calls of `size`, `concurrency` at a time; seconds taken. Checks every answer."""
    chunks = batches(items, size)

    async def send(index: int) -> None:
        answer = await post_retrying(http, "/v1/batch", {"batch": chunks[index]}, REFUSALS)
        if answer.status_code != 200:
            raise RuntimeError(f"batch {index} answered {answer.status_code}: {answer.text}")
        body = answer.json()
        if body["duplicates"] or body["enrolled"] or len(body["signalled"]) != (len(chunks[index]) if signalled else 0):
            raise RuntimeError(f"batch {index} did not do what it should: {body}")

    start = time.perf_counter()
    await drive(len(chunks), concurrency, send)
    return time.perf_counter() - start


async def raw_inserts(store: Store, items: list[dict[str, Any]], size: int, concurrency: int) -> float:
    """The same rows through StoreSession.record_events, one transaction per batch, `concurrency` at a time."""
    chunks = [as_rows(chunk, datetime.now(UTC)) for chunk in batches(items, size)]

    def insert(rows: list[EventRow]) -> None:
        with store.session() as session:
            if len(session.record_events(rows)) != len(rows):
                raise RuntimeError("raw insert found duplicates")

    async def one(index: int) -> None:
        await asyncio.to_thread(insert, chunks[index])

    start = time.perf_counter()
    await drive(len(chunks), concurrency, one)
    return time.perf_counter() - start


async def raw_signals(client: Client, targets: list[tuple[str, EventMessage]], concurrency: int) -> float:
    async def one(index: int) -> None:
        workflow_id, message = targets[index]
        await client.get_workflow_handle(workflow_id).signal(EVENT_SIGNAL, message)

    start = time.perf_counter()
    await drive(len(targets), concurrency, one)
    return time.perf_counter() - start


async def temporal_state(client: Client, sample: list[str]) -> tuple[int, list[int]]:
    """The namespace's workflow count, and the history length of each sampled enrollment."""
    count = (await client.count_workflows()).count
    lengths = [len((await client.get_workflow_handle(i).fetch_history()).events) for i in sample]
    return count, lengths


def ping_items(round_name: str, customers: list[str], count: int) -> list[dict[str, Any]]:
    """`count` pings, cycling through the customers (so a batch's customers are distinct when batch <= len)."""
    return [
        {
            "type": "track",
            "userId": customers[i % len(customers)],
            "event": "bench_ping",
            "messageId": f"{round_name}-{i}",
            "properties": {"n": i},
        }
        for i in range(count)
    ]


async def run(args: argparse.Namespace) -> None:
    stop_on_sigterm()
    logging.getLogger("orchestrator.api.auth").setLevel(logging.ERROR)
    journey = compiled(JOURNEY)
    queue = f"bench-ingest-{uuid.uuid4().hex[:8]}"
    customers = [f"listener-{i}" for i in range(args.enrollments)]
    ids = {c: CustomerKeys(HASH_SECRET).enrollment_id(journey.id, c, 1) for c in customers}
    with scratch_dir(args.keep) as data_dir, open_store(data_dir, postgres=args.postgres) as store:
        counts = StoreCounts(store)
        try:
            async with dev_server(data_dir) as (_, client):
                await deploy(store, client, [journey], task_queue=queue)
                app = create_app(
                    store, client, api_keys=None, hash_secret=HASH_SECRET, auth_disabled=True, task_queue=queue, search_attributes=True
                )
                async with (
                    api_server(app) as url,
                    http_client(url, args.concurrency) as http,
                    build_worker(client, store, hash_secret=HASH_SECRET, task_queue=queue),
                ):
                    listen = [{"type": "track", "userId": c, "event": "bench_listen", "messageId": f"listen-{c}"} for c in customers]
                    for chunk in batches(listen, args.batch):
                        answer = await http.post("/v1/batch", json={"batch": chunk})
                        if answer.status_code != 200 or len(answer.json()["enrolled"]) != len(chunk):
                            raise RuntimeError(f"enrolling listeners failed: {answer.status_code} {answer.text}")
                    await all_asleep(client, list(ids.values()), sample=min(50, len(ids)))
                    print(f"{len(customers)} enrollments waiting for bench_ping", flush=True)
                    if args.only in (None, "quiet"):
                        await quiet(args, client, http, store, counts, [ids[c] for c in customers[:5]])
                    if args.only in (None, "anonymous"):
                        await anonymous(args, http, counts)
                    if args.only in (None, "identifies"):
                        await identifies(args, http)
                    if args.only in (None, "signals"):
                        await signals(args, client, http, customers, ids)
                    refused = ", ".join(f"{code} x{count}" for code, count in REFUSALS.items()) or "none"
                    print(f"batches answered 503 and retried (same messageIds): {refused}")
        finally:
            counts.close()


async def quiet(
    args: argparse.Namespace, client: Client, http: httpx.AsyncClient, store: Store, counts: StoreCounts, sample: list[str]
) -> None:
    await post_batches(http, quiet_items("warmup", 10 * args.batch), args.batch, args.concurrency, signalled=False)
    workflows_before, lengths_before = await temporal_state(client, sample)
    events_before = await asyncio.to_thread(counts.scalar, "SELECT count(*) FROM events")
    api_times: list[float] = []
    raw_times: list[float] = []
    for n in range(args.rounds):
        raw_times.append(await raw_inserts(store, quiet_items(f"raw{n}", args.events), args.batch, args.concurrency))
        api_times.append(await post_batches(http, quiet_items(f"api{n}", args.events), args.batch, args.concurrency, signalled=False))
        print(f"round {n}: raw {args.events / raw_times[-1]:8.0f} events/s   api {args.events / api_times[-1]:8.0f} events/s", flush=True)
    events_after = await asyncio.to_thread(counts.scalar, "SELECT count(*) FROM events")
    if events_after - events_before != 2 * args.rounds * args.events:
        raise RuntimeError(f"{events_after - events_before} events recorded, not {2 * args.rounds * args.events}")
    await asyncio.sleep(1)  # anything the calls had caused would have reached Temporal by now
    workflows_after, lengths_after = await temporal_state(client, sample)
    api, raw = args.events / min(api_times), args.events / min(raw_times)
    print(f"quiet events: {args.events} per round, batches of {args.batch}, {args.concurrency} in flight, best of {args.rounds} rounds")
    print(f"raw (StoreSession.record_events): {raw:8.0f} events/s")
    print(f"api (POST /v1/batch):             {api:8.0f} events/s  target >= {QUIET_TARGET}: {'met' if api >= QUIET_TARGET else 'MISSED'}")
    print(f"ratio api/raw: {api / raw:.2f}")
    untouched = workflows_before == workflows_after and lengths_before == lengths_after
    print(
        f"Temporal untouched: {'yes' if untouched else 'NO'} (workflows {workflows_before} -> {workflows_after}; "
        f"history lengths of {len(lengths_before)} enrollments {lengths_before} -> {lengths_after})"
    )
    if not untouched:
        raise RuntimeError("events no journey listens to reached Temporal")


async def anonymous(args: argparse.Namespace, http: httpx.AsyncClient, counts: StoreCounts) -> None:
    events, rounds = args.anonymous_events, args.anonymous_rounds
    # Customers of their own ("reader-<n>"), so neither side's finds the quiet rounds' rows of its ids.
    for anonymous_warmup in (False, True):
        warmup = quiet_items(f"warmup-{anonymous_warmup}", 10 * args.batch, anonymous=anonymous_warmup, name="reader")
        await post_batches(http, warmup, args.batch, args.concurrency, signalled=False)
    anonymous_rows = "SELECT count(*) FROM events WHERE customer_id LIKE 'anonymous:%'"
    before = await asyncio.to_thread(counts.scalar, anonymous_rows)
    wall: dict[str, list[float]] = {"identified": [], "anonymous": []}
    cpu: dict[str, list[float]] = {"identified": [], "anonymous": []}
    for n in range(rounds):
        for mode in ("identified", "anonymous") if n % 2 == 0 else ("anonymous", "identified"):
            items = quiet_items(f"{mode}{n}", events, anonymous=mode == "anonymous", name="reader")
            cpu_before = time.process_time()
            wall[mode].append(await post_batches(http, items, args.batch, args.concurrency, signalled=False))
            cpu[mode].append(time.process_time() - cpu_before)
        rates = "   ".join(f"{mode} {events / spent[-1]:8.0f} events/s" for mode, spent in wall.items())
        print(f"round {n}: {rates}   ratio {wall['anonymous'][-1] / wall['identified'][-1]:.2f}", flush=True)
    recorded = await asyncio.to_thread(counts.scalar, anonymous_rows) - before
    if recorded != rounds * events:
        raise RuntimeError(f"{recorded} events recorded under anonymous profiles, not {rounds * events}")
    paired = statistics.median(a / i for a, i in zip(wall["anonymous"], wall["identified"], strict=True))
    best = min(wall["anonymous"]) / min(wall["identified"])
    shape = f"batches of {args.batch}, {args.concurrency} in flight, {rounds} rounds"
    print(f"anonymous visitors: {events} quiet events per round and side, {shape}")
    print(f"identified (userId):     best {events / min(wall['identified']):8.0f} events/s")
    print(f"anonymous (anonymousId): best {events / min(wall['anonymous']):8.0f} events/s")
    verdict = "met" if paired <= ANONYMOUS_TARGET else "MISSED"
    target = f"target <= {ANONYMOUS_TARGET:.2f}: {verdict}"
    print(f"ratio anonymous/identified, time: median of the rounds {paired:.2f} (best of each side {best:.2f})  {target}")
    cpu_ratio = sum(cpu["anonymous"]) / sum(cpu["identified"])
    print(f"ratio anonymous/identified, this process's CPU (API, routing, store, client): {cpu_ratio:.2f}")


async def identifies(args: argparse.Namespace, http: httpx.AsyncClient) -> None:
    recorded = ProfileQueries.record_profile_change

    def skip_history(*_: Any) -> None:
        """The profile history's write, switched off: identify as it was before the history."""

    times: dict[str, list[float]] = {"with": [], "without": []}
    for n in range(args.rounds):
        for mode in ("without", "with"):
            ProfileQueries.record_profile_change = recorded if mode == "with" else skip_history  # type: ignore[method-assign]
            try:
                items = identify_items(f"identify-{mode}{n}", args.identifies)
                times[mode].append(await post_batches(http, items, args.batch, args.concurrency, signalled=False))
            finally:
                ProfileQueries.record_profile_change = recorded  # type: ignore[method-assign]
        rates = "   ".join(f"{mode} {args.identifies / spent[-1]:8.0f} calls/s" for mode, spent in times.items())
        print(f"round {n}: {rates}", flush=True)
    with_history, without = args.identifies / min(times["with"]), args.identifies / min(times["without"])
    shape = f"batches of {args.batch}, {args.concurrency} in flight, best of {args.rounds} rounds"
    print(f"identify calls: {args.identifies} per round, {shape}")
    print(f"without the profile history: {without:8.0f} calls/s")
    print(f"with the profile history:    {with_history:8.0f} calls/s")
    print(f"ratio with/without: {with_history / without:.2f}")


async def signals(args: argparse.Namespace, client: Client, http: httpx.AsyncClient, customers: list[str], ids: dict[str, str]) -> None:
    concurrency = MAX_CONCURRENT_CUSTOMERS
    api_times: list[float] = []
    raw_times: list[float] = []
    for n in range(args.rounds):
        now = datetime.now(UTC).isoformat()
        raw_targets = [
            (ids[item["userId"]], EventMessage(item["messageId"], item["event"], item["properties"], now))
            for item in ping_items(f"rawping{n}", customers, args.signals)
        ]
        raw_times.append(await raw_signals(client, raw_targets, concurrency))
        api_times.append(await post_batches(http, ping_items(f"apiping{n}", customers, args.signals), args.batch, args.concurrency, True))
        raw_rate, api_rate = args.signals / raw_times[-1], args.signals / api_times[-1]
        print(f"round {n}: raw {raw_rate:8.0f} signals/s   api {api_rate:8.0f} signals/s", flush=True)
    api, raw = args.signals / min(api_times), args.signals / min(raw_times)
    print(f"signalling events: {args.signals} per round over {len(customers)} enrollments, best of {args.rounds} rounds")
    print(f"raw (WorkflowHandle.signal, {concurrency} at a time):                {raw:8.0f} signals/s")
    print(f"api (POST /v1/batch of {args.batch}, {args.concurrency} in flight, {concurrency} signals at a time): {api:8.0f} signals/s")
    print(f"ratio api/raw: {api / raw:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20000, help="quiet events per round and side")
    parser.add_argument("--identifies", type=int, default=10000, help="identify calls per round and mode (with and without the history)")
    parser.add_argument("--anonymous-events", type=int, default=5000, help="quiet events per round and side, anonymous against identified")
    parser.add_argument("--anonymous-rounds", type=int, default=20, help="rounds of anonymous against identified (pairs)")
    parser.add_argument("--signals", type=int, default=2000, help="signalling events per round and side")
    parser.add_argument("--enrollments", type=int, default=200, help="running enrollments the pings reach")
    parser.add_argument("--batch", type=int, default=100, help="events per /v1/batch call (and per raw transaction)")
    parser.add_argument("--concurrency", type=int, default=4, help="batch requests (raw: transactions) in flight at once")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", choices=SECTIONS, help="run this part only (default: all, in this order)")
    parser.add_argument("--postgres", action="store_true", help="the store on a throwaway PostgreSQL server instead of SQLite")
    parser.add_argument("--keep", action="store_true", help="keep the data dir (databases, logs) for inspection")
    args = parser.parse_args()
    if args.batch > args.enrollments:
        parser.error("--batch must not exceed --enrollments: a batch's pings must reach distinct enrollments")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
