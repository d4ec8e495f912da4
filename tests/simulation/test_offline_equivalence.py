"""Random journeys run the same offline as through the real workflow on the time-skipping server.

The offline runner (orchestrator/simulation/offline.py) is the interpreter's core under a discrete-event
clock; `journey backtest` and `journey plan` trust it to decide what the workflow decides. Each case
(tests/simulation/runnable_journeys.py: a random valid journey, customer and event script, from a seed)
is run both ways, `Simulator.run` and `simulate_offline`, and the whole timelines must be identical:
steps with their times, what the wait_for steps matched, messages as rendered, skipped sends with the
gate's reasons, webhook calls, problems and the outcome with its reason.

CI runs the first `EXAMPLES` seeds and a few more kept for what they reach (`KEPT`), the same ones every
time; the last tests below check that those cases still cover every step kind and outcome, and that no
event of any case ties a timer (runnable_journeys.py says why that matters). Explore further locally:

    JOURNEY_EQUIVALENCE_SEEDS=1000-3000 pytest -p no:cacheprovider tests/simulation/test_offline_equivalence.py

A failure prints the case (journey file, customer, events) and both timelines, and names its seed: run
`JOURNEY_EQUIVALENCE_SEEDS=<seed>` to repeat it alone.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator import ir
from orchestrator.compiler import compile_text, format_diagnostics
from orchestrator.simulation.offline_simulator import simulate_offline
from orchestrator.simulation.simulator import Simulator
from tests.simulation.runnable_journeys import Case, case, write_templates

EXAMPLES = 60
"""Cases CI runs: the time-skipping server takes a fraction of a second for each."""
KEPT = (71, 81)
"""Seeds beyond the first `EXAMPLES` that CI runs too, for what they reach that the first ones do not: 71 sends
a French variant of a template file, 81 is still waiting when the simulation ends."""


def ci_seeds() -> list[int]:
    return [*range(EXAMPLES), *KEPT]


def seeds() -> list[int]:
    """`JOURNEY_EQUIVALENCE_SEEDS`: `N` or `FIRST-LAST` (inclusive); default `ci_seeds()`."""
    chosen = os.environ.get("JOURNEY_EQUIVALENCE_SEEDS", "")
    if not chosen:
        return ci_seeds()
    first, _, last = chosen.partition("-")
    return list(range(int(first), int(last or first) + 1))


@pytest.fixture(scope="module")
async def simulator() -> AsyncIterator[Simulator]:
    async with Simulator.start() as simulator:
        yield simulator


@pytest.fixture(scope="module")
def journeys_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the generated journeys live: their template files are there."""
    folder = tmp_path_factory.mktemp("journeys")
    write_templates(folder)
    return folder


def compiled(generated: Case, folder: Path) -> ir.Journey:
    result = compile_text(generated.journey_yaml(), file="generated.yaml", directory=folder)
    assert result.journey is not None, f"{generated.describe()}\n{format_diagnostics(list(result.diagnostics), 'text')}"
    return result.journey


def mismatch(generated: Case, live: dict[str, Any], offline: dict[str, Any]) -> str:
    """Everything needed to see and repeat a difference: the case, then both timelines."""
    differing = [key for key in live if live[key] != offline.get(key)]
    return "\n".join(
        [
            f"the timelines differ in {differing}; repeat with JOURNEY_EQUIVALENCE_SEEDS={generated.seed}",
            generated.describe(),
            "on the time-skipping server:",
            json.dumps(live, indent=1, ensure_ascii=False),
            "offline:",
            json.dumps(offline, indent=1, ensure_ascii=False),
        ]
    )


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("seed", seeds())
async def test_a_random_journey_runs_the_same_offline_as_on_temporal(simulator: Simulator, journeys_folder: Path, seed: int) -> None:
    generated = case(seed)
    journey = compiled(generated, journeys_folder)

    live = (await simulator.run(journey, generated.customer, generated.events, generated.start)).to_dict()
    offline = simulate_offline(journey, generated.customer, generated.events, generated.start).to_dict()

    assert offline == live, mismatch(generated, live, offline)


def test_the_cases_ci_runs_have_every_step_kind_trigger_and_setting(journeys_folder: Path) -> None:
    journeys = [compiled(case(seed), journeys_folder) for seed in ci_seeds()]
    steps = [step for journey in journeys for step in journey.steps]
    kinds = {step.kind for step in steps}
    assert kinds == {"send", "wait", "wait_until", "wait_until_date", "wait_for", "branch", "split", "update", "webhook", "exit"}, kinds
    assert {journey.trigger.kind for journey in journeys} == {"event", "segment", "schedule"}
    assert any(journey.settings.quiet_hours for journey in journeys)
    assert any(journey.settings.frequency_cap for journey in journeys)
    assert any(journey.goal and journey.goal.within_seconds for journey in journeys)
    assert any(journey.exit_on for journey in journeys)
    sends = [step for step in steps if isinstance(step, ir.SendStep)]
    assert any(send.fallback for send in sends) and any(send.variants for send in sends)
    assert {send.category for send in sends} == {"marketing", "transactional"}
    assert any(isinstance(step, ir.WaitForStep) and step.remembered and step.timeout_next for step in steps)
    assert any(isinstance(step, ir.SplitStep) and step.holdout_weight for step in steps)
    assert any(isinstance(step, ir.BranchStep) and step.id == "again" for step in steps), "no bounded loop"
    names = {event.name for seed in ci_seeds() for event in case(seed).events}
    assert {"identify", "page_viewed"} <= names


def test_the_cases_ci_runs_reach_every_outcome(journeys_folder: Path) -> None:
    """Checked offline (milliseconds a case): what the equivalence holds the two runs to must be there to compare."""
    timelines = [simulate_offline(compiled(generated, journeys_folder), generated.customer, generated.events, generated.start).to_dict()
                 for generated in map(case, ci_seeds())]
    assert {t["outcome"]["status"] for t in timelines} == {"not_entered", "completed", "converted", "exited", "holdout", "waiting"}
    messages = [m for t in timelines for m in t["messages"]]
    assert {m["channel"] for m in messages} == {"email", "sms", "push"}
    assert any("due" in m for m in messages), "no message held by quiet hours or the SMS window"
    assert any("Bonjour" in m["body"] for m in messages), "no locale variant"
    reasons = " / ".join(s["reason"] for t in timelines for s in t["skipped"])
    for reason in ("no consent", "frequency cap", "template error", "has no"):
        assert reason in reasons
    assert {p["field"] for t in timelines for p in t["problems"]} >= {"until_date", "url", "timezone"}
    assert any(t["webhooks"] for t in timelines) and any(t["awaited"] for t in timelines)


def test_no_event_ties_a_timer(journeys_folder: Path) -> None:
    """Starts and every duration are whole minutes (times of day and dates are); events fall on distinct odd seconds."""
    for seed in range(200):
        generated = case(seed)
        journey = compiled(generated, journeys_folder)
        assert generated.start.second == 0 and generated.start.microsecond == 0
        seconds = [event.offset_seconds % 60 for event in generated.events]
        assert all(second % 2 == 1 for second in seconds) and len(set(seconds)) == len(seconds), (seed, seconds)
        durations = [journey.goal.within_seconds, journey.goal.measure_seconds] if journey.goal else []
        durations += [journey.settings.frequency_cap.per_seconds] if journey.settings.frequency_cap else []
        for step in journey.steps:
            match step:
                case ir.WaitStep():
                    durations.append(step.seconds)
                case ir.WaitForStep():
                    durations.append(step.within_seconds)
                case ir.WaitUntilDateStep():
                    durations.append(step.offset_seconds)
        assert all(duration % 60 == 0 for duration in durations if duration is not None), (seed, durations)
