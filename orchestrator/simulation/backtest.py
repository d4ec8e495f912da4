"""`journey backtest`: a journey replayed over the recorded past, offline, customer by customer, sending nothing.

For each customer (backtest_history.py reads them from the store in bulk), their calls in the window are
walked in time order, each as production took it (orchestrator/routing/router.py):

- a tracked event of the trigger's name, an identify (for a segment trigger), or a firing of a broadcast's
  schedule in the window (broadcast_firing.py), placed before the calls at its instant, asks the entry
  rules (orchestrator/routing/entry.py `decide`) with the profile as it was at that instant (recorded_profile.py)
  and the customer's earlier entries: the real ones before the window, for the re-entry rules, then the
  backtest's own. An enrollment still running refuses another ("never twice at once"): a backtested run
  runs until it ends (`at` in its outcome) or, still waiting, until the window's end; a real one until it ended.
  A refusal is counted by its rule and reason, except a segment trigger that did not fire (the identify
  did not bring the customer into the segment): that is no attempt to enter;
- an entry runs the enrollment offline (offline.py: the interpreter's core, the delivery gate, the renderer)
  from that instant with the customer's later events until the window's end. The caps count what other
  journeys really sent the customer (the ledger's deliveries that held a slot, excluding this journey's, which
  the backtest replaces) and what the backtest's earlier runs of this journey sent;
- a goal is measured as routing measures it at ingest (orchestrator/routing/measurement.py): a goal event
  within an enrollment's window converts it, whatever the enrollment was doing then, never the event that
  enrolled it.

Differences from production, by design: the profile an event is decided with is the one its timestamp
saw, where production uses the one its arrival saw (the same when calls arrive in order); a goal's `where`
reads the recorded profile, without the journey's own `update` steps.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from activities.delivery_gate import DeliveryPolicy, PastSend
from orchestrator import ir
from orchestrator.personalization.unsubscribe import UnsubscribeConfig
from orchestrator.routing.entry import Broadcast, Cause, Identified, PastEntry, Tracked, decide
from orchestrator.routing.measurement import MeasuredEvent, facts_at_ingest
from orchestrator.routing.router import ENTRY_EVENT
from orchestrator.simulation.backtest_history import CustomerHistory, Window
from orchestrator.simulation.broadcast_firing import first_firing
from orchestrator.simulation.offline import OfflineRun, RecordedEvent, run_offline
from orchestrator.simulation.recorded_profile import RecordedProfile
from orchestrator.simulation.script import IDENTIFY
from orchestrator.store import Enrollment, EventRow
from orchestrator.store.profiles import new_profile
from orchestrator.store.values import JourneyFact

NOT_TRACKED = frozenset({IDENTIFY, ENTRY_EVENT})
"""Rows of the events table that are no tracked event: identify calls, and the broadcast pages' entry records."""
JUST_BEFORE = timedelta(microseconds=1)


@dataclass(frozen=True)
class BacktestOptions:
    """The workspace's delivery rules the runs follow, and the links marketing email would carry."""

    policy: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    unsubscribe: UnsubscribeConfig | None = None


@dataclass(frozen=True)
class Entry:
    """One backtested enrollment: the run, and the goal it reached (None: it did not convert)."""

    run: OfflineRun
    goal: JourneyFact | None = None


@dataclass(frozen=True)
class CustomerBacktest:
    customer_id: str
    entries: tuple[Entry, ...]
    refused: tuple[tuple[str, str], ...]
    """(rule, reason) of each refused attempt to enter, in order."""


def replayed_calls(journey: ir.Journey) -> frozenset[str]:
    """The calls a backtest of `journey` reacts to: its trigger's event (identify calls for a segment), the events its
    enrollments listen to, its goal's. Every other call changes nothing it replays, so it is not read."""
    names = set(journey.events)
    if isinstance(journey.trigger, ir.EventTrigger):
        names.add(journey.trigger.event)
    if isinstance(journey.trigger, ir.SegmentTrigger):
        names.add(IDENTIFY)
    if journey.goal is not None:
        names.add(journey.goal.event)
    return frozenset(names)


def firings(journey: ir.Journey, window: Window) -> list[datetime]:
    """When a broadcast's schedule fires in the window (none for other journeys)."""
    trigger = journey.trigger
    if not isinstance(trigger, ir.ScheduleTrigger):
        return []
    found: list[datetime] = []
    at = first_firing(trigger, window.start)
    while at is not None and at <= window.end:
        found.append(at)
        if trigger.at is not None:
            break
        at = first_firing(trigger, at + timedelta(seconds=1))
    return found


def backtest_customer(
    journey: ir.Journey, history: CustomerHistory, window: Window, options: BacktestOptions, fired: Sequence[datetime] = ()
) -> CustomerBacktest:
    """What `journey` would have done with this customer over `window` (`fired`: its broadcast's firings, `firings`)."""
    return _Walk(journey, history, window, options).run(fired)


class _Walk:
    def __init__(self, journey: ir.Journey, history: CustomerHistory, window: Window, options: BacktestOptions) -> None:
        self.journey = journey
        self.history = history
        self.window = window
        self.options = options
        self.profile = RecordedProfile(history.customer_id, history.changes, history.consent)
        self.entries: list[Entry] = []
        self.enrollments: list[Enrollment] = []
        self.refused: list[tuple[str, str]] = []
        self.other_sends = [PastSend(journey_id, at) for journey_id, at in history.capped_sends if journey_id != journey.id]
        self.own_sends: list[PastSend] = []

    def run(self, fired: Sequence[datetime]) -> CustomerBacktest:
        tracked = [call for call in self.history.calls if call.name not in NOT_TRACKED]
        # A firing comes before the calls at its instant, as the simulation's opening does.
        happenings: list[tuple[datetime, int, EventRow | None]] = [(at, -1, None) for at in fired]
        happenings += [(call.timestamp, n, call) for n, call in enumerate(self.history.calls)]
        happenings.sort(key=lambda h: (h[0], h[1]))
        later = 0  # tracked[later:] are the events after the happening being walked
        for at, _, call in happenings:
            if call is None:
                later = next((n for n, event in enumerate(tracked) if event.timestamp >= at), len(tracked))
                if self.profile.profile_as_of(at) is not None:  # a broadcast reaches the profiles that exist when it fires
                    self._ask(Broadcast(), at, None, tracked[later:])
            elif call.name == IDENTIFY:
                if isinstance(self.journey.trigger, ir.SegmentTrigger):
                    before = self.profile.profile_as_of(at - JUST_BEFORE)
                    self._ask(Identified(before.template_context() if before else None), at, None, tracked[later:])
            elif call.name != ENTRY_EVENT:
                later += 1
                self._measure(call)
                trigger = self.journey.trigger
                if isinstance(trigger, ir.EventTrigger) and trigger.event == call.name:
                    self._ask(Tracked(call.name, call.properties), at, call, tracked[later:])
        return CustomerBacktest(self.history.customer_id, tuple(self.entries), tuple(self.refused))

    def _ask(self, cause: Cause, at: datetime, call: EventRow | None, after: list[EventRow]) -> None:
        decision = decide(self.journey, cause, self._customer(at), lambda: self._past(at), at)
        if not decision.enter:
            if not (isinstance(cause, Identified) and decision.rule == "trigger"):
                self.refused.append((decision.rule, decision.reason))
            return
        run = run_offline(
            self.journey,
            self.history.customer_id,
            self.profile,
            entered_at=at,
            trigger=_recorded(call) if call is not None else None,
            events=[_recorded(event) for event in after],
            until=self.window.end,
            policy=self.options.policy,
            past_sends=[*self.other_sends, *self.own_sends],
            unsubscribe=self.options.unsubscribe,
            enrollment_id=f"backtest-{self.journey.id}-{decision.number}",
        )
        sent = [send for send in run.sends if send.status == "sent" and send.category == "marketing"]
        self.own_sends += [PastSend(self.journey.id, send.at) for send in sent]
        # Indexed as routing indexes an entry, for the goal's measure: its id is its place among the backtest's entries.
        number = str(len(self.entries))
        journey, customer_id = self.journey, self.history.customer_id
        self.enrollments.append(Enrollment(number, journey.id, journey.version, customer_id, "running", None, at, None))
        self.entries.append(Entry(run))

    def _past(self, at: datetime) -> list[PastEntry]:
        """Entries before the window (running until they ended) and the backtest's own (until their run ended)."""
        past = [PastEntry(e.entered_at, e.ended_at is None or e.ended_at >= at) for e in self.history.earlier_entries]
        past += [PastEntry(entry.run.entered_at, entry.run.at >= at) for entry in self.entries]
        return past

    def _measure(self, call: EventRow) -> None:
        goal = self.journey.goal
        if goal is None or call.name != goal.event or not self.enrollments:
            return
        event = MeasuredEvent(call.customer_id, call.name, call.properties, call.timestamp)
        facts = facts_at_ingest(event, self._customer(call.timestamp), self.enrollments, lambda _: self.journey)
        for fact in facts:
            if fact.kind != "goal":
                continue
            n = int(fact.enrollment_id)
            if self.entries[n].goal is None:  # the first goal event only, as the store keeps the first fact
                self.entries[n] = Entry(self.entries[n].run, fact)

    def _customer(self, at: datetime) -> dict[str, Any]:
        """The profile as expressions read it at `at`; a customer tracked before any identify has the profile routing makes them."""
        profile = self.profile.profile_as_of(at)
        return (profile or new_profile(self.history.customer_id, at)).template_context()


def _recorded(row: EventRow) -> RecordedEvent:
    return RecordedEvent(row.name, dict(row.properties), row.timestamp, row.message_id)


def backtest_customers(
    journey: ir.Journey, histories: Iterator[CustomerHistory], window: Window, options: BacktestOptions
) -> Iterator[CustomerBacktest]:
    fired = firings(journey, window)
    for history in histories:
        yield backtest_customer(journey, history, window, options, fired)
