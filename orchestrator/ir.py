"""The compiled journey: a frozen, typed, JSON-serializable graph (the IR).

The compiler produces it, `journey compile` prints it, and the runtime executes
it: an enrollment receives the whole IR as its workflow input, so it stays
pinned to the version it started on. Every class has a `kind` discriminator so
the JSON form decodes back without guessing. Field names are part of the
persisted format: add fields with defaults, never rename or remove one.

Durations are whole seconds; times of day are "HH:MM" strings; expressions and
templates are kept as source text and evaluated by `orchestrator.language.templating`.
Step classes also state facts about their kind (`StepFacts`) as class attributes,
which are no part of the JSON form.

No `from __future__ import annotations`: a send step and the settings travel whole in
the send activity's input (orchestrator/runtime/contracts.py), and Temporal's data
converter resolves a dataclass's type hints on every decode, which string annotations
make evaluate anew each time. Hence a class is defined before the classes that name it.
"""

import hashlib
import json
import types
import typing
from dataclasses import dataclass, fields, is_dataclass
from typing import Any, ClassVar, Literal, Protocol, Self

IR_FORMAT = 1
"""Bumped when the IR changes in a way old interpreters cannot read."""

END = "end"
"""The target that ends an enrollment."""


@dataclass(frozen=True)
class EventFilter:
    """An event name, optionally with a condition on the event's properties."""

    event: str
    where: str | None = None


# --- triggers -----------------------------------------------------------------


@dataclass(frozen=True)
class EventTrigger:
    """Enroll when `event` is tracked for a customer and `where` holds."""

    event: str
    where: str | None = None
    kind: Literal["event"] = "event"


@dataclass(frozen=True)
class SegmentTrigger:
    """Enroll when a profile starts to match `condition` after an identify call."""

    condition: str
    kind: Literal["segment"] = "segment"


@dataclass(frozen=True)
class ScheduleTrigger:
    """A broadcast: enroll every profile matching the audience on `cron`, or once `at` (UTC ISO 8601)."""

    cron: str | None = None
    at: str | None = None
    timezone: str = "UTC"
    kind: Literal["schedule"] = "schedule"


Trigger = EventTrigger | SegmentTrigger | ScheduleTrigger


@dataclass(frozen=True)
class Entry:
    """Who may enroll: `audience` on the profile; re-entry `never`, `always` or `after` a delay since the last entry."""

    audience: str | None = None
    re_entry: Literal["never", "always", "after"] = "never"
    re_entry_after_seconds: int | None = None


MEASUREMENT_WINDOW_SECONDS = 7 * 24 * 3600
"""A goal without `within` measures an A/B test's groups for a week after entry: long enough for a weekly
habit to show, short enough that a customer's next entry (re-entry waits for the enrollment to end) is not
held back for long. `within` sets another window (docs/language.md, `goal`). The compiler writes it into
`Goal.measure_seconds`; analytics reads it for journeys compiled before that field existed."""


@dataclass(frozen=True)
class Goal:
    """The conversion event; `within_seconds` is the window from entry (None: the whole enrollment)."""

    event: str
    where: str | None = None
    within_seconds: int | None = None
    measure_seconds: int | None = None
    """The measurement window from entry: how long an enrollment that passed a split (an arm or the
    holdout) stays to count a conversion, so every group of an A/B test is measured for the same time.
    `within_seconds` when set, otherwise the compiler's default (docs/language.md, `goal`). None in
    journeys compiled before it existed: their holdout stayed for `within` only, their arms not at all."""


@dataclass(frozen=True)
class QuietHours:
    """A daily local window ("HH:MM" to "HH:MM", may cross midnight) in which messages are held."""

    start: str
    end: str


@dataclass(frozen=True)
class FrequencyCap:
    """At most `max` marketing messages from this journey per customer in any `per_seconds` (a rolling window)."""

    max: int
    per_seconds: int


@dataclass(frozen=True)
class Settings:
    """Journey-wide delivery settings. `timezone` applies to customers whose profile has none."""

    timezone: str = "UTC"
    quiet_hours: QuietHours | None = None
    frequency_cap: FrequencyCap | None = None


# --- steps ------------------------------------------------------------------


class StepFacts(Protocol):
    """What every step class says about its kind, for the runtime and the compiler alike.

    Class attributes, not fields: they are no part of the JSON form. The runtime
    may not import the compiler, so facts both need live here, once, and the
    compiler's step kinds (orchestrator/compiler/steps/) read them from the classes
    they lower to.
    """

    rests: ClassVar[bool]
    """An enrollment blocks here until a time or an event (the wait kinds). A loop that passes
    such a step is no busy loop (the compiler's loop-without-wait rule), and it is a step the
    start call may show as CurrentStep (orchestrator/runtime/search_attributes.py)."""
    passes_in_one_go: ClassVar[bool]
    """Over in a moment and always on to `next` (the class has one), so the start call may look
    past it for the step the enrollment will rest at. A send held by quiet hours upserts its own
    step while held; a webhook may retry a failing endpoint for minutes without showing its step,
    so it does not pass in one go; branches and splits do not have one fixed way on."""


@dataclass(frozen=True)
class TemplateVariant:
    """The content of a per-locale variant of a send's template file (`templates/x.fr_CA.html`)."""

    locale: str
    """Babel's form of the tag: `fr`, `fr_CA`, `zh_Hant_TW`."""
    body: str


Channel = Literal["email", "sms", "push"]
Category = Literal["marketing", "transactional"]


@dataclass(frozen=True)
class SendStep:
    """Send one message. `body` holds the inline body or the content of the template file.

    `channel` is the first choice; `fallback` the channels tried after it, in order, when the
    customer cannot be reached on it (no consent, no address, an undeliverable address).
    """

    id: str
    channel: Channel
    next: str
    category: Category = "marketing"
    subject: str | None = None
    preheader: str | None = None
    title: str | None = None
    body: str | None = None
    url: str | None = None
    template_path: str | None = None
    variants: tuple[TemplateVariant, ...] = ()
    """Per-locale variants of the template file; a customer gets the most specific match, else `body`."""
    fallback: tuple[Channel, ...] = ()
    kind: Literal["send"] = "send"
    rests: ClassVar[bool] = False
    passes_in_one_go: ClassVar[bool] = True


@dataclass(frozen=True)
class WaitStep:
    """Sleep for `seconds`."""

    id: str
    seconds: int
    next: str
    kind: Literal["wait"] = "wait"
    rests: ClassVar[bool] = True
    passes_in_one_go: ClassVar[bool] = False


@dataclass(frozen=True)
class WaitUntilStep:
    """Sleep until the next local time of day `until` ("HH:MM"), on one of `days` (empty: any day)."""

    id: str
    until: str
    next: str
    days: tuple[str, ...] = ()
    kind: Literal["wait_until"] = "wait_until"
    rests: ClassVar[bool] = True
    passes_in_one_go: ClassVar[bool] = False


@dataclass(frozen=True)
class WaitUntilDateStep:
    """Sleep until the date the `until_date` expression gives, shifted by `offset_seconds`, at local `at`.

    With `repeat="yearly"` the next anniversary of that date is used (birthdays).
    """

    id: str
    until_date: str
    next: str
    offset_seconds: int = 0
    at: str | None = None
    repeat: Literal["yearly"] | None = None
    kind: Literal["wait_until_date"] = "wait_until_date"
    rests: ClassVar[bool] = True
    passes_in_one_go: ClassVar[bool] = False


@dataclass(frozen=True)
class WaitForStep:
    """Wait for `event` (matching `where`); go to `next` on arrival, to `timeout_next` after `within_seconds`."""

    id: str
    event: str
    next: str
    where: str | None = None
    within_seconds: int | None = None
    timeout_next: str | None = None
    remembered: bool = False
    """Whether an expression or template of the journey reads this step's match as `events.<id>`: only then does
    an enrollment keep it (the latest one) and pass it to the steps after. False in IR from before `events`."""
    kind: Literal["wait_for"] = "wait_for"
    rests: ClassVar[bool] = True
    passes_in_one_go: ClassVar[bool] = False


@dataclass(frozen=True)
class BranchCase:
    when: str
    next: str


@dataclass(frozen=True)
class BranchStep:
    """Go to the `next` of the first case whose `when` holds, else to `else_next`."""

    id: str
    cases: tuple[BranchCase, ...]
    else_next: str
    kind: Literal["branch"] = "branch"
    rests: ClassVar[bool] = False
    passes_in_one_go: ClassVar[bool] = False


@dataclass(frozen=True)
class SplitPath:
    name: str
    weight: float
    next: str


@dataclass(frozen=True)
class SplitStep:
    """Pick a path at random by weight, deterministically per (customer, journey, step).

    A `holdout_weight` share of customers gets no path: they leave the journey as
    `holdout`, still counted for goal conversions.
    """

    id: str
    paths: tuple[SplitPath, ...]
    holdout_weight: float = 0
    kind: Literal["split"] = "split"
    rests: ClassVar[bool] = False
    passes_in_one_go: ClassVar[bool] = False


@dataclass(frozen=True)
class UpdateStep:
    """Write profile traits: literal `set` values, `compute` expressions, and `unset` names."""

    id: str
    next: str
    set: dict[str, Any] | None = None
    compute: dict[str, str] | None = None
    unset: tuple[str, ...] = ()
    kind: Literal["update"] = "update"
    rests: ClassVar[bool] = False
    passes_in_one_go: ClassVar[bool] = True


@dataclass(frozen=True)
class WebhookStep:
    """Call an HTTP endpoint; `url`, `headers` and string leaves of `body` are templates."""

    id: str
    url: str
    next: str
    method: str = "POST"
    headers: dict[str, str] | None = None
    body: Any = None
    timeout_seconds: int = 10
    kind: Literal["webhook"] = "webhook"
    rests: ClassVar[bool] = False
    passes_in_one_go: ClassVar[bool] = False


@dataclass(frozen=True)
class ExitStep:
    """End the enrollment as `exited`."""

    id: str
    reason: str | None = None
    kind: Literal["exit"] = "exit"
    rests: ClassVar[bool] = False
    passes_in_one_go: ClassVar[bool] = False


Step = SendStep | WaitStep | WaitUntilStep | WaitUntilDateStep | WaitForStep | BranchStep | SplitStep | UpdateStep | WebhookStep | ExitStep


@dataclass(frozen=True)
class Journey:
    """One compiled journey version. `start` is the first step; `events` every event name it listens to."""

    id: str
    name: str
    version: str
    trigger: Trigger
    entry: Entry
    settings: Settings
    steps: tuple[Step, ...]
    start: str
    events: tuple[str, ...]
    description: str = ""
    tags: tuple[str, ...] = ()
    goal: Goal | None = None
    exit_on: tuple[EventFilter, ...] = ()
    format: int = IR_FORMAT

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def to_dict(self) -> dict[str, Any]:
        return _encode(self)

    def to_json(self, *, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=indent is None)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        return _decode(cls, data)


def content_version(journey_without_version: dict[str, Any]) -> str:
    """The version of a journey: a hash of its canonical JSON, so equal content means equal version."""
    canonical = json.dumps(journey_without_version, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


_FIELD_NAMES: dict[type, tuple[str, ...] | None] = {}


def _field_names(cls: type) -> tuple[str, ...] | None:
    """Field names of a dataclass type (None for other types), cached: encoding runs once per compile."""
    try:
        return _FIELD_NAMES[cls]
    except KeyError:
        names = tuple(f.name for f in fields(cls)) if is_dataclass(cls) else None
        _FIELD_NAMES[cls] = names
        return names


def _encode(value: Any) -> Any:
    names = _field_names(value.__class__)
    if names is not None:
        return {name: _encode(getattr(value, name)) for name in names}
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    return value


def _decode(annotation: Any, data: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        if data is None and type(None) in options:
            return None
        if isinstance(data, dict) and "kind" in data:
            for option in options:
                if is_dataclass(option) and _kind_of(option) == data["kind"]:
                    return _decode(option, data)
        for option in options:
            if option is not type(None):
                return _decode(option, data)
    if origin is tuple:
        (item, *_) = typing.get_args(annotation)
        return tuple(_decode(item, v) for v in data)
    if is_dataclass(annotation) and isinstance(annotation, type):
        hints = _type_hints(annotation)
        return annotation(**{f.name: _decode(hints[f.name], data[f.name]) for f in fields(annotation) if f.name in data})
    return data


_TYPE_HINTS: dict[type, dict[str, Any]] = {}


def _type_hints(cls: type) -> dict[str, Any]:
    """`typing.get_type_hints(cls)`, cached: each call walks the class's bases and rebuilds every
    annotation (unions, tuples) into a new dict, and every enrollment decodes its journey, which asks
    for the hints of every dataclass value in it."""
    try:
        return _TYPE_HINTS[cls]
    except KeyError:
        hints = _TYPE_HINTS[cls] = typing.get_type_hints(cls)
        return hints


def _kind_of(cls: type) -> str | None:
    for f in fields(cls):
        if f.name == "kind":
            return typing.cast(str, f.default)
    return None
