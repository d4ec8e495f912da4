"""A simulation delivers each scripted event at its instant, however long the simulation worked before it.

Between the skips the simulator asks for, the time-skipping server's clock runs in real time, so every
signal, activity and store write of the simulation moves it on. Skipped by the distance between two
events, each event arrived later than the one before by all the real time spent so far: after a few
hundred events whose `where` runs in an activity, the last one came seconds late, and the steps it led to
with it. The simulator's clock now skips to the instant asked from wherever the server's clock is.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from orchestrator.simulation.simulator import Simulator, _clock


@pytest.fixture(scope="module")
async def simulator() -> AsyncIterator[Simulator]:
    async with Simulator.start() as simulator:
        yield simulator


@pytest.mark.asyncio(loop_scope="session")
async def test_the_clock_reaches_the_instant_asked_whatever_real_time_the_simulation_spent(simulator: Simulator) -> None:
    async with _clock(simulator.env) as clock:
        await clock.advance_to(60)
        await asyncio.sleep(1.5)  # what a few hundred events cost a simulation in real time, during which the server's clock runs on
        await clock.advance_to(3600)
        reached = await simulator.env.get_current_time() - clock.origin

    assert timedelta(hours=1) <= reached < timedelta(hours=1, seconds=1)
