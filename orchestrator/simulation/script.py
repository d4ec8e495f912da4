"""What a simulation plays, and whether it lets the customer in: the shared part of the simulator and the offline runner.

A simulation plays a customer file (the customer's first identify) and scripted events (track calls, and
`identify` ones that change the profile). Whether they enter is decided by the entry rules the router
uses (orchestrator/routing/entry.py); a broadcast enrolls the customer when its schedule first fires at or
after the start (broadcast_firing.py), not at the start itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from orchestrator import ir
from orchestrator.routing.entry import Broadcast, Cause, Decision, Identified, decide
from orchestrator.runtime.contracts import EventMessage
from orchestrator.simulation.broadcast_firing import first_firing
from orchestrator.simulation.timeline import Timeline, iso
from orchestrator.store import Store

DEFAULT_HORIZON = timedelta(days=90)
"""How long after the last scripted event a simulation keeps running."""
IDENTIFY = "identify"
"""The scripted event name that updates the profile instead of being tracked."""


@dataclass(frozen=True)
class ScriptedEvent:
    """`{at: 2h, event: email_opened, properties: {...}}` from an events file."""

    offset_seconds: int
    name: str
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SimulatedCustomer:
    """One customer of a simulated cohort: the customer file, their scripted events, how long to go on after the last."""

    customer: dict[str, Any]
    events: list[ScriptedEvent] = field(default_factory=list)
    horizon: timedelta = DEFAULT_HORIZON


def customer_id_of(customer: dict[str, Any]) -> str:
    return str(customer.get("id") or customer.get("userId") or "simulated-customer")


def profile_context(store: Store, customer_id: str) -> dict[str, Any]:
    with store.session() as session:
        profile = session.get_profile(customer_id)
    assert profile is not None
    return profile.template_context()


def message_of(event: ScriptedEvent, number: int, start: datetime) -> EventMessage:
    at = start + timedelta(seconds=event.offset_seconds)
    return EventMessage(f"simulated-{number}", event.name, dict(event.properties), iso(at))


def opening_offset(journey: ir.Journey, start: datetime) -> float | str:
    """Seconds after `start` at which the simulation first asks whether the customer enters, or why it never does.

    A broadcast asks when its schedule first fires at or after the start; any other journey at the start.
    """
    if not isinstance(journey.trigger, ir.ScheduleTrigger):
        return 0.0
    firing = first_firing(journey.trigger, start)
    if firing is None:
        return f"the broadcast fires once, at {journey.trigger.at}, before the start {iso(start)}: start the simulation at or before it"
    return (firing - start).total_seconds()


def at_start(journey: ir.Journey) -> Cause:
    """What the opening of a simulation is: the schedule firing for a broadcast, else the customer's first identify."""
    return Broadcast() if isinstance(journey.trigger, ir.ScheduleTrigger) else Identified(None)


def cause_of(journey: ir.Journey, event: ScriptedEvent | None) -> str:
    """The scripted happening an entry decision was about, in words (None: the opening, see `at_start`)."""
    if event is None:
        return "the broadcast firing" if isinstance(journey.trigger, ir.ScheduleTrigger) else "the customer file (a first identify)"
    return "an identify" if event.name == IDENTIFY else f"event {event.name}"


def decide_entry(journey: ir.Journey, cause: Cause, customer: dict[str, Any], at: datetime) -> Decision:
    """The router's entry decision (orchestrator/routing/entry.py) for the simulated customer.

    They have never entered the journey, and the simulation follows their first enrollment only:
    it is asked until that enrollment starts, and later events reach that enrollment or nobody.
    """
    return decide(journey, cause, customer, lambda: (), at)


def not_entered(journey: ir.Journey, start: datetime, reason: str) -> Timeline:
    outcome = {"status": "not_entered", "step": None, "at": iso(start), "reason": reason}
    return Timeline(journey.id, journey.version, [], [], outcome)
