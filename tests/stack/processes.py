"""`journey worker`, `journey api` and `journey deploy` as real subprocesses, and the Temporal dev server they share.

The reliability tests run the parts of a deployment the way docs/deploy.md does:
separate processes configured by environment (TEMPORAL_ADDRESS, DATABASE_URL,
TEMPORAL_TASK_QUEUE, JOURNEY_API_KEYS), so a SIGKILL hits one process only.
Every process started here is registered with a `Processes`, whose `close` (in
a fixture's `finally`) kills what is still running: no test leaves an orphan.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from orchestrator.host.devserver import DevServer, free_port
from tests.keys import KEYS_ENVIRONMENT

T = TypeVar("T")
P = TypeVar("P", bound="JourneyProcess")


def eventually(probe: Callable[[], T], *, timeout: float, what: str, every: float = 0.1, explain: Callable[[], object] | None = None) -> T:
    """Poll `probe` until it returns something truthy; fail saying `what` was awaited (and `explain()`, if given)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            state = explain() if explain is not None else value
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last seen: {state!r}")
        time.sleep(every)


def process_gone(pid: int) -> bool:
    """The process has exited (a zombie nobody reaped yet counts as gone)."""
    try:
        return "\nState:\tZ" in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True


def start_temporal(data_dir: Path, port: int | None = None) -> DevServer:
    """A headless dev server persisted in `data_dir/temporal.db`, answering."""
    server = DevServer(data_dir, port=port or free_port(), ui_port=None)
    server.start()
    try:
        asyncio.run(server.wait_ready())
    except BaseException:
        server.stop()
        raise
    return server


def pollers(address: str, task_queue: str) -> list[str]:
    """The identities of the workers polling `task_queue` for workflow tasks (dead ones linger for a while)."""

    async def ask() -> list[str]:
        client = await Client.connect(address)
        request = DescribeTaskQueueRequest(
            namespace=client.namespace, task_queue=TaskQueue(name=task_queue), task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW
        )
        answer = await client.workflow_service.describe_task_queue(request)
        return [poller.identity for poller in answer.pollers]

    return asyncio.run(ask())


def wait_polling(worker: JourneyProcess, deployment: Deployment, timeout: float = 60.0) -> None:
    """Until `worker` polls the deployment's task queue (its SDK identity is pid@host)."""
    identity = f"{worker.pid}@"

    def polling() -> bool:
        if not worker.running:
            raise AssertionError(f"journey worker exited:\n{worker.log_tail()}")
        return any(poller.startswith(identity) for poller in pollers(deployment.temporal_address, deployment.task_queue))

    eventually(polling, timeout=timeout, what="journey worker to poll its task queue", every=0.2)


@dataclass(frozen=True)
class Deployment:
    """Where the subprocesses of one test run: one Temporal, one store (SQLite unless `database_url`), one task queue of its own."""

    root: Path
    temporal_address: str
    task_queue: str = field(default_factory=lambda: f"stack-{uuid.uuid4().hex[:12]}")
    api_key: str = "stack-test-key"
    database_url: str | None = None
    """PostgreSQL's; None: SQLite in `root` (`database`)."""

    @property
    def database(self) -> Path:
        return self.root / "journey.db"

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "JOURNEY_")) and k != "DATABASE_URL"}
        env.update(
            TEMPORAL_ADDRESS=self.temporal_address,
            TEMPORAL_TASK_QUEUE=self.task_queue,
            DATABASE_URL=self.database_url or f"sqlite:///{self.database}",
            JOURNEY_API_KEYS=self.api_key,
            **KEYS_ENVIRONMENT,  # every process encrypts with the same payload keys and keys ids with the same secret
        )
        return env

    def deploy(self, folder: Path) -> str:
        """`journey deploy FOLDER --prune`; returns its output."""
        command = [sys.executable, "-m", "orchestrator", "deploy", str(folder), "--prune"]
        done = subprocess.run(command, env=self.environment(), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"journey deploy failed ({done.returncode}):\n{done.stdout}{done.stderr}"
        return done.stdout


@dataclass
class JourneyProcess:
    """One long-running `journey ...` subprocess; its output goes to a log file, shown when a test fails."""

    name: str
    command: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    def start(self) -> None:
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(self.command, env=self.env, stdout=self._log, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL and reap: the process gets no chance to finish anything."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self._close_log()

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM, as a process manager stops a service; returns the exit code (SIGKILL if it hangs)."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(f"{self.name} did not stop within {timeout}s:\n{self.log_tail()}") from None
        self._close_log()
        return self.process.returncode

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


@dataclass
class ApiProcess(JourneyProcess):
    """`journey api` on a free port, with the deployment's API key."""

    port: int = 0
    api_key: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60.0) -> None:
        def answers() -> bool:
            if not self.running:
                raise AssertionError(f"journey api exited:\n{self.log_tail()}")
            try:
                return httpx.get(self.url + "/healthz", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        eventually(answers, timeout=timeout, what="journey api to answer /healthz")

    def request(self, method: str, path: str, payload: dict[str, Any] | None = None, *, timeout: float = 60.0) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        return httpx.request(method, self.url + path, json=payload, headers=headers, timeout=timeout)

    def post(self, path: str, payload: dict[str, Any]) -> httpx.Response:
        return self.request("POST", path, payload)

    def get(self, path: str) -> httpx.Response:
        return self.request("GET", path)

    def messages(self, customer_id: str) -> list[dict[str, Any]]:
        answer = self.get(f"/v1/customers/{customer_id}/messages")
        assert answer.status_code == 200, answer.text
        messages: list[dict[str, Any]] = answer.json()["messages"]
        return messages

    def journeys(self, customer_id: str) -> list[dict[str, Any]]:
        answer = self.get(f"/v1/customers/{customer_id}/journeys")
        assert answer.status_code == 200, answer.text
        journeys: list[dict[str, Any]] = answer.json()["journeys"]
        return journeys


@dataclass
class Processes:
    """The subprocesses a test started; `close` kills those still running."""

    log_dir: Path
    started: list[JourneyProcess] = field(default_factory=list)

    def worker(self, deployment: Deployment, *, wait: bool = True) -> JourneyProcess:
        """`journey worker`; with `wait`, once it polls the deployment's task queue."""
        command = [sys.executable, "-m", "orchestrator", "worker"]
        environment = deployment.environment() | {"JOURNEY_WORKER_HTTP": f"127.0.0.1:{free_port()}"}  # its own ops port
        worker = self._start(JourneyProcess("journey worker", command, environment, self._log("worker")))
        if wait:
            wait_polling(worker, deployment)
        return worker

    def api(self, deployment: Deployment, *, wait: bool = True) -> ApiProcess:
        """`journey api` on a free port; with `wait`, once it answers."""
        port = free_port()
        command = [sys.executable, "-m", "orchestrator", "api", "--host", "127.0.0.1", "--port", str(port)]
        api = ApiProcess("journey api", command, deployment.environment(), self._log("api"), port=port, api_key=deployment.api_key)
        self._start(api)
        if wait:
            api.wait_ready()
        return api

    def deployment(self, deployment: Deployment, journeys: Path) -> tuple[ApiProcess, JourneyProcess]:
        """A worker, `journey deploy JOURNEYS`, then the API (which reads the active journeys when it starts).

        The processes start side by side (each spends a second or two importing), and are ready on return.
        """
        worker = self.worker(deployment, wait=False)
        deployment.deploy(journeys)
        api = self.api(deployment, wait=False)
        api.wait_ready()
        wait_polling(worker, deployment)
        return api, worker

    def close(self) -> None:
        """SIGKILL and reap every process still running (after a failed test, or an API nobody stopped)."""
        for process in self.started:
            if process.running:
                process.kill()
            process._close_log()

    def _start(self, process: P) -> P:
        self.started.append(process)
        process.start()
        return process

    def _log(self, name: str) -> Path:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        return self.log_dir / f"{name}-{len(self.started) + 1}.log"
