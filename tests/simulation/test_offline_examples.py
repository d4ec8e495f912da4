"""Every example journey's test cases come out the same offline as through the real workflow on the time-skipping server.

The offline runner (orchestrator/simulation/offline.py) runs the interpreter's core without Temporal; a
backtest's numbers are only worth something if it decides what the workflow decides. The example journeys'
cases (journeys/tests/) cover every step kind, goals, exit_on, quiet hours, caps, fallbacks, the holdout,
webhooks and awaited events, so each case's whole timeline (steps and their times, messages as rendered,
skipped sends with the gate's reasons, webhook calls, problems, outcome) must be identical on both.
Random journeys are held to the same in test_offline_equivalence.py.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from orchestrator.compiler import compile_file
from orchestrator.simulation import journey_tests
from orchestrator.simulation.offline_simulator import simulate_offline
from orchestrator.simulation.simulator import Simulator

TESTS = Path(__file__).resolve().parents[2] / "journeys" / "tests"


def example_cases() -> list[Any]:
    cases = []
    for path in sorted(TESTS.glob("*.yaml")):
        document = journey_tests.load_test_file(path)
        for case in document["cases"]:
            cases.append(pytest.param(path, document, case, id=f"{path.stem}: {case['name']}"))
    return cases


@pytest.fixture(scope="module")
async def simulator() -> AsyncIterator[Simulator]:
    async with Simulator.start() as simulator:
        yield simulator


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize(("path", "document", "case"), example_cases())
async def test_a_case_runs_the_same_offline_as_on_temporal(
    simulator: Simulator, path: Path, document: dict[str, Any], case: dict[str, Any]
) -> None:
    journey = compile_file((path.parent / document["journey"]).resolve()).journey
    assert journey is not None
    customer = {**(document.get("customer") or {}), **(case.get("customer") or {})}
    start = journey_tests.parse_instant(case.get("start") or document.get("start") or journey_tests.DEFAULT_START)
    horizon = timedelta(seconds=journey_tests.offset_seconds(case["until"])) if "until" in case else journey_tests.DEFAULT_HORIZON
    events = journey_tests.scripted_events(case.get("events") or [])

    live = (await simulator.run(journey, customer, events, start, horizon)).to_dict()
    offline = simulate_offline(journey, customer, events, start, horizon).to_dict()

    assert offline == live, json.dumps({"live": live, "offline": offline}, indent=1)


def test_the_examples_cover_every_step_kind() -> None:
    kinds = set()
    for path in TESTS.glob("*.yaml"):
        journey = compile_file((path.parent / journey_tests.load_test_file(path)["journey"]).resolve()).journey
        assert journey is not None
        kinds |= {step.kind for step in journey.steps}
    assert kinds >= {"send", "wait", "wait_until", "wait_until_date", "wait_for", "branch", "split", "update", "webhook", "exit"}, kinds
