"""`journey dev` keeps its Temporal dev server running: a server that dies is restarted, one that keeps dying ends the stack."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from orchestrator.host import devstack
from orchestrator.host.devserver import DevServerError


@dataclass
class FakeServer:
    """Dies after each start as often as `deaths` says (None: never dies again)."""

    deaths: list[int | None]
    starts: int = 0
    data_dir: Path = Path("/data")
    log_path: Path = Path("/data/temporal.log")
    address: str = "127.0.0.1:7233"
    waited: list[int] = field(default_factory=list)

    def exit_code(self) -> int | None:
        return self.deaths[self.starts] if self.starts < len(self.deaths) else None

    def start(self) -> None:
        self.starts += 1

    async def wait_ready(self) -> Any:
        self.waited.append(self.starts)

    def log_tail(self) -> str:
        return "panic: database disk image is malformed"


async def test_a_dead_server_is_restarted_once_and_said_so(caplog: pytest.LogCaptureFixture) -> None:
    server = FakeServer(deaths=[-9, None])
    with caplog.at_level(logging.WARNING), pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await devstack._keep_running(server, every=0.01)  # type: ignore[arg-type]
    assert server.starts == 1 and server.waited == [1]
    assert [r.getMessage() for r in caplog.records] == [
        "the Temporal dev server exited (code -9); restarting it, its state is kept in /data",
        "the Temporal dev server is back on 127.0.0.1:7233",
    ]


async def test_a_server_that_keeps_dying_ends_the_stack_with_its_log() -> None:
    server = FakeServer(deaths=[1] * 10)
    with pytest.raises(DevServerError, match=r"(?s)keeps exiting \(code 1, 3 restarts within 60s\).*database disk image is malformed"):
        await devstack._keep_running(server, every=0.01)  # type: ignore[arg-type]
    assert server.starts == devstack.SERVER_RESTARTS
