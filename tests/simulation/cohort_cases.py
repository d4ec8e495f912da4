"""The example journeys' test cases as cohorts: the cases of one file that enter at the same instant run together.

Each case becomes a member with its own customer file and events; members get distinct customer ids (the
case's id, or anonymous id and the `user_id` it logs in as, with its number), since in a cohort, as in
production, one customer is one member. Cases that
enter at different instants, or never, cannot be one broadcast page, so they form cohorts of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from orchestrator import ir
from orchestrator.compiler import compile_file
from orchestrator.simulation import journey_tests
from orchestrator.simulation.offline_simulator import PreparedEntry, prepare_entry
from orchestrator.simulation.script import SimulatedCustomer, customer_id_of

TESTS = Path(__file__).resolve().parents[2] / "journeys" / "tests"


@dataclass(frozen=True)
class CohortGroup:
    journey: ir.Journey
    start: datetime
    names: list[str]
    members: list[SimulatedCustomer]


def example_files() -> list[Path]:
    return sorted(TESTS.glob("*.yaml"))


@cache
def cohorts_of(path: Path) -> list[CohortGroup]:
    """The file's cases grouped by start and entry instant, in the file's order."""
    document = journey_tests.load_test_file(path)
    journey = compile_file((path.parent / document["journey"]).resolve()).journey
    assert journey is not None
    groups: dict[tuple[datetime, datetime | None], CohortGroup] = {}
    for number, case in enumerate(document["cases"]):
        customer: dict[str, Any] = {**(document.get("customer") or {}), **(case.get("customer") or {})}
        if customer.get("anonymous_id"):
            customer["anonymous_id"] = f"{customer['anonymous_id']}-{number}"
        else:
            customer["id"] = f"{customer_id_of(customer)}-{number}"
        start = journey_tests.parse_instant(case.get("start") or document.get("start") or journey_tests.DEFAULT_START)
        horizon = timedelta(seconds=journey_tests.offset_seconds(case["until"])) if "until" in case else journey_tests.DEFAULT_HORIZON
        events = journey_tests.scripted_events(case.get("events") or [])
        # The known customer a visitor logs in as is theirs alone too: two members merged into one would be one customer.
        events = [replace(event, user_id=f"{event.user_id}-{number}") if event.user_id else event for event in events]
        member = SimulatedCustomer(customer, events, horizon)
        entry = prepare_entry(journey, member.customer, member.events, start, horizon)
        key = (start, entry.entered_at if isinstance(entry, PreparedEntry) else None)
        group = groups.setdefault(key, CohortGroup(journey, start, [], []))
        group.names.append(case["name"])
        group.members.append(member)
    return list(groups.values())
