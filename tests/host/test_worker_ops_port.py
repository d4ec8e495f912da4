"""`journey worker`'s ops port (JOURNEY_WORKER_HTTP): alive while it waits for Temporal, ready once it polls, gone when it stops."""

from __future__ import annotations

import asyncio
import shutil
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from orchestrator.host.devserver import free_port
from orchestrator.host.devstack import run_worker
from orchestrator.host.ops_server import DEFAULT_WORKER_HTTP, OpsAddress, Readiness, parse_ops_address, serving_ops
from orchestrator.host.settings import SettingsError, WorkerSettings
from orchestrator.store import Store
from tests.keys import KEYS_ENVIRONMENT


async def answered(url: str, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        return await http.get(path)


async def until(probe: Callable[[], Awaitable[bool]], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not await probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


@asynccontextmanager
async def worker_process(tmp_path: Path, temporal_address: str) -> AsyncIterator[str]:
    """`run_worker` as `journey worker` runs it, with its ops port on a free port; cancelled (stopped) at the end."""
    port = free_port()
    environment = {
        **KEYS_ENVIRONMENT,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'journey.db'}",
        "TEMPORAL_ADDRESS": temporal_address,
        "JOURNEY_WORKER_HTTP": f"127.0.0.1:{port}",
    }
    task = asyncio.create_task(run_worker(WorkerSettings.read(environment), task_queue=f"ops-{port}"))
    url = f"http://127.0.0.1:{port}"

    async def serving() -> bool:
        if task.done():
            task.result()  # raises what stopped it
        try:
            return (await answered(url, "/healthz")).status_code == 200
        except httpx.TransportError:
            return False

    try:
        await until(serving, "the ops port")
        yield url
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    with pytest.raises(httpx.ConnectError):  # the port stops with the worker
        await answered(url, "/healthz")


async def test_a_worker_waiting_for_temporal_is_alive_but_not_ready(tmp_path: Path) -> None:
    async with worker_process(tmp_path, f"127.0.0.1:{free_port()}") as url:  # nobody listens there
        assert (await answered(url, "/healthz")).json() == {"status": "alive"}
        ready = await answered(url, "/readyz")
        assert ready.status_code == 503
        assert ready.json() == {
            "status": "not ready",
            "checks": {"database": "ok", "temporal": "not connected yet", "worker": "starting"},
        }


async def test_a_worker_polling_its_queue_is_ready_and_serves_metrics(tmp_path: Path, temporal: Client) -> None:
    async with worker_process(tmp_path, temporal.service_client.config.target_host) as url:

        async def ready() -> bool:
            return (await answered(url, "/readyz")).status_code == 200

        await until(ready, "/readyz to answer 200")
        assert (await answered(url, "/readyz")).json() == {
            "status": "ready",
            "checks": {"database": "ok", "temporal": "ok", "worker": "ok"},
        }
        metrics = await answered(url, "/metrics")
        assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
        assert "# TYPE journey_sends_total counter" in metrics.text
        assert "# TYPE journey_provider_request_seconds histogram" in metrics.text
        # The Temporal SDK's own, through the runtime's metric buffer (orchestrator/host/temporal_metrics.py).
        assert "# TYPE temporal_worker_start_total counter" in metrics.text
        assert "temporal_num_pollers{" in metrics.text
        assert "temporal_request_latency_bucket{" in metrics.text


async def test_with_the_database_gone_the_worker_is_not_ready(tmp_path: Path, temporal: Client) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    store = Store(f"sqlite:///{folder / 'journey.db'}")
    store.migrate()
    readiness = Readiness(store)
    readiness.client, readiness.worker = temporal, "running"
    address = OpsAddress("127.0.0.1", free_port())
    try:
        async with serving_ops(address, readiness):
            url = f"http://{address}"
            assert (await answered(url, "/readyz")).status_code == 200
            store.dispose()  # no pooled connection survives: the next check opens the file anew
            shutil.rmtree(folder)
            gone = await answered(url, "/readyz")
            assert gone.status_code == 503
            assert gone.json()["checks"] == {"database": "error: OperationalError", "temporal": "ok", "worker": "ok"}
            assert (await answered(url, "/healthz")).status_code == 200  # alive: a restart would not bring the database back
    finally:
        store.dispose()


def test_the_ops_address_is_read_from_the_environment() -> None:
    assert WorkerSettings.read(KEYS_ENVIRONMENT).ops_http == DEFAULT_WORKER_HTTP == OpsAddress("127.0.0.1", 9464)
    assert WorkerSettings.read(KEYS_ENVIRONMENT | {"JOURNEY_WORKER_HTTP": "0.0.0.0:9100"}).ops_http == OpsAddress("0.0.0.0", 9100)
    assert WorkerSettings.read(KEYS_ENVIRONMENT | {"JOURNEY_WORKER_HTTP": "off"}).ops_http is None
    assert parse_ops_address("9200") == OpsAddress("127.0.0.1", 9200)
    with pytest.raises(SettingsError, match=r"JOURNEY_WORKER_HTTP='localhost'.*host:port"):
        WorkerSettings.read(KEYS_ENVIRONMENT | {"JOURNEY_WORKER_HTTP": "localhost"})


async def test_a_port_already_taken_stops_the_start_naming_the_setting(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'journey.db'}")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = OpsAddress("127.0.0.1", taken.getsockname()[1])
        with pytest.raises(SystemExit, match="JOURNEY_WORKER_HTTP"):
            async with serving_ops(address, Readiness(store)):
                pass
    store.dispose()
