"""A customer cannot tell a cohort from a lone enrollment: every example journey's cases, run as cohorts through the core.

The cases of each example test file that enter at the same instant run as one cohort (cohort_cases.py), the
scheduler of orchestrator/runtime/cohort.py batching their calls under the offline clock; each member's whole
timeline (steps and their times, messages as rendered, skipped sends with the gate's reasons, webhooks,
problems, what its wait_for steps matched, the outcome and its reason) must equal `simulate_offline` of its
case alone, the run tests/simulation/test_offline_examples.py holds to the real workflow's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.simulation.offline_cohort import simulate_offline_cohort
from orchestrator.simulation.offline_simulator import simulate_offline
from tests.simulation.cohort_cases import cohorts_of, example_files


@pytest.mark.parametrize("path", example_files(), ids=lambda path: path.stem)
def test_every_member_of_a_cohort_gets_what_it_gets_alone(path: Path) -> None:
    for group in cohorts_of(path):
        together = simulate_offline_cohort(group.journey, group.members, group.start)

        for name, member, timeline in zip(group.names, group.members, together, strict=True):
            alone = simulate_offline(group.journey, member.customer, member.events, group.start, member.horizon).to_dict()
            assert timeline.to_dict() == alone, json.dumps({"case": name, "cohort": timeline.to_dict(), "alone": alone}, indent=1)


def test_the_examples_run_mostly_in_cohorts_of_several() -> None:
    sizes = [len(group.members) for path in example_files() for group in cohorts_of(path)]
    assert sum(size for size in sizes if size > 1) >= 0.8 * sum(sizes), sizes
    assert max(sizes) >= 8, sizes
