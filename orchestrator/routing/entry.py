"""The entry rules: whether a customer enters a journey, decided once for the router, broadcasts and the simulator.

`decide` is a pure function of the journey, what happened (a tracked event, an
identify, a broadcast reaching the customer), the customer's profile, their past
entries into the journey and the moment, so it is tested with no store and no
clock (tests/routing/test_entry.py). The router runs it inside its store
transaction for every active journey (orchestrator/routing/router.py), the
broadcast page activity through the router, and the simulator as its scripted
events play (orchestrator/simulation/simulator.py): a simulation admits exactly
whom production admits.

Rules (docs/language.md, `trigger` and `entry`), checked in this order:
- the trigger:
  - an event trigger fires on a tracked event of its name whose `where` holds,
    with that event as `event`;
  - a segment trigger fires on an identify after which the profile matches the
    segment and before which it did not (a customer's first identify had no
    profile before it);
  - a broadcast names the journey itself (its schedule fired): every customer
    it reaches is a candidate;
- the audience: `entry.audience` holds for the profile, with the triggering
  event as `event` (`{}` without one);
- re-entry, against the customer's entries into this journey id, every version:
  - never twice at once: a running enrollment refuses a new one, whatever the rule;
  - `never`: no earlier entry; `always`: any; `after`: the latest entry is at
    least `re_entry_after_seconds` old.
Expressions see the scope of orchestrator/language/scope.py: `journey` holds the
journey's id and version there as everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, assert_never

from orchestrator import ir
from orchestrator.language.scope import JourneyInScope, expression_scope, holds
from orchestrator.language.timeparse import format_duration


@dataclass(frozen=True)
class Tracked:
    """A track call: an event arrived for the customer."""

    name: str
    properties: Mapping[str, Any]


@dataclass(frozen=True)
class Identified:
    """An identify call changed the profile; `before` is the profile before it (None: the customer is new)."""

    before: Mapping[str, Any] | None
    merged: Mapping[str, Any] | None = None
    """The anonymous profile the call merged into the customer, as it was (docs/api.md, "Anonymous visitors"): a segment
    the visitor was in is one the customer was in already, so a login never enters them again where the visitor was."""


@dataclass(frozen=True)
class Broadcast:
    """A broadcast reached the customer: the journey was chosen by its schedule, so no trigger is matched."""


Cause = Tracked | Identified | Broadcast
Rule = Literal["trigger", "audience", "re_entry", "entered"]


@dataclass(frozen=True)
class PastEntry:
    """An earlier entry of the customer into the journey (any version)."""

    entered_at: datetime
    running: bool
    """Whether that enrollment is still running."""


@dataclass(frozen=True)
class Decision:
    enter: bool
    reason: str
    """Why the customer enters or not, for logs and tests."""
    number: int = 0
    """With `enter`: this entry's number among the customer's entries into the journey (1 for the first)."""
    rule: Rule = "entered"
    """Which rule refused it (the checks above, in their order): what a backtest counts refusals by."""


def decide(
    journey: ir.Journey,
    cause: Cause,
    customer: Mapping[str, Any],
    past: Callable[[], Sequence[PastEntry]],
    now: datetime,
) -> Decision:
    """Whether `cause` enters the customer, whose profile is `customer` now, into `journey`.

    `past` lists the customer's entries into the journey; it is called only once the trigger
    and the audience admit the customer, because reading that history costs the router a query.
    """
    refused = _trigger_refuses(journey, cause, customer)
    if refused:
        return Decision(False, refused, rule="trigger")
    event = cause.properties if isinstance(cause, Tracked) else None
    if not holds(journey.entry.audience, _scope(journey, customer, event)):
        return Decision(False, "not in the audience", rule="audience")
    entries = past()
    refused = _re_entry_refuses(journey.entry, entries, now)
    if refused:
        return Decision(False, refused, rule="re_entry")
    return Decision(True, "entered", len(entries) + 1)


def _trigger_refuses(journey: ir.Journey, cause: Cause, customer: Mapping[str, Any]) -> str | None:
    trigger = journey.trigger
    match cause:
        case Tracked():
            if not isinstance(trigger, ir.EventTrigger) or trigger.event != cause.name:
                return f"not triggered by {cause.name}"
            if not holds(trigger.where, _scope(journey, customer, cause.properties)):
                return "the trigger's where is false"
            return None
        case Identified():
            if not isinstance(trigger, ir.SegmentTrigger):
                return "not triggered by a segment"
            if not holds(trigger.condition, _scope(journey, customer, None)):
                return "the profile is not in the segment"
            earlier = [profile for profile in (cause.before, cause.merged) if profile is not None]
            if any(holds(trigger.condition, _scope(journey, profile, None)) for profile in earlier):
                return "the profile was in the segment already"
            return None
        case Broadcast():
            return None
        case _:
            assert_never(cause)


def _scope(journey: ir.Journey, customer: Mapping[str, Any], event: Mapping[str, Any] | None) -> dict[str, Any]:
    """The scope of the trigger's and the entry's expressions: the journey entered, and no step yet."""
    return expression_scope(customer, event, JourneyInScope(journey.id, journey.version))


def _re_entry_refuses(entry: ir.Entry, past: Sequence[PastEntry], now: datetime) -> str | None:
    if not past:
        return None
    if any(e.running for e in past):
        return "already enrolled"  # never in the same journey twice at once
    if entry.re_entry == "never":
        return "entered before (re_entry: never)"
    if entry.re_entry == "after":
        wait = entry.re_entry_after_seconds or 0
        if now < max(e.entered_at for e in past) + timedelta(seconds=wait):
            return f"entered less than {format_duration(wait)} ago (re_entry: after)"
    return None
