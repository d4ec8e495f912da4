"""A trigger's `where` that hits a run-time limit on an event: the call is answered, the customer not entered, the API still serving."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from tests.api.support import Stack, compiled

pytestmark = pytest.mark.asyncio(loop_scope="session")

HEAVY_WHERE = """
id: heavy_where
name: Heavy where
trigger:
  event: report_viewed
  where: "(range(event.pages) | map('center', 60000) | list | length) > 0"
steps:
  - id: hello
    send: {channel: email, subject: "Hi", body: "Your report"}
"""
"""60,000 characters built per page the event names: a few pages pass, a hundred take more than the step limit."""


async def test_an_event_whose_trigger_hits_a_limit_is_accepted_without_entering_while_health_answers(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    await stack.deploy(compiled(HEAVY_WHERE))
    await stack.identify("ann", email="ann@example.com")
    caplog.set_level(logging.WARNING, logger="orchestrator.language.run_limits")
    event_loop = threading.get_ident()

    heavy, health = await asyncio.gather(stack.track("ann", "report_viewed", pages=100), stack.http.get("/healthz"))

    assert heavy.status_code == 200, heavy.text
    assert heavy.json()["enrolled"] == []  # the `where` failed on this event, so it is false
    assert health.status_code == 200
    (stopped,) = [r for r in caplog.records if r.name == "orchestrator.language.run_limits"]
    assert "journey id heavy_where" in stopped.getMessage() and "more than 1000000 steps" in stopped.getMessage()
    assert "ann" not in stopped.getMessage()
    assert stopped.thread != event_loop  # evaluated in the API's thread pool, never on its event loop
    assert (await stack.track("ann", "report_viewed", pages=3)).json()["enrolled"]
