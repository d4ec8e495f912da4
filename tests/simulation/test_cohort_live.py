"""Through the stack: a cohort on the time-skipping server gives every member what a lone enrollment gives them.

The example journeys' cases that enter together run as one `JourneyCohort` (cohort_cases.py: the grouping
test_cohort_offline.py uses), with the real batch activities on a throwaway store; each member's timeline,
read from the store, the recorded sends and webhook calls and the `member_status` query, must equal
`Simulator.run` of its case alone (the real `JourneyWorkflow`). And a cohort that continues as new, its
history limit lowered, keeps every member's outcome.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle

from orchestrator.simulation.simulator import Simulator
from tests.simulation.cohort_cases import TESTS, cohorts_of, example_files


@pytest.fixture(scope="module")
async def simulator() -> AsyncIterator[Simulator]:
    async with Simulator.start() as simulator:
        yield simulator


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("path", example_files(), ids=lambda path: path.stem)
async def test_every_member_of_a_cohort_gets_what_it_gets_alone(simulator: Simulator, path: Path) -> None:
    for group in cohorts_of(path):
        together = await simulator.run_cohort(group.journey, group.members, group.start)

        for name, member, timeline in zip(group.names, group.members, together, strict=True):
            alone = (await simulator.run(group.journey, member.customer, member.events, group.start, member.horizon)).to_dict()
            assert timeline.to_dict() == alone, json.dumps({"case": name, "cohort": timeline.to_dict(), "alone": alone}, indent=1)


@pytest.mark.asyncio(loop_scope="session")
async def test_a_cohort_that_continues_as_new_keeps_every_members_outcome(simulator: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    group = cohorts_of(TESTS / "abandoned_cart.yaml")[0]
    assert len(group.members) > 5
    started: list[WorkflowHandle[Any, None]] = []
    start_cohort = Simulator._start_cohort

    async def kept(self: Simulator, *args: Any) -> WorkflowHandle[Any, None]:
        started.append(await start_cohort(self, *args))
        return started[-1]

    monkeypatch.setattr(Simulator, "_start_cohort", kept)
    long_history = await simulator.run_cohort(group.journey, group.members, group.start)
    short_history = await simulator.run_cohort(group.journey, group.members, group.start, history_limit=40)

    first_run = simulator.env.client.get_workflow_handle(started[-1].id, run_id=started[-1].result_run_id)
    last_event = (await first_run.fetch_history()).events[-1]
    assert last_event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    assert [t.to_dict() for t in short_history] == [t.to_dict() for t in long_history]
