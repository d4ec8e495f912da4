"""A worker's view of a Temporal outage: one line as it begins, one as it ends, however long it lasts."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import pytest

from orchestrator.routing import outage


class FlakyHealth:
    """Temporal's health check as a script: unhealthy for `down` checks after the first, then healthy."""

    def __init__(self, down: int) -> None:
        self.answers = [True] + [False] * down
        self.checks = 0

    async def __call__(self, **_: Any) -> bool:
        self.checks += 1
        return self.answers.pop(0) if self.answers else True


@pytest.mark.asyncio
async def test_an_outage_is_logged_once_as_it_begins_and_once_as_it_ends(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(outage, "PROBE_SECONDS", 0.01)
    health = FlakyHealth(down=20)
    client = SimpleNamespace(service_client=SimpleNamespace(config=SimpleNamespace(target_host="temporal:7233"), check_health=health))
    with caplog.at_level(logging.WARNING, logger="orchestrator.routing.outage"):
        watching = asyncio.create_task(outage.watch(client, every=0.01))  # type: ignore[arg-type]
        for _ in range(500):
            if health.checks > 25:
                break
            await asyncio.sleep(0.01)
        watching.cancel()
    messages = [record.getMessage() for record in caplog.records]
    assert health.checks > 21  # the probe asked through the whole outage
    assert len(messages) == 2, messages
    assert messages[0] == "Temporal at temporal:7233 is unreachable: the worker's tasks wait until it answers"
    assert messages[1].startswith("Temporal at temporal:7233 answers again, after ")
