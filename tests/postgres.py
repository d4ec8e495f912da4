"""A throwaway PostgreSQL server for tests: initdb in a temp folder, one server per test session.

Uses the server binaries of the Debian `postgresql` package (`/usr/lib/postgresql/<major>/bin`).
initdb refuses to run as root, so when the tests run as root the server runs as the `postgres`
user (through `runuser`) in a folder that user owns. The server listens on 127.0.0.1 on a free
port, keeps its unix socket in its own folder, trusts local connections and never fsyncs: it is
fast, private to the test session, and deleted when the session ends.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

BINARY_GLOB = "/usr/lib/postgresql/*/bin"
SERVER_USER = "postgres"
START_TIMEOUT_S = 30
SHM_MIN_FREE = 1 << 30


def find_binaries() -> Path | None:
    """The bin folder of the newest installed PostgreSQL that has initdb and pg_ctl, if any."""
    candidates = [Path(p) for p in glob.glob(BINARY_GLOB) if (Path(p) / "initdb").exists() and (Path(p) / "pg_ctl").exists()]
    # Folders are named by major version ("15", "16"): newest first, numerically.
    candidates.sort(key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else -1, reverse=True)
    return candidates[0] if candidates else None


@dataclass
class PostgresServer:
    """A running server; `create_database` hands each test a fresh, empty database."""

    bin_dir: Path
    root: Path
    port: int
    host: str = "127.0.0.1"
    user: str = SERVER_USER

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def url(self, database: str) -> str:
        """A SQLAlchemy URL (the store picks the psycopg driver for plain `postgresql://`)."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database with a unique name; returns its name."""
        name = f"test_{uuid.uuid4().hex}"
        self._admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name

    def drop_database(self, name: str) -> None:
        # FORCE: a connection a test leaked must not keep the database (and the server) alive.
        self._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def stop(self) -> None:
        try:
            _run(self.bin_dir / "pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _admin(self, statement: sql.Composed) -> None:
        with psycopg.connect(host=self.host, port=self.port, user=self.user, dbname="postgres", autocommit=True) as connection:
            connection.execute(statement)


def start_server() -> PostgresServer:
    """initdb and start a server; raises RuntimeError (with the server log) if it does not come up."""
    bin_dir = find_binaries()
    if bin_dir is None:
        raise RuntimeError(f"no PostgreSQL server binaries under {BINARY_GLOB}")
    root = Path(tempfile.mkdtemp(prefix="journey-postgres-", dir=_server_parent()))
    if os.geteuid() == 0:
        account = pwd.getpwnam(SERVER_USER)
        os.chown(root, account.pw_uid, account.pw_gid)
    data, log = root / "data", root / "server.log"
    try:
        _run(bin_dir / "initdb", "-D", str(data), "-U", SERVER_USER, "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync")
        port = _free_port()
        options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root} -c fsync=off"
        options += " -c synchronous_commit=off -c full_page_writes=off"
        try:
            _run(bin_dir / "pg_ctl", "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", str(START_TIMEOUT_S), "start")
        except RuntimeError as exc:
            server_log = log.read_text(errors="replace") if log.exists() else "(no log)"
            with contextlib.suppress(RuntimeError):  # it may have started after the wait gave up
                _run(bin_dir / "pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
            raise RuntimeError(f"{exc}\nserver log:\n{server_log}") from None
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return PostgresServer(bin_dir=bin_dir, root=root, port=port)


def _server_parent() -> str | None:
    """Where the server's folder goes: memory (/dev/shm) when it has room, else the temp folder.

    Even with fsync off, CREATE DATABASE takes ~0.3 s on a disk and ~0.02 s in memory, and
    every test makes one. Docker's default /dev/shm is only 64 MB, hence the check.
    """
    shm = "/dev/shm"
    try:
        if os.access(shm, os.W_OK) and shutil.disk_usage(shm).free >= SHM_MIN_FREE:
            return shm
    except OSError:
        pass
    return None


def _run(*command: str | Path) -> None:
    args = [str(part) for part in command]
    if os.geteuid() == 0:
        args = ["runuser", "-u", SERVER_USER, "--", *args]
    done = subprocess.run(args, capture_output=True, text=True, cwd="/", check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed with exit code {done.returncode}:\n{done.stdout}{done.stderr}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
