"""`journey dev` as a real subprocess on free ports, for end-to-end and reliability tests."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from orchestrator.host.devserver import free_port

SHORT_CART = """\
id: quick_cart
name: Abandoned cart (seconds instead of hours)
trigger: {event: checkout_started, where: "event.cart_value >= 20"}
goal: {event: order_completed, within: 1h}
steps:
  - id: wait_a_moment
    wait: 2s
  - id: reminder
    send:
      channel: email
      subject: "{{ customer.first_name | default('Hi') }}, you left {{ event.cart_value }} behind"
      body: "Your cart: {{ event.cart_url }}"
  - id: opened
    wait_for: {event: email_opened, within: 3s, timeout_next: nudge}
    next: end
  - id: nudge
    send: {channel: email, subject: "Still thinking?", body: "Your cart is saved."}
"""


@dataclass
class DevStack:
    """One `journey dev` process: start, talk to its API, stop with Ctrl-C (SIGINT)."""

    folder: Path
    data_dir: Path
    api_port: int = field(default_factory=free_port)
    temporal_port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    """More environment for the process (provider credentials and base URLs...)."""
    process: subprocess.Popen[str] | None = None
    output: list[str] = field(default_factory=list)
    _reader: threading.Thread = field(init=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    def start(self, timeout: float = 90.0) -> None:
        command = [sys.executable, "-m", "orchestrator", "dev", str(self.folder), "--data-dir", str(self.data_dir)]
        command += ["--port", str(self.api_port), "--temporal-port", str(self.temporal_port), "--headless"]
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "JOURNEY_API_KEYS")} | self.env
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        # A thread drains the output for the whole life of the process: a full pipe would block it.
        lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, args=(lines,), daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                raise AssertionError(f"journey dev exited ({self.process.wait()}):\n{self.text}")
            if line.startswith("Ctrl-C stops everything"):
                return
        raise AssertionError(f"journey dev did not start within {timeout}s:\n{self.text}")

    def _read(self, lines: queue.Queue[str | None]) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            lines.put(line)
        lines.put(None)

    @property
    def text(self) -> str:
        """Everything the process printed so far."""
        return "".join(self.output)

    def stop(self, timeout: float = 60.0) -> int:
        """Ctrl-C, as a user would; returns the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"journey dev did not stop within {timeout}s:\n{self.text}") from None
        self._reader.join(10)
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL `journey dev` and the Temporal server it started (cleanup after a failed test)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        server = temporal_server_pid(self.data_dir)
        if server is not None:
            os.kill(server, signal.SIGKILL)

    def close(self) -> None:
        """Stop the stack whatever state it is in: Ctrl-C, then SIGKILL if it does not stop."""
        if self.process is None:
            return
        try:
            self.stop(timeout=30)
        except AssertionError:
            pass  # killed by stop()
        finally:
            self.kill()

    def post(self, path: str, payload: dict[str, Any]) -> httpx.Response:
        return httpx.post(self.url + path, json=payload, timeout=30)

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, timeout=30)

    def wait_for(self, path: str, predicate: Any, timeout: float = 60.0) -> Any:
        """Poll GET `path` until `predicate(json)` holds; returns the JSON."""
        deadline = time.monotonic() + timeout
        body: Any = None
        while time.monotonic() < deadline:
            response = self.get(path)
            if response.status_code == 200:
                body = response.json()
                if predicate(body):
                    return body
            time.sleep(0.2)
        raise AssertionError(f"GET {path} never satisfied the condition; last answer: {body}")


def temporal_server_pid(data_dir: Path) -> int | None:
    """The pid of a live `temporal server start-dev` whose database is in `data_dir`, if there is one."""
    database = str((data_dir / "temporal.db").resolve()).encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            zombie = "\nState:\tZ" in (proc / "status").read_text()
        except OSError:
            continue
        if b"start-dev" in cmdline and database in cmdline and not zombie:
            return int(proc.name)
    return None
