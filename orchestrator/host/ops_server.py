"""The worker's ops HTTP port (`JOURNEY_WORKER_HTTP`): `/healthz`, `/readyz` and `/metrics` (docs/operations.md).

A worker takes no traffic of its own, so an orchestrator (Kubernetes, systemd, Nomad) has
nothing else to ask whether to restart it. The port is served on the worker's own event
loop, by uvicorn as the API is:

- `/healthz`, alive: answered by that loop, so a loop blocked by a stuck activity or a dead
  process fails it. It checks nothing else: a worker waiting for Temporal is alive, and
  restarting it would not bring Temporal back.
- `/readyz`, ready: connected to Temporal (its frontend answers a health check), the database
  answers `SELECT 1`, and the worker is polling its task queue; the body names each check, and
  the status is 503 while any fails (before the first connection, with the database gone, while
  the worker stops).
- `/metrics`: the process's Prometheus metrics (orchestrator/metrics.py), with the Temporal
  SDK's own when the runtime exports them there (orchestrator/host/temporal_metrics.py).

It binds loopback by default: a scraper or a probe on the same host or pod reaches it, and it
shows nothing personal (ids of journeys, counts), but it has no key either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Literal

import uvicorn
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from temporalio.client import Client

from orchestrator.metrics import exposition
from orchestrator.store import Store

log = logging.getLogger(__name__)

WORKER_HTTP_VARIABLE: Final = "JOURNEY_WORKER_HTTP"
CHECK_TIMEOUT: Final = timedelta(seconds=2)
"""How long one readiness check may take: a probe's own timeout is usually a few seconds."""


@dataclass(frozen=True)
class OpsAddress:
    """Where the ops port listens."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


DEFAULT_WORKER_HTTP: Final = OpsAddress("127.0.0.1", 9464)


def parse_ops_address(value: str) -> OpsAddress | None:
    """`host:port` (`:9464` or `9464` alone: on loopback), or `off`: None. A ValueError says what to write."""
    cleaned = value.strip()
    if cleaned.lower() in ("off", "none", "false", "no"):
        return None
    host, _, port = cleaned.rpartition(":")
    host = host.strip("[]") or DEFAULT_WORKER_HTTP.host
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"write host:port, e.g. {DEFAULT_WORKER_HTTP} or 0.0.0.0:9464, or off")
    return OpsAddress(host, int(port))


class EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: the process that embeds it owns SIGINT/SIGTERM and stops the parts in order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


WorkerState = Literal["starting", "running", "stopping"]


class Readiness:
    """What `/readyz` checks; the worker's host tells it when the client is connected and when the worker polls or stops."""

    def __init__(self, store: Store, timeout: timedelta = CHECK_TIMEOUT) -> None:
        self.store = store
        self.timeout = timeout
        self.client: Client | None = None
        self.worker: WorkerState = "starting"

    async def checks(self) -> dict[str, str]:
        """Each check's result, `ok` or why not (no personal data: exception types and states only)."""
        database, temporal = await asyncio.gather(self._database(), self._temporal())
        return {"database": database, "temporal": temporal, "worker": "ok" if self.worker == "running" else self.worker}

    async def _database(self) -> str:
        def select_one() -> None:
            with self.store.engine.connect() as connection:
                connection.execute(text("SELECT 1"))

        try:
            # In a thread: a database that does not answer must not stall the loop the worker runs on.
            await asyncio.wait_for(asyncio.to_thread(select_one), self.timeout.total_seconds())
        except TimeoutError:
            return f"no answer within {self.timeout.total_seconds():g}s"
        except Exception as exc:
            return f"error: {type(exc).__name__}"
        return "ok"

    async def _temporal(self) -> str:
        if self.client is None:
            return "not connected yet"
        try:
            healthy = await self.client.service_client.check_health(timeout=self.timeout)
        except Exception as exc:
            return f"unreachable: {type(exc).__name__}"
        return "ok" if healthy else "unhealthy"


def ops_app(readiness: Readiness) -> Starlette:
    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "alive"})

    async def readyz(_: Request) -> JSONResponse:
        checks = await readiness.checks()
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503)

    async def metrics(_: Request) -> Response:
        body, content_type = exposition()
        return Response(body, media_type=content_type)

    routes = [Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics)]
    return Starlette(routes=routes)


@contextlib.asynccontextmanager
async def serving_ops(address: OpsAddress | None, readiness: Readiness) -> AsyncIterator[EmbeddedServer | None]:
    """Serve the ops port on the running loop for the duration of the block (nothing when `address` is None).

    A port that cannot be bound stops the start (SystemExit naming the setting): an orchestrator probing
    a port nobody serves would restart the worker forever without saying why.
    """
    if address is None:
        yield None
        return
    # Bound here, not by uvicorn: a port already taken is then an error with the setting's name, where uvicorn would
    # exit the process from inside its task with only its own log line.
    sock = socket.socket(socket.AF_INET6 if ":" in address.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((address.host, address.port))
    except OSError as exc:
        sock.close()
        raise SystemExit(
            f"the worker's ops port cannot listen on {address} ({exc.strerror}): free it, or set {WORKER_HTTP_VARIABLE} (off: none)"
        ) from None
    config = uvicorn.Config(ops_app(readiness), log_level="warning", access_log=False, lifespan="off")
    server = EmbeddedServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="journey-worker-ops-http")
    while not server.started and not task.done():
        await asyncio.sleep(0.02)
    if task.done():
        sock.close()
        task.result()  # raises what stopped it
    log.info("worker ops port on http://%s (/healthz, /readyz, /metrics)", address)
    try:
        yield server
    finally:
        server.should_exit = True
        await task
        sock.close()
