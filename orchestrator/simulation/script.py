"""What a simulation plays, and whether it lets the customer in: the shared part of the simulator and the offline runner.

A simulation plays a customer file (the customer's first identify) and scripted events (track calls, and
`identify` ones that change the profile). Whether they enter is decided by the entry rules the router
uses (orchestrator/routing/entry.py); a broadcast enrolls the customer when its schedule first fires at or
after the start (broadcast_firing.py), not at the start itself.

The customer may start as an anonymous visitor (the file's `anonymous_id` instead of `id`: the profile
`anonymous:<anonymous_id>`, orchestrator/store/identities.py), and an identify with a `user_id` logs them
in: their anonymous profile merges into that known customer, who is the customer from then on. Both
runners apply a scripted identify through `apply_identify`, and read who the customer is now from the
store (`current_customer`), as the activities do; what may be scripted is checked by script_checks.py.
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
from orchestrator.store.identities import anonymous_customer_id, merge_identity

DEFAULT_HORIZON = timedelta(days=90)
"""How long after the last scripted event a simulation keeps running."""
IDENTIFY = "identify"
"""The scripted event name that updates the profile instead of being tracked."""
CUSTOMER_IDS = ("id", "userId", "anonymous_id")
"""The keys of a customer file that say who the customer is; every other key is a trait."""


@dataclass(frozen=True)
class ScriptedEvent:
    """`{at: 2h, event: email_opened, properties: {...}}` from an events file."""

    offset_seconds: int
    name: str
    properties: dict[str, Any] = field(default_factory=dict)
    user_id: str | None = None
    """On an identify only: the known customer the anonymous visitor logs in as (their profile merges into it)."""


@dataclass(frozen=True)
class SimulatedCustomer:
    """One customer of a simulated cohort: the customer file, their scripted events, how long to go on after the last."""

    customer: dict[str, Any]
    events: list[ScriptedEvent] = field(default_factory=list)
    horizon: timedelta = DEFAULT_HORIZON


def customer_id_of(customer: dict[str, Any]) -> str:
    """The customer id the simulation starts with: an anonymous visitor's profile (`anonymous:<anonymous_id>`), or the known id."""
    if customer.get("anonymous_id"):
        return anonymous_customer_id(str(customer["anonymous_id"]))
    return str(customer.get("id") or customer.get("userId") or "simulated-customer")


def customer_traits(customer: dict[str, Any]) -> dict[str, Any]:
    """The customer file's traits: its first identify's."""
    return {key: value for key, value in customer.items() if key not in CUSTOMER_IDS}


def current_customer(store: Store, customer_id: str) -> str:
    """Who the customer `customer_id` is now: the known customer once the anonymous visitor logged in, who enters from then on."""
    with store.read() as session:
        return session.current_customer(customer_id)


def profile_context(store: Store, customer_id: str) -> dict[str, Any]:
    """The profile of the customer `customer_id` is now (the known one, once the visitor logged in)."""
    with store.session() as session:
        profile = session.get_profile(session.current_customer(customer_id))
    assert profile is not None
    return profile.template_context()


def apply_identify(store: Store, customer_id: str, event: ScriptedEvent, number: int, at: datetime) -> tuple[Identified, dict[str, Any]]:
    """Apply a scripted identify to the customer `customer_id` is now, as the router applies the call: the cause and the
    profile after it, for the entry rules.

    With a `user_id` the anonymous visitor logs in first: their profile merges into that known customer
    (`merge_identity`, under both customers' leases as the router takes them), whose profile the traits then
    change. As the router tells the entry rules: the known profile before the merge, and the visitor's.
    """
    ids = (customer_id, event.user_id) if event.user_id is not None else (customer_id,)
    with store.session(lock_customers=ids) as session:
        current = session.current_customer(customer_id)
        logs_in = event.user_id is not None and event.user_id != current
        known = merged = None
        if event.user_id is not None and logs_in:
            known, merged = session.get_profile(event.user_id), session.get_profile(current)
            outcome = merge_identity(session, current, event.user_id, message_id(number), at)
            # A simulation follows one customer's one enrollment: the known customer, new at the login, has no twin of it.
            assert not outcome.ended, outcome.ended
            current = event.user_id
        stored, after = session.identify(current, dict(event.properties), at)
        before = known if logs_in else stored
    return Identified(*(p.template_context() if p else None for p in (before, merged))), after.template_context()


def message_id(number: int) -> str:
    """The message id of the script's event `number` (-1: the trigger, as the enrollment is given it)."""
    return f"simulated-{number}"


def message_of(event: ScriptedEvent, number: int, start: datetime) -> EventMessage:
    at = start + timedelta(seconds=event.offset_seconds)
    return EventMessage(message_id(number), event.name, dict(event.properties), iso(at))


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


def not_entered(journey: ir.Journey, start: datetime, reason: str, merges: list[dict[str, str]] | None = None) -> Timeline:
    outcome = {"status": "not_entered", "step": None, "at": iso(start), "reason": reason}
    return Timeline(journey.id, journey.version, [], [], outcome, merges=merges or [])


def merges_shown(store: Store, customer_id: str) -> list[dict[str, str]]:
    """The timeline's `merges`: the anonymous profiles merged into the customer `customer_id` is now (the visitor's login)."""
    with store.read() as session:
        merges = session.merges_into(session.current_customer(customer_id))
    return [{"at": iso(m.merged_at), "anonymous_id": m.visitor_id, "customer_id": m.customer_id} for m in merges]
