"""Values that cross the workflow/activity and client/workflow boundaries.

Each workflow and activity takes one dataclass, so fields can be added (with
defaults) without breaking running enrollments. Field names are persisted in
workflow histories: never rename one.

No `from __future__ import annotations` here (nor in orchestrator/ir.py, whose send step
and settings travel in a SendRequest): Temporal's data converter resolves a dataclass's
type hints on every decode, and string annotations make each resolution evaluate every
one of them again, which costs far more than reading real ones (bench/send_path.py times
the decode of a send request).
Hence also: a class must be defined before the classes whose fields name it.
"""

from dataclasses import dataclass, field
from typing import Any

import orchestrator.ir as ir

WORKFLOW_NAME = "JourneyWorkflow"
EVENT_SIGNAL = "event"
STATUS_QUERY = "status"
MOVE_SIGNAL = "move"
INTERPRETER_REVISION = 5
"""What new enrollments start with as EnrollmentInput.revision (orchestrator/runtime/workflow.py says what each changed)."""


@dataclass
class EventMessage:
    """A tracked event, as delivered to an enrollment."""

    message_id: str
    name: str
    properties: dict[str, Any] = field(default_factory=dict)
    timestamp: str = ""
    """ISO 8601, UTC."""


@dataclass
class AwaitedEvent:
    """The event a `wait_for` step matched, as steps after it read it: `events.<step id>` in expressions and templates."""

    name: str
    properties: dict[str, Any] = field(default_factory=dict)
    timestamp: str = ""
    """The event's own timestamp, ISO 8601, as the track call gave it."""

    @classmethod
    def of(cls, event: EventMessage) -> "AwaitedEvent":
        return cls(event.name, dict(event.properties), event.timestamp)

    def as_scope(self) -> dict[str, Any]:
        """What `events.<step id>` holds: `name`, `properties`, `timestamp`."""
        return {"name": self.name, "properties": self.properties, "timestamp": self.timestamp}


@dataclass
class TrailEntry:
    step: str
    at: str


@dataclass
class ProgressFact:
    """A journey fact only the workflow knows, not yet handed to the store: a step reached, or a rest.

    The activity that records it (`send_message`, `record_progress`, `finish_enrollment`) adds the enrollment, its
    customer and journey version, and turns it into a `journey_facts` row (docs/analytics.md, "Facts").
    """

    kind: str
    """reached | branched | rested"""
    step: str
    at: str
    """The journey's clock (ISO 8601, UTC) when it happened."""
    visit: int | None = None
    """With `rested`: which visit of the step the enrollment rests on."""
    name: str | None = None
    """With `reached` of a split step: the path it assigned, or `holdout`; with `branched`: the step the branch went on to."""


@dataclass
class MoveRequest:
    """The `move` signal: move onto `version` at the wait the enrollment is at, or the next one it blocks at
    (orchestrator/runtime/migration.py decides whether it can; `journey deploy --migrate` sends it)."""

    journey: dict[str, Any]
    """The new version's IR as JSON, as EnrollmentInput.journey holds it: what the enrollment runs from then on."""
    version: str
    mapping: dict[str, str] = field(default_factory=dict)
    """Old step id -> new step id, for steps the new version renamed or removed (`--map OLD=NEW`)."""


@dataclass
class ResumeState:
    """Where a continued-as-new enrollment picks up."""

    step: str
    entered_at: str
    visits: dict[str, int]
    pending: list[EventMessage]
    seen: list[str]
    trail: list[TrailEntry]
    waiting: bool = False
    """True when the previous run was already waiting at `step` (a wait or wait_for): the new run
    goes on waiting until `wait_until` instead of entering the step again."""
    wait_until: str | None = None
    """ISO 8601 end of that wait; None with `waiting`: until the awaited event arrives."""
    awaited: dict[str, AwaitedEvent] = field(default_factory=dict)
    """The latest match of each `wait_for` step the journey reads as `events.<id>` (none from older runs)."""
    unreported: list[ProgressFact] = field(default_factory=list)
    """Facts the previous run collected and had not handed to the store yet (none from older runs)."""
    move: MoveRequest | None = None
    """A move the previous run was asked for and had not reached a wait to decide on yet."""


@dataclass
class EnrollmentInput:
    """The start of one enrollment: a pinned journey version for one customer."""

    journey: dict[str, Any]
    """The IR as JSON (orchestrator.ir.Journey.to_dict()): the version this enrollment runs to the end."""
    customer_id: str
    enrollment_id: str
    trigger: EventMessage | None = None
    clock_shift_seconds: float = 0.0
    """Simulation only: the journey's clock is the server's plus this shift (to start at a chosen date)."""
    upsert_search_attributes: bool = True
    """False where the server has no custom search attributes (the time-skipping test server)."""
    resume: ResumeState | None = None
    history_limit: int | None = None
    """Continue as new past this many history events (None: `workflow.HISTORY_LIMIT`). Tests lower it."""
    revision: int = 0
    """The interpreter revision the enrollment started on (INTERPRETER_REVISION when started now), so the
    interpreter can choose a behaviour by it as deterministically as by `workflow.patched`, with no marker.
    0: started before the input carried it (the interpreter asks `workflow.patched`)."""


@dataclass
class EnrollmentResult:
    status: str
    """completed | converted | exited | holdout"""
    step: str | None
    at: str


@dataclass
class EnrollmentStatus:
    """What the `status` query answers."""

    status: str
    """running | completed | converted | exited | holdout"""
    step: str | None
    trail: list[TrailEntry]
    awaited: dict[str, AwaitedEvent] = field(default_factory=dict)
    """What the steps read as `events`: the latest match of each `wait_for` step the journey reads."""


# --- activities ---------------------------------------------------------------


@dataclass
class SendRequest:
    """One visit of a send step, for the `send_message` activity: the step and the journey's settings as the IR has them."""

    enrollment_id: str
    journey_id: str
    version: str
    visit: int
    """Which visit of the step this is (1, then 2 when the journey comes back to it): part of the delivery's ledger key."""
    customer_id: str
    step: ir.SendStep
    settings: ir.Settings
    """Quiet hours, the journey's frequency cap, and the zone of customers whose profile has none."""
    event: dict[str, Any] | None
    """The triggering event's properties (`event` in templates)."""
    now: str
    """The journey's clock (ISO 8601, UTC) when the workflow asked: the gate decides and stamps by it."""
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    """`events` in templates: by wait_for step id, what it matched ({name, properties, timestamp}); only the
    matches the journey reads. Empty from workflows that predate it."""
    facts: list[ProgressFact] = field(default_factory=list)
    """The facts the enrollment collected since it last reported, recorded with the send's outcome unless the send is
    held (revision 4 on; the workflow keeps them when it is)."""
    then: list[ProgressFact] = field(default_factory=list)
    """The wait the enrollment goes to once this send is decided, reached and rested there, recorded after the outcome
    unless the send is held (revision 4 on): so an enrollment that sends and then waits reports nothing of its own."""


@dataclass
class LegacySendRequest:
    """A `SendRequest` as workflows scheduled it before it carried the step whole: decoded, never sent.

    An activity task such a workflow scheduled may be retried by a worker running this code, so
    `send_message` takes `SendRequest | LegacySendRequest`: Temporal's converter tries them in that
    order, and an old input, which has no `step`, fails as the first and decodes as this one.
    `upgraded()` rebuilds the step from the fields the workflow copied out of it; the settings
    decode from their IR JSON as they always were. The step's `next` is not among the fields
    (the activity never reads it), and the old `transactional_steps`, which nothing read, is
    left undecoded. Once no task an older workflow scheduled can still be pending or retrying,
    this class can go.
    """

    enrollment_id: str
    journey_id: str
    version: str
    step_id: str
    visit: int
    customer_id: str
    channel: ir.Channel
    category: ir.Category
    subject: str | None
    preheader: str | None
    title: str | None
    body: str | None
    url: str | None
    event: dict[str, Any] | None
    now: str
    settings: ir.Settings = field(default_factory=ir.Settings)
    fallback: list[ir.Channel] = field(default_factory=list)
    variants: dict[str, str] = field(default_factory=dict)
    """Per-locale variants of `body`, by Babel locale tag."""

    def upgraded(self) -> SendRequest:
        """The request a workflow makes now for the same send."""
        step = ir.SendStep(
            id=self.step_id,
            channel=self.channel,
            next="",
            category=self.category,
            subject=self.subject,
            preheader=self.preheader,
            title=self.title,
            body=self.body,
            url=self.url,
            variants=tuple(ir.TemplateVariant(locale, body) for locale, body in self.variants.items()),
            fallback=tuple(self.fallback),
        )
        return SendRequest(
            self.enrollment_id, self.journey_id, self.version, self.visit, self.customer_id, step, self.settings, self.event, self.now
        )


@dataclass
class SendResult:
    status: str
    """sent | suppressed | failed | deferred"""
    reason: str | None = None
    retry_at: str | None = None
    """With `deferred`: when to try again (quiet hours end)."""


@dataclass
class ConditionRequest:
    """Evaluate expressions with the customer's current profile and an event in scope."""

    customer_id: str
    journey_id: str
    version: str
    conditions: list[str]
    event: dict[str, Any] | None
    step_id: str | None = None
    """`journey.step`: the step the enrollment is at (a branch, the wait_for awaiting the event, the step where a
    goal or exit_on event finds it). None from workflows that predate it: `journey` then holds no step."""
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    """`events` in the conditions: by wait_for step id, what it matched ({name, properties, timestamp}); only the
    matches the journey reads. Empty from workflows that predate it."""


@dataclass
class ValuesRequest:
    """Evaluate named expressions (an update's `compute`) with the current profile and an event in scope."""

    customer_id: str
    journey_id: str
    version: str
    expressions: dict[str, str]
    event: dict[str, Any] | None
    step_id: str | None = None
    """`journey.step`: the update step. None from workflows that predate it: `journey` then holds no step."""
    enrollment_id: str | None = None
    """With `visit` and `now`: where an expression that fails is noted as the enrollment's problem (None from
    workflows that predate them: the failure is only logged)."""
    visit: int | None = None
    now: str | None = None
    """The journey's clock (ISO 8601, UTC) when the workflow asked."""
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    """`events` in the expressions: by wait_for step id, what it matched ({name, properties, timestamp}); only the
    matches the journey reads. Empty from workflows that predate it."""


@dataclass
class WakeRequest:
    """When a `wait: {until: ...}` or `wait: {until_date: ...}` ends for this customer."""

    customer_id: str
    default_timezone: str
    now: str
    until: str | None = None
    days: list[str] = field(default_factory=list)
    until_date: str | None = None
    offset_seconds: int = 0
    at: str | None = None
    repeat: str | None = None
    event: dict[str, Any] | None = None
    journey_id: str | None = None
    """`journey` in `until_date`: the journey, its version and the wait step. None from workflows that
    predate them: `journey` then reads `{}`, as it did."""
    version: str | None = None
    step_id: str | None = None
    enrollment_id: str | None = None
    """With `visit`: where an `until_date` that gives no date is noted as the enrollment's problem (None from
    workflows that predate them: the wait is skipped without a note)."""
    visit: int | None = None
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    """`events` in `until_date`: by wait_for step id, what it matched ({name, properties, timestamp}); only the
    matches the journey reads. Empty from workflows that predate it."""


@dataclass
class WakeResult:
    at: str | None
    """ISO 8601 UTC; None when the date could not be worked out (the wait is skipped)."""
    reason: str | None = None


@dataclass
class UpdateRequest:
    enrollment_id: str
    journey_id: str
    version: str
    step_id: str
    customer_id: str
    set: dict[str, Any] | None
    compute: dict[str, str] | None
    unset: list[str]
    event: dict[str, Any] | None
    now: str
    visit: int | None = None
    """Which visit of the step: part of the key of a refused value's note (None from workflows that predate it:
    the refusal is only logged)."""


@dataclass
class WebhookRequest:
    enrollment_id: str
    journey_id: str
    version: str
    step_id: str
    visit: int
    customer_id: str
    url: str
    method: str
    headers: dict[str, str] | None
    body: Any
    timeout_seconds: int
    event: dict[str, Any] | None
    now: str | None = None
    """The journey's clock (ISO 8601, UTC) when the workflow asked: when a problem with the call is noted
    (None from workflows that predate it: the worker's clock)."""
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    """`events` in templates: by wait_for step id, what it matched ({name, properties, timestamp}); only the
    matches the journey reads. Empty from workflows that predate it."""


@dataclass
class WebhookResult:
    status_code: int | None
    error: str | None = None


@dataclass
class FinishRequest:
    enrollment_id: str
    status: str
    step: str | None
    at: str
    customer_id: str | None = None
    """Set by workflows since customer leases: the end is written under the customer's lock (None: older histories)."""
    reason: str | None = None
    """Why it ended, in the journey file's words (orchestrator/runtime/end_reasons.py): an exit step's reason,
    `exit_on: <event>`, `goal: <event>`, the holdout's split; None when it completed. None from workflows that
    predate it: the activity derives what the version tells (`derived_end_reason`)."""
    journey_id: str | None = None
    """With `version`: the journey of the `ended` fact. None from workflows that predate them: read from the index."""
    version: str | None = None
    facts: list[ProgressFact] = field(default_factory=list)
    """The facts the enrollment collected since it last reported, recorded with its end (revision 3 on)."""


@dataclass
class MovedRequest:
    """For `record_move`: the enrollment moves from `from_version` to `version`, waiting at `step` there."""

    enrollment_id: str
    customer_id: str
    journey_id: str
    from_version: str
    version: str
    from_step: str
    step: str
    at: str
    """The journey's clock (ISO 8601, UTC) when it moved."""


@dataclass
class ProgressRequest:
    """For the local `record_progress`: facts an enrollment collected, handed over before it blocks (revision 3 on)."""

    enrollment_id: str
    customer_id: str
    journey_id: str
    version: str
    facts: list[ProgressFact]
