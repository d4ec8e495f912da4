"""A simulation delivers each scripted event at its instant, and starts the enrollment at its own, however long the
simulation worked before.

Between the skips the simulator asks for, the time-skipping server's clock runs in real time, so every
signal, activity and store write of the simulation moves it on. Skipped by the distance between two
events, each event arrived later than the one before by all the real time spent so far: after a few
hundred events whose `where` runs in an activity, the last one came seconds late, and the steps it led to
with it. The simulator's clock now skips to the instant asked from wherever the server's clock is, and the
enrollment's clock is set when it starts, not when the simulation did: the real time spent before the entry
(the worker starting, the entry decision, store writes; a second or more on a loaded machine) made every step
late.
"""

from __future__ import annotations

import asyncio
import textwrap
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from orchestrator.compiler import compile_text
from orchestrator.routing.entry import Decision
from orchestrator.simulation import live_script
from orchestrator.simulation.live_script import server_clock
from orchestrator.simulation.script import ScriptedEvent
from orchestrator.simulation.simulator import Simulator

WELCOME = """
id: welcome
name: Welcome
trigger: {event: signed_up}
steps:
  - id: hello
    send: {channel: email, subject: "Hello", body: "<p>Welcome</p>"}
  - id: nap
    wait: 1h
  - id: again
    send: {channel: email, subject: "Still there?", body: "<p>Hello again</p>"}
"""


@pytest.fixture(scope="module")
async def simulator() -> AsyncIterator[Simulator]:
    async with Simulator.start() as simulator:
        yield simulator


@pytest.mark.asyncio(loop_scope="session")
async def test_the_clock_reaches_the_instant_asked_whatever_real_time_the_simulation_spent(simulator: Simulator) -> None:
    async with server_clock(simulator.env) as clock:
        await clock.advance_to(60)
        await asyncio.sleep(1.5)  # what a few hundred events cost a simulation in real time, during which the server's clock runs on
        await clock.advance_to(3600)
        reached = await simulator.env.get_current_time() - clock.origin

    assert timedelta(hours=1) <= reached < timedelta(hours=1, seconds=1)


@pytest.mark.asyncio(loop_scope="session")
async def test_the_enrollment_starts_at_its_instant_however_long_the_entry_took(
    simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    decide = live_script.decide_entry

    def slow_decision(*args: Any) -> Decision:
        time.sleep(1.5)  # a loaded machine: the server's clock runs on meanwhile
        return decide(*args)

    monkeypatch.setattr(live_script, "decide_entry", slow_decision)
    journey = compile_text(textwrap.dedent(WELCOME), file="welcome.yaml", directory=Path.cwd()).journey
    assert journey is not None

    timeline = await simulator.run(
        journey, {"id": "c-1", "email": "ann@example.com"}, [ScriptedEvent(0, "signed_up")], datetime(2026, 2, 2, 9, tzinfo=UTC)
    )

    assert timeline.steps == [
        {"step": "hello", "at": "2026-02-02T09:00:00Z"},
        {"step": "nap", "at": "2026-02-02T09:00:00Z"},
        {"step": "again", "at": "2026-02-02T10:00:00Z"},
    ]
