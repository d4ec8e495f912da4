"""Run one enrollment offline: the interpreter's core under a discrete-event clock, without Temporal, sending nothing.

The decisions are the core's (orchestrator/runtime/interpreter.py), the same code the workflow runs;
this runner is its other host. It answers each command as production would (offline_answers.py:
the activities' rules on the profile as recorded at that instant), and keeps the clock itself:

- activities take no time; a `Block` moves the clock to the next event the journey listens to
  (it arrives, the core is woken) or to the end of the wait, whichever comes first; at a tie the
  wait ends first, as a timer fires before a signal sent at the same instant on the test server;
- an event reaches the enrollment at its instant: the core applies it at its next decision point,
  as a signal that arrives while an activity runs (events at the entry instant are there from the start);
- the run stops at `until`: an enrollment still going is `waiting` there.

A run never continues as new: it keeps no history.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from activities.delivery_gate import DeliveryPolicy, PastSend
from activities.messages import Message
from orchestrator import ir
from orchestrator.personalization.unsubscribe import UnsubscribeConfig
from orchestrator.runtime.commands import Block, Call, Command, ContinueAsNew, Entered, Finish, Report
from orchestrator.runtime.contracts import INTERPRETER_REVISION, EnrollmentInput, EventMessage, SendRequest, SendResult
from orchestrator.runtime.enrollment_state import EnrollmentState
from orchestrator.runtime.interpreter import Interpreter
from orchestrator.simulation.offline_answers import OfflineCustomer
from orchestrator.simulation.placeholder_secrets import PlaceholderSecrets
from orchestrator.simulation.recorded_profile import RecordedProfile
from orchestrator.simulation.sends import sends_shown
from orchestrator.simulation.timeline import Timeline, iso

SendStatus = Literal["sent", "suppressed", "failed", "held"]


@dataclass(frozen=True)
class RecordedEvent:
    """A tracked event as the store recorded it (the events table's row), or as an events file scripts it."""

    name: str
    properties: dict[str, Any]
    at: datetime
    """The sender's timestamp (EventRow.timestamp)."""
    message_id: str
    timestamp: str = ""
    """The timestamp as the enrollment is given it (`event.timestamp` in templates); empty: `at` in ISO 8601, as routing gives it."""

    def message(self) -> EventMessage:
        return EventMessage(self.message_id, self.name, dict(self.properties), self.timestamp or self.at.isoformat())


@dataclass(frozen=True)
class SendOutcome:
    """What became of one visit of a send step."""

    step: str
    visit: int
    channel: str
    """The channel the gate chose (the step's, or a fallback), or the step's."""
    category: str
    status: SendStatus
    """`held`: still held by quiet hours or the SMS window when the run stopped."""
    reason: str | None
    at: datetime
    """When it was decided (sent, suppressed, failed), or first asked (held)."""
    due: datetime | None = None
    """A send held first: when the step first asked."""
    held: str | None = None
    """And why it was held."""
    message: Message | None = None
    """The message as rendered (sent only)."""


@dataclass(frozen=True)
class OfflineRun:
    journey: ir.Journey
    customer_id: str
    entered_at: datetime
    trail: tuple[tuple[str, datetime], ...]
    """The steps entered, in order (the newest 200, as the workflow's status keeps them)."""
    sends: tuple[SendOutcome, ...]
    status: str
    """completed | converted | exited | holdout | waiting (still running at `until`)."""
    step: str | None
    reason: str | None
    at: datetime
    """When it ended, or `until`."""
    _shown: Callable[[], Timeline]

    def timeline(self) -> Timeline:
        """The same form `journey simulate` prints (orchestrator/simulation/timeline.py); made when asked, as a backtest
        shows a few of its runs' timelines and counts the rest."""
        return self._shown()


class OfflineClock:
    """The journey's clock of an offline run, and its host's answers: the history is never long (it keeps none)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def history_is_long(self, limit: int | None = None) -> bool:
        return False

    def note(self, message: str) -> None:
        """Nothing to tell: an offline run is never asked to move onto another version."""


def run_offline(
    journey: ir.Journey,
    customer_id: str,
    profiles: RecordedProfile,
    *,
    entered_at: datetime,
    trigger: RecordedEvent | None,
    events: Sequence[RecordedEvent],
    until: datetime,
    policy: DeliveryPolicy | None = None,
    past_sends: Sequence[PastSend] = (),
    unsubscribe: UnsubscribeConfig | None = None,
    secrets: Mapping[str, str] | None = None,
    enrollment_id: str | None = None,
) -> OfflineRun:
    """Run `journey` for `customer_id` from `entered_at` (by `trigger`, or None: an identify or a broadcast) until it ends or `until`.

    `events`: the customer's tracked events after the entry, oldest first; those the journey does not
    listen to are passed over, as routing does. `past_sends`: the customer's marketing messages from other
    journeys, for the caps. `unsubscribe` signs the links in marketing email (default: the development key),
    `secrets` are what webhook templates read (default: placeholders, as in a simulation).
    """
    pending = listened_events(journey, events)
    clock = OfflineClock(entered_at)
    state = EnrollmentState()
    start = offline_input(customer_id, enrollment_id or offline_enrollment_id(journey, customer_id), trigger)
    customer = offline_customer(customer_id, profiles, policy, past_sends, unsubscribe, secrets)
    steps = Interpreter(start, state, clock, journey).run()
    next_event = 0

    def deliver_due() -> None:
        nonlocal next_event
        while next_event < len(pending) and pending[next_event].at <= clock.at:
            state.receive(pending[next_event].message())
            next_event += 1

    deliver_due()
    answer: Any = None
    ended: Finish | None = None
    while ended is None:
        command: Command = steps.send(answer)
        answer = None
        match command:
            case Call(activity=activity, request=request):
                answer = customer.answer(activity, request, clock.at)
            case Report() | Entered():
                pass
            case Block(seconds=seconds):
                deadline = clock.at + timedelta(seconds=seconds) if seconds is not None else None
                arrival = pending[next_event].at if next_event < len(pending) else None
                if arrival is not None and arrival <= until and (deadline is None or arrival <= deadline):
                    clock.at = max(clock.at, arrival)
                    answer = True
                elif deadline is not None and deadline <= until:
                    clock.at = deadline
                    answer = False
                else:
                    clock.at = until
                    break
            case Finish():
                ended = command
            case ContinueAsNew():
                raise RuntimeError("an offline run never continues as new")
        deliver_due()
    steps.close()
    return finished_run(journey, customer, state, entered_at, ended, clock.at)


def listened_events(journey: ir.Journey, events: Sequence[RecordedEvent]) -> list[RecordedEvent]:
    """The events an enrollment of `journey` is given: those it listens to (routing passes the others over)."""
    listened = set(journey.events)
    return [event for event in events if event.name in listened]


def offline_enrollment_id(journey: ir.Journey, customer_id: str) -> str:
    return f"offline-{journey.id}-{customer_id}"


def offline_input(customer_id: str, enrollment_id: str, trigger: RecordedEvent | None) -> EnrollmentInput:
    """The enrollment's start as the core reads it offline (the journey is handed to the core compiled)."""
    return EnrollmentInput(
        journey={},
        customer_id=customer_id,
        enrollment_id=enrollment_id,
        trigger=trigger.message() if trigger is not None else None,
        upsert_search_attributes=False,
        revision=INTERPRETER_REVISION,
    )


def offline_customer(
    customer_id: str,
    profiles: RecordedProfile,
    policy: DeliveryPolicy | None = None,
    past_sends: Sequence[PastSend] = (),
    unsubscribe: UnsubscribeConfig | None = None,
    secrets: Mapping[str, str] | None = None,
) -> OfflineCustomer:
    """The customer's world for an offline run, with `run_offline`'s defaults."""
    return OfflineCustomer(
        customer_id,
        profiles,
        policy=policy or DeliveryPolicy(),
        past_sends=list(past_sends),
        unsubscribe=unsubscribe or UnsubscribeConfig.development(),
        secrets=secrets if secrets is not None else PlaceholderSecrets(),
    )


def finished_run(
    journey: ir.Journey, customer: OfflineCustomer, state: EnrollmentState, entered_at: datetime, ended: Finish | None, at: datetime
) -> OfflineRun:
    if ended is not None:
        status, step, reason, at = ended.result.status, ended.result.step, ended.request.reason, datetime.fromisoformat(ended.result.at)
    else:
        status, step, reason = "waiting", state.step, None
    trail = tuple((entry.step, datetime.fromisoformat(entry.at)) for entry in state.trail)
    outcome: dict[str, Any] = {"status": status, "step": step, "at": iso(at)}
    if reason is not None:
        outcome["reason"] = reason
    return OfflineRun(
        journey, customer.customer_id, entered_at, trail, _send_outcomes(customer), status, step, reason, at,
        lambda: _timeline(journey, customer, state, outcome),
    )


def _timeline(journey: ir.Journey, customer: OfflineCustomer, state: EnrollmentState, outcome: dict[str, Any]) -> Timeline:
    messages, skipped = sends_shown(customer.attempts, customer.outbox, outcome["status"] != "waiting")
    problems = sorted(customer.problems.values(), key=lambda p: (p.at, p.visit, p.step, p.field))
    return Timeline(
        journey=journey.id,
        version=journey.version,
        steps=[{"step": entry.step, "at": iso(datetime.fromisoformat(entry.at))} for entry in state.trail],
        messages=messages,
        outcome=outcome,
        webhooks=customer.webhooks,
        skipped=skipped,
        problems=[{"at": iso(p.at), "step": p.step, "field": p.field, "problem": p.problem} for p in problems],
        awaited={step_id: event.as_scope() for step_id, event in state.awaited.items()},
    )


def _send_outcomes(customer: OfflineCustomer) -> tuple[SendOutcome, ...]:
    """One outcome per visit of a send step: its last attempt's, with when and why it was held first if it was."""
    visits: dict[tuple[str, int], list[tuple[SendRequest, SendResult]]] = {}
    for request, result in customer.attempts:
        visits.setdefault((request.step.id, request.visit), []).append((request, result))
    outcomes = []
    for key, tries in visits.items():
        (first_request, first), (last_request, last) = tries[0], tries[-1]
        status: SendStatus = "held" if last.status == "deferred" else last.status  # type: ignore[assignment]
        held_first = first.status == "deferred"
        outcomes.append(
            SendOutcome(
                step=key[0],
                visit=key[1],
                channel=customer.channels.get(key, last_request.step.channel),
                category=last_request.step.category,
                status=status,
                reason=last.reason,
                at=datetime.fromisoformat((first_request if status == "held" else last_request).now),
                due=datetime.fromisoformat(first_request.now) if held_first and status != "held" else None,
                held=first.reason if held_first else None,
                message=customer.rendered.get(key),
            )
        )
    return tuple(outcomes)
