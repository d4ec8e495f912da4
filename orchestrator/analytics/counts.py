"""The counts a journey's report is made of: what the store reads from the journey facts, and all the report needs.

The store folds the facts into these (orchestrator/store/, "journey_counts"); `report.py` turns them into
rates, intervals and verdicts. Every figure is a count or a sum of recorded facts over the enrollments
that entered in the report's range (the cohort), as docs/analytics.md defines each one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from orchestrator import ir


def conversion_window_seconds(journey: ir.Journey) -> int | None:
    """How long after entry a goal event converts an enrollment of `journey`; None: it has no goal, nothing converts.

    The goal's window (ir.Goal.window_seconds, docs/analytics.md "converted"), here for what has no goal.
    """
    return journey.goal.window_seconds if journey.goal is not None else None


@dataclass(frozen=True)
class MessageCounts:
    """What became of the messages one send step sent (each counted once per enrollment and visit)."""

    sent: int = 0
    delivered: int = 0
    opened: int = 0
    """Opened or clicked: a click counts as an open (a client that blocks images still clicks)."""
    clicked: int = 0
    bounced: int = 0
    failed: int = 0
    held: int = 0
    """Held at least once (quiet hours, the SMS marketing window) before it went out or was suppressed."""
    suppressed: dict[str, int] = field(default_factory=dict)
    """By reason, in the delivery gate's words."""


@dataclass(frozen=True)
class StepCounts:
    step: str
    reached: int
    """Enrollments that ran the step (at least once)."""
    waiting: int
    """Enrollments resting at the step now."""
    messages: MessageCounts = field(default_factory=MessageCounts)
    credited: int = 0
    """Conversions whose last message before the goal was this step's."""
    ways: dict[str, int] = field(default_factory=dict)
    """A branch step: how many enrollments it sent on to each step (first visits; from interpreter revision 4 on)."""


@dataclass(frozen=True)
class ValueSample:
    """Values of one measure over a group: how many, their sum and the sum of their squares (for a mean's interval)."""

    count: int = 0
    total: float = 0.0
    total_of_squares: float = 0.0


@dataclass(frozen=True)
class GroupCounts:
    """One arm of a split, or its holdout ("holdout"): the enrollments the split assigned to it."""

    arm: str
    assigned: int
    matured: int
    """Assigned enrollments whose conversion window has elapsed, or that converted."""
    converted: int
    goal_values: ValueSample = field(default_factory=ValueSample)
    """The goal's values over the matured enrollments: `count` is those enrollments, each adding its conversion's
    value, or 0 when it did not convert or its conversion had no value (a mean per enrollment)."""


@dataclass(frozen=True)
class SplitCounts:
    step: str
    groups: tuple[GroupCounts, ...]
    """In the split's order of paths, the holdout last."""


@dataclass(frozen=True)
class MetricSample:
    """The answers to one metric within one group of enrollments (at most one per enrollment: the first)."""

    values: ValueSample = field(default_factory=ValueSample)
    buckets: dict[str, int] = field(default_factory=dict)
    """nps: promoter, passive, detractor; csat: satisfied, unsatisfied; other kinds: none."""


@dataclass(frozen=True)
class MetricCounts:
    metric: str
    kind: str
    overall: MetricSample
    by_arm: dict[str, dict[str, MetricSample]] = field(default_factory=dict)
    """By split step, then by arm (the holdout as "holdout")."""
    by_week: dict[str, MetricSample] = field(default_factory=dict)
    """By ISO week of the answer ("2026-W49")."""


@dataclass(frozen=True)
class DayCounts:
    """One UTC day, by the day each thing happened (not the cohort): entries, conversions, messages sent."""

    day: date
    entered: int = 0
    converted: int = 0
    sent: int = 0


@dataclass(frozen=True)
class JourneyCounts:
    """Everything counted for one journey (one version, or all) over the enrollments that entered in [first_day, last_day]."""

    journey: str
    versions: tuple[str, ...]
    """The versions counted (one when the report asked for one)."""
    first_day: date | None
    last_day: date | None
    entered: int
    customers: int
    """Distinct customers among the enrollments counted."""
    waiting: int
    """Running now."""
    completed: int
    exited: int
    holdout: int
    failed: int
    converted: int
    """Enrollments with a goal event within their window (whether or not the workflow was still running)."""
    matured: int
    """Enrollments whose window has elapsed, or that converted: the denominator of the conversion rate."""
    goal_values: ValueSample = field(default_factory=ValueSample)
    steps: tuple[StepCounts, ...] = ()
    """In the journey's order of steps."""
    splits: tuple[SplitCounts, ...] = ()
    metrics: tuple[MetricCounts, ...] = ()
    daily: tuple[DayCounts, ...] = ()
    merged: int = 0
    """Ended because their customer's anonymous profile merged and an older enrollment in the journey continued."""
