"""What the stack benchmarks share: the embedded dev server, the API on a socket, a worker process, statistics.

Every benchmark runs in a fresh temporary folder (Temporal's and the store's SQLite
files), on free ports, and stops every process it started when it ends, also on
an error, Ctrl-C or SIGTERM. The scripts are run as `python bench/NAME.py`, which
puts this folder on sys.path; this module is imported as `embedded_stack`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from temporalio.client import Client

from orchestrator import ir
from orchestrator.compiler import compile_text
from orchestrator.host.devserver import DevServer, free_port
from orchestrator.host.devstack import EmbeddedServer
from orchestrator.privacy.keyed_hash import HashSecret
from orchestrator.privacy.payload_codec import PayloadKey, PayloadKeys, encrypting_converter
from orchestrator.store import Store
from orchestrator.store.sqlite import _SQLiteConnection

REPO = Path(__file__).resolve().parents[1]
HASH_SECRET = HashSecret(b"bench-hash-secret-0123456789")
"""What keys the benchmarks' enrollment ids, in process and in a `journey worker` they start."""
PAYLOAD_KEYS = PayloadKeys((PayloadKey.generate("bench"),))


def encrypting(client: Client) -> Client:
    """`client`'s connection with the payload codec every deployment runs (orchestrator/privacy/payload_codec.py)."""
    return Client(client.service_client, namespace=client.namespace, data_converter=encrypting_converter(PAYLOAD_KEYS))


def compiled(text: str, name: str = "bench.yaml") -> ir.Journey:
    result = compile_text(text, file=name, directory=REPO / "journeys")
    if result.journey is None:
        sys.exit("the benchmark's journey does not compile:\n" + "\n".join(d.text() for d in result.diagnostics))
    return result.journey


@contextlib.contextmanager
def scratch_dir(keep: bool = False) -> Iterator[Path]:
    """A fresh folder for this run's databases and logs; removed at the end unless `keep`."""
    if keep:
        path = Path(tempfile.mkdtemp(prefix="journey-bench-"))
        print(f"data dir (kept): {path}")
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="journey-bench-") as tmp:
        yield Path(tmp)


def stop_on_sigterm() -> None:
    """SIGTERM cancels the running main task, so every `finally` (process clean-up) still runs."""
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)


@contextlib.asynccontextmanager
async def dev_server(data_dir: Path) -> AsyncIterator[tuple[DevServer, Client]]:
    """`temporal server start-dev` on SQLite in `data_dir` (the same command `journey dev` runs), headless, free port."""
    server = DevServer(data_dir / "temporal", port=free_port(), ui_port=None)
    try:
        server.start()
        client = await server.wait_ready()
        yield server, client
    finally:
        await asyncio.to_thread(server.stop)


@contextlib.contextmanager
def open_store(data_dir: Path, *, postgres: bool = False) -> Iterator[Store]:
    """A migrated store: SQLite in `data_dir` (the embedded default), or with `postgres` a throwaway
    PostgreSQL server (tests/postgres.py: the Debian server binaries, fsync off), removed at the end."""
    if not postgres:
        store = Store(f"sqlite:///{data_dir / 'journey.db'}")
        try:
            store.migrate()
            yield store
        finally:
            store.dispose()
        return
    sys.path.insert(0, str(REPO))
    from tests.postgres import start_server

    server = start_server()
    try:
        store = Store(server.url(server.create_database()))
        try:
            store.migrate()
            yield store
        finally:
            store.dispose()
    finally:
        server.stop()


@contextlib.asynccontextmanager
async def api_server(app: FastAPI) -> AsyncIterator[str]:
    """`app` served by uvicorn on a free port of 127.0.0.1 on this loop, as `journey dev` serves it; yields its URL."""
    port = free_port()
    server = EmbeddedServer(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the API did not start")
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task


def http_client(url: str, concurrency: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(base_url=url, limits=limits, timeout=120)


@dataclass
class Answer:
    status_code: int
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


class LeanClient:
    """A load driver that costs the process it shares little: aiohttp (C-accelerated HTTP parsing, keep-alive).

    The event pipelines that call the API (Segment, RudderStack) run elsewhere; httpx, pure Python over
    h11 and anyio, spent about a tenth of the bench process's CPU driving the API, which the baseline's
    driver (`client.start_workflow`, over Temporal's Rust core) does not pay.
    """

    def __init__(self, url: str, concurrency: int) -> None:
        self._url = url
        self._concurrency = concurrency
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> LeanClient:
        connector = aiohttp.TCPConnector(limit=self._concurrency)
        self._session = aiohttp.ClientSession(self._url, connector=connector, timeout=aiohttp.ClientTimeout(total=120))
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def post(self, path: str, json: Any) -> Answer:
        assert self._session is not None, "use `async with LeanClient(...)`"
        async with self._session.post(path, json=json) as response:
            return Answer(response.status, await response.text())


async def drive(count: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> None:
    """Call `one(i)` for i in range(count), `concurrency` at a time (a fixed pool of callers)."""
    items = iter(range(count))

    async def caller() -> None:
        for i in items:
            await one(i)

    async with asyncio.TaskGroup() as group:
        for _ in range(min(concurrency, count)):
            group.create_task(caller())


async def post_retrying(
    http: httpx.AsyncClient | LeanClient, path: str, body: Any, refusals: collections.Counter[str]
) -> httpx.Response | Answer:
    """POST as a Segment pipeline does: a 503 (nothing recorded) is retried with the same body, up to 20 times.

    Each refusal is counted under its error code; the benchmarks report them.
    """
    for _ in range(20):
        answer = await http.post(path, json=body)
        if answer.status_code != 503:
            return answer
        refusals[answer.json().get("error", "503")] += 1
        await asyncio.sleep(1.0)
    return answer


async def until(probe: Callable[[], Awaitable[bool]], timeout: float, what: str, every: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not await probe():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(every)


class StoreCounts:
    """Counts rows without disturbing the run: on SQLite through a read-only connection of its own,
    since a store session would take the single write lock; on PostgreSQL a plain read."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._sqlite: sqlite3.Connection | None = None
        if store.dialect == "sqlite":
            path = make_url(store.url).database
            self._sqlite = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self._lock = threading.Lock()

    def scalar(self, query: str, **params: Any) -> int:
        """The one value `query` (named parameters, `:name`) returns."""
        if self._sqlite is not None:
            with self._lock:
                return int(self._sqlite.execute(query, params).fetchone()[0])
        with self._store.engine.connect() as connection:
            return int(connection.execute(text(query), params).scalar_one())

    def outbox(self, journey_id: str) -> int:
        return self.scalar("SELECT count(*) FROM outbox_messages WHERE journey_id = :j", j=journey_id)

    def finished(self, journey_id: str) -> int:
        return self.scalar("SELECT count(*) FROM enrollments WHERE journey_id = :j AND status != 'running'", j=journey_id)

    def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()


async def running_workflows(client: Client, task_queue: str) -> int:
    return (await client.count_workflows(f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Running'")).count


async def closed_workflows(client: Client, task_queue: str) -> int:
    return (await client.count_workflows(f"TaskQueue = '{task_queue}' AND ExecutionStatus != 'Running'")).count


async def asleep(client: Client, workflow_id: str) -> bool:
    """Whether the enrollment's first workflow task has run: its history has the wait's timer."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return any(event.HasField("timer_started_event_attributes") for event in history.events)


async def all_asleep(client: Client, ids: list[str], sample: int) -> None:
    """Wait until the last 20 started enrollments and `sample` random others are asleep.

    The task queue is not strictly first in, first out, hence the random sample; the caller
    then waits for the queue's backlog to be empty as well.
    """
    pending = list(dict.fromkeys([*ids[-20:], *random.sample(ids, min(sample, len(ids)))]))

    async def probe() -> bool:
        nonlocal pending
        checks = await asyncio.gather(*(asleep(client, i) for i in pending))
        pending = [i for i, done in zip(pending, checks, strict=True) if not done]
        return not pending

    await until(probe, timeout=7200, what="the sampled enrollments to fall asleep", every=1.0)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by the nearest-rank method."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


# --- a process of its own -------------------------------------------------------


@dataclass
class Child:
    """A process this benchmark started; `stop` sends SIGTERM, then SIGKILL after `grace` seconds."""

    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace: float = 20.0) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@contextlib.contextmanager
def child_process(command: list[str], log: Path, env: dict[str, str]) -> Iterator[Child]:
    with log.open("ab") as out:
        # Run in the log's folder: the package comes from the environment (the virtualenv), not the working directory.
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **env}, cwd=log.parent)
    child = Child(process, log)
    try:
        yield child
    finally:
        child.stop()


def proc_status_kib(pid: int, field: str) -> int:
    """A `kB` field of /proc/PID/status (VmRSS: resident now, VmHWM: the peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(f"no {field} in /proc/{pid}/status")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- where the store's time goes ------------------------------------------------


class LockStats:
    """How long transactions wait for, and then hold, the store's write lock, by who runs them.

    Every store transaction begins IMMEDIATE (orchestrator/store/__init__.py), so on SQLite
    it waits for the single write lock and holds it until commit. Attach before the run:
    the start is stamped when a writer asks for its turn (the process's writers queue on it
    before BEGIN IMMEDIATE: `_SQLiteConnection.take_writer_turn`, wrapped while attached), a
    `begin` listener after the engine's own stamps the lock taken, commit/rollback the
    release. Read-only sessions take no turn and are not counted.
    Callers are told apart by thread name: the API's handlers run in AnyIO's threads,
    activities in the worker's ThreadPoolExecutor.
    """

    def __init__(self) -> None:
        self.samples: dict[str, list[tuple[float, float]]] = {}
        self.errors: collections.Counter[str] = collections.Counter()
        """Database errors by message ("database is locked": the busy timeout ran out)."""
        self._lock = threading.Lock()

    def attach(self, engine: Engine) -> None:
        asked = threading.local()
        take_turn = _SQLiteConnection.take_writer_turn

        def take_writer_turn(dbapi_connection: _SQLiteConnection) -> None:
            asked.at = time.perf_counter()
            take_turn(dbapi_connection)

        _SQLiteConnection.take_writer_turn = take_writer_turn  # type: ignore[method-assign]

        def taken(connection: Any) -> None:
            asked_at, asked.at = getattr(asked, "at", None), None
            if asked_at is not None:
                connection.info["bench_asked"], connection.info["bench_taken"] = asked_at, time.perf_counter()

        def released(connection: Any) -> None:
            asked_at, taken_at = connection.info.pop("bench_asked", None), connection.info.pop("bench_taken", None)
            if asked_at is None or taken_at is None:
                return
            name = threading.current_thread().name
            who = "api" if "AnyIO" in name else "activity" if "ThreadPoolExecutor" in name else "other"
            with self._lock:
                self.samples.setdefault(who, []).append((taken_at - asked_at, time.perf_counter() - taken_at))

        event.listen(engine, "begin", taken)

        def failed(context: Any) -> None:
            with self._lock:
                self.errors[str(context.original_exception).splitlines()[0][:100]] += 1

        event.listen(engine, "commit", released)
        event.listen(engine, "rollback", released)
        event.listen(engine, "handle_error", failed)

    def reset(self) -> None:
        with self._lock:
            self.samples.clear()
            self.errors.clear()

    def lines(self, elapsed: float) -> list[str]:
        out = []
        for who, samples in sorted(self.samples.items()):
            waits, holds = [w for w, _ in samples], [h for _, h in samples]
            out.append(
                f"  {who:<8} {len(samples):6d} transactions: wait for the lock p50 {percentile(waits, 50) * 1000:6.1f} ms "
                f"p99 {percentile(waits, 99) * 1000:7.1f} ms; held p50 {percentile(holds, 50) * 1000:6.1f} ms "
                f"p99 {percentile(holds, 99) * 1000:7.1f} ms, {sum(holds):6.2f} s in all ({sum(holds) / elapsed:4.0%} of the time)"
            )
        out += [f"  database error x{count}: {message}" for message, count in self.errors.most_common()]
        return out
