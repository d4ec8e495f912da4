"""Recorded enrollments replay on the current interpreter: a change that would break one in flight fails here.

The histories (made by `record.py`) cover every step kind, goal, exit_on, the holdout
(`holdout`, compiled before goals had a measurement window; `measured_arm` and
`measured_holdout` with one, so an A/B arm also stays after its last step),
quiet-hours holds, duplicate events and continue-as-new at a step and in the
middle of a wait. `findable` ran on the dev server with search attributes, so it holds CurrentStep
upserts, once per path: `findable.json` started on interpreter revision 1 (no patch
marker, no end-step upsert), `findable.patched.json` before it with the
`current-step-when-waiting-local-finish` patch, and `findable.unpatched.json` before that
patch (an upsert at every step, a regular `finish_enrollment` activity), as are all the
time-skipping histories but `awaited`, which started on revision 2: a wait_for's match
remembered for the steps after it, replaced in a loop and carried through continue-as-new;
the `progress_*` ones, which started on revision 3: the journey facts reported by a local
`record_progress` before each block and carried through continue-as-new; and `facts_drip`,
on revision 4: a send records the facts noted before it and the wait it goes to; `moved`, moved onto
another version while it waited (the `move` signal, `journey deploy --migrate`) and asked again, and
`moved.unhandled`, a `move` signal sent to a worker from before its handler, which ignored it.
If this fails after a change to orchestrator/runtime/interpreter.py or workflow.py, the change alters the
commands a running enrollment replays: gate it by the input's revision or with
`workflow.patched` (docs/architecture.md, "Changing the interpreter") instead of re-recording.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from orchestrator.runtime.workflow import JourneyWorkflow

HISTORIES = sorted(Path(__file__).parent.glob("*.json"))


def test_every_step_kind_and_continue_as_new_are_recorded() -> None:
    names = {path.name.split(".")[0] for path in HISTORIES}
    recorded = {"tour", "tour_timeout", "exit_on", "holdout", "measured_arm", "measured_holdout", "continue_as_new", "findable", "awaited"}
    assert recorded | {"progress_tour", "progress_loop", "progress_holdout", "facts_drip", "moved"} <= names
    assert {"findable.json", "findable.patched.json", "findable.unpatched.json"} <= {path.name for path in HISTORIES}
    assert len([p for p in HISTORIES if p.name.startswith("continue_as_new.run")]) >= 2
    assert len([p for p in HISTORIES if p.name.startswith("awaited.run")]) >= 2
    assert len([p for p in HISTORIES if p.name.startswith("progress_loop.run")]) >= 2
    assert len([p for p in HISTORIES if p.name.startswith("facts_drip.run")]) >= 2
    assert len([p for p in HISTORIES if p.name.startswith("moved.run")]) >= 2


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    await Replayer(workflows=[JourneyWorkflow]).replay_workflow(history)
