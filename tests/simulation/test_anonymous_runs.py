"""An anonymous visitor who logs in during a journey: the enrollment goes on as the known customer they became.

The visitor enters as their anonymous profile; the login (an identify with `user_id`) merges it into the known
customer (orchestrator/store/identities.py), and every step after it reads that customer: their profile, with the
traits the visitor had (a journey's own update among them) and the ones the login brought, their address and
their id. Offline (the interpreter's core, offline_simulator.py) and live (the real workflow and activities on
the time-skipping server) alike, and the two timelines are the same.

The live runs of a login after the entry need every activity to resolve the workflow's customer id through
`current_customer` (the enrollment keeps the visitor's id in its input): `LOGIN_MID_JOURNEY` marks them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from orchestrator import ir
from orchestrator.compiler import compile_text, format_diagnostics
from orchestrator.simulation.offline_simulator import simulate_offline
from orchestrator.simulation.script import ScriptedEvent
from orchestrator.simulation.simulator import Simulator

START = datetime(2026, 3, 2, 14, tzinfo=UTC)
HOUR = 3600
VISIT = """
id: visit
name: Visit
trigger: {event: viewed}
steps:
  - id: mark
    update: {set: {stage: browsing}}
  - id: wait_an_hour
    wait: 1h
  - id: note
    send:
      channel: email
      subject: "{{ customer.first_name | default('Hi') }}: {{ event.name }} ({{ customer.id }}, {{ customer.stage }})"
      body: "<p>{{ event.name }}</p>"
"""
VISITOR = {"anonymous_id": "v-1", "first_name": "Maya"}
VIEWED = ScriptedEvent(0, "viewed", {"name": "Lamp"})
LOGIN = ScriptedEvent(HOUR // 3, "identify", {"email": "maya@example.com", "last_name": "Okafor"}, user_id="u-1")
LOGIN_MID_JOURNEY = [VIEWED, LOGIN]


def compiled(text: str) -> ir.Journey:
    result = compile_text(text, file="visit.yaml", directory=Path.cwd())
    assert result.journey is not None, format_diagnostics(list(result.diagnostics), "text")
    return result.journey


@pytest.fixture(scope="module")
async def simulator() -> AsyncIterator[Simulator]:
    async with Simulator.start() as simulator:
        yield simulator


def test_a_visitor_who_logs_in_mid_journey_is_emailed_as_the_known_customer_offline() -> None:
    timeline = simulate_offline(compiled(VISIT), VISITOR, LOGIN_MID_JOURNEY, START)

    (message,) = timeline.messages
    # The known customer's address, id and the trait the journey set while they were a visitor (the merge carried it).
    assert (message["at"], message["to"], message["subject"]) == ("2026-03-02T15:00:00Z", "maya@example.com", "Maya: Lamp (u-1, browsing)")
    assert timeline.merges == [{"at": "2026-03-02T14:20:00Z", "anonymous_id": "v-1", "customer_id": "u-1"}]
    assert timeline.to_dict()["merges"] == timeline.merges
    assert "2026-03-02T14:20:00Z  merged   anonymous visitor v-1 into customer u-1" in timeline.text().splitlines()
    assert timeline.outcome == {"status": "completed", "step": "note", "at": "2026-03-02T15:00:00Z"}


def test_an_unsubscribe_link_after_the_login_is_the_known_customers_offline() -> None:
    logged_in = simulate_offline(compiled(VISIT), VISITOR, LOGIN_MID_JOURNEY, START).messages[0]["body"]
    known = simulate_offline(compiled(VISIT), {"id": "u-1", "first_name": "Maya", "email": "maya@example.com"}, [VIEWED], START)
    link = known.messages[0]["body"].split('href="', 1)[1].split('"', 1)[0]
    assert "/unsubscribe" in link and link in logged_in


def test_a_visitor_who_never_logs_in_is_their_anonymous_profile_to_the_end_offline() -> None:
    timeline = simulate_offline(compiled(VISIT), VISITOR, [VIEWED], START)
    assert timeline.messages == [] and timeline.merges == []
    assert [(s["step"], s["reason"]) for s in timeline.skipped] == [("note", "the profile has no email address")]


@pytest.mark.asyncio(loop_scope="session")
async def test_a_login_mid_journey_runs_the_same_live_as_offline(simulator: Simulator) -> None:
    """Waits for the activities to resolve the workflow's customer id through `current_customer` (module docstring)."""
    journey = compiled(VISIT)
    live = (await simulator.run(journey, VISITOR, LOGIN_MID_JOURNEY, START)).to_dict()
    offline = simulate_offline(journey, VISITOR, LOGIN_MID_JOURNEY, START).to_dict()
    assert live == offline, json.dumps({"live": live, "offline": offline}, indent=1)
    assert live["messages"][0]["to"] == "maya@example.com"


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize(
    "events",
    [
        pytest.param([VIEWED], id="never logs in"),
        pytest.param([LOGIN, ScriptedEvent(HOUR, "viewed", {"name": "Lamp"})], id="logs in before the trigger: enters as the known one"),
    ],
)
async def test_a_visitor_runs_the_same_live_as_offline(simulator: Simulator, events: list[ScriptedEvent]) -> None:
    journey = compiled(VISIT)
    live = (await simulator.run(journey, VISITOR, events, START)).to_dict()
    offline = simulate_offline(journey, VISITOR, events, START).to_dict()
    assert live == offline, json.dumps({"live": live, "offline": offline}, indent=1)


@pytest.mark.asyncio(loop_scope="session")
async def test_a_login_that_enters_nobody_is_still_on_the_timeline(simulator: Simulator) -> None:
    journey = compiled(VISIT)
    events = [LOGIN, ScriptedEvent(HOUR, "clicked")]
    live = await simulator.run(journey, VISITOR, events, START)
    offline = simulate_offline(journey, VISITOR, events, START)
    assert live.to_dict() == offline.to_dict()
    assert live.outcome["status"] == "not_entered"
    assert live.merges == [{"at": "2026-03-02T14:20:00Z", "anonymous_id": "v-1", "customer_id": "u-1"}]
