"""A simulation without Temporal: the customer file and scripted events played into a throwaway store, the enrollment run offline.

It plays what the simulator plays (script.py: the customer file, then the events in order, `identify`
ones changing the profile or logging an anonymous visitor in) and lets the customer in by the same entry
rules, then runs the enrollment with the interpreter's core under a discrete-event clock (offline.py)
instead of the real workflow on the time-skipping server. The timeline is the same, and
tests/simulation/test_offline_equivalence.py holds the two to it; the offline one takes milliseconds, not a
Temporal server.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from orchestrator import ir
from orchestrator.host.settings import SimulationSettings
from orchestrator.routing.entry import Tracked
from orchestrator.simulation.offline import OfflineRun, RecordedEvent, run_offline
from orchestrator.simulation.recorded_profile import RecordedProfile
from orchestrator.simulation.script import (
    DEFAULT_HORIZON,
    IDENTIFY,
    ScriptedEvent,
    apply_identify,
    at_start,
    cause_of,
    current_customer,
    customer_id_of,
    customer_traits,
    decide_entry,
    merges_shown,
    message_id,
    not_entered,
    opening_offset,
    profile_context,
)
from orchestrator.simulation.timeline import Timeline, iso
from orchestrator.store import Store


@dataclass(frozen=True)
class PreparedEntry:
    """A simulated customer who enters: when, by what, with the recorded profile and the events after the entry."""

    customer_id: str
    """Who entered: the anonymous visitor's profile if they had not logged in yet (`profile` follows them past it)."""
    profile: RecordedProfile
    entered_at: datetime
    trigger: RecordedEvent | None
    events: list[RecordedEvent]
    """The scripted track calls after the entry, oldest first (the profile holds the identify ones)."""
    until: datetime
    """When the simulation stops: the horizon after the last scripted event."""
    merges: list[dict[str, str]] = field(default_factory=list)
    """The timeline's `merges` (the visitor's login), which the store showed and the offline run does not see."""

    def shown(self, run: OfflineRun) -> Timeline:
        """The run's timeline, with what the script did besides the enrollment."""
        return replace(run.timeline(), merges=self.merges)


def simulate_offline(
    journey: ir.Journey,
    customer: dict[str, Any],
    events: list[ScriptedEvent],
    start: datetime,
    horizon: timedelta = DEFAULT_HORIZON,
    settings: SimulationSettings | None = None,
) -> Timeline:
    """`Simulator.run`'s timeline for one customer, run offline. A trait the profile refuses raises ProfileFieldError."""
    settings = settings or SimulationSettings()
    entry = prepare_entry(journey, customer, events, start, horizon)
    if isinstance(entry, Timeline):
        return entry
    run = run_offline(
        journey,
        entry.customer_id,
        entry.profile,
        entered_at=entry.entered_at,
        trigger=entry.trigger,
        events=entry.events,
        until=entry.until,
        policy=settings.policy,
        unsubscribe=settings.unsubscribe,
    )
    return entry.shown(run)


def prepare_entry(
    journey: ir.Journey, customer: dict[str, Any], events: list[ScriptedEvent], start: datetime, horizon: timedelta = DEFAULT_HORIZON
) -> PreparedEntry | Timeline:
    """Play the customer file and the script into a throwaway store by the entry rules: the entry, or the timeline of
    a customer who never enters. A trait the profile refuses raises ProfileFieldError."""
    customer_id = customer_id_of(customer)
    traits = customer_traits(customer)
    ordered = sorted(events, key=lambda e: e.offset_seconds)
    opening = opening_offset(journey, start)
    if isinstance(opening, str):
        return not_entered(journey, start, opening)
    with tempfile.TemporaryDirectory(prefix="journey-offline-") as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'simulation.db'}")
        try:
            store.migrate()
            with store.session() as session:
                session.identify(customer_id, traits, start)
            entry: tuple[datetime, int, ScriptedEvent | None] | None = None
            enrolled = customer_id
            refusal = ""
            plan: list[tuple[float, int, ScriptedEvent | None]] = [(opening, -1, None)]
            plan += [(event.offset_seconds, number, event) for number, event in enumerate(ordered)]
            for offset, number, event in sorted(plan, key=lambda p: (p[0], p[1])):
                at = start + timedelta(seconds=offset)
                if event is not None and event.name == IDENTIFY:
                    cause, after = apply_identify(store, customer_id, event, number, at)
                    if entry is not None:
                        continue
                    decision = decide_entry(journey, cause, after, at)
                elif entry is not None:
                    continue
                elif event is None:
                    decision = decide_entry(journey, at_start(journey), profile_context(store, customer_id), at)
                else:
                    decision = decide_entry(journey, Tracked(event.name, event.properties), profile_context(store, customer_id), at)
                if decision.enter:
                    entry = (at, number, event if event is not None and event.name != IDENTIFY else None)
                    enrolled = current_customer(store, customer_id)  # a visitor who logged in enters as the known customer
                else:
                    refusal = f"{cause_of(journey, event)} at {iso(at)}: {decision.reason}"
            merges = merges_shown(store, customer_id)
            if entry is None:
                return not_entered(journey, start, refusal, merges)
            with store.read() as session:
                profile = RecordedProfile.read(session, enrolled)
        finally:
            store.dispose()
    entered_at, _, trigger = entry
    after_entry = [
        _recorded(event, number, start)
        for number, event in enumerate(ordered)
        if event.name != IDENTIFY and (event.offset_seconds, number) > _key(entry, start)
    ]
    end_offset = (ordered[-1].offset_seconds if ordered else 0) + horizon.total_seconds()
    until = start + timedelta(seconds=max(end_offset, opening + horizon.total_seconds()))
    return PreparedEntry(
        enrolled,
        profile,
        entered_at,
        _recorded(trigger, -1, start) if trigger is not None else None,
        after_entry,
        until,
        merges,
    )


def _key(entry: tuple[datetime, int, ScriptedEvent | None], start: datetime) -> tuple[float, int]:
    at, number, _ = entry
    return ((at - start).total_seconds(), number)


def _recorded(event: ScriptedEvent, number: int, start: datetime) -> RecordedEvent:
    """A scripted event as the simulator signals it (message_of): the same id and timestamp."""
    at = start + timedelta(seconds=event.offset_seconds)
    return RecordedEvent(event.name, dict(event.properties), at, message_id(number), iso(at))
