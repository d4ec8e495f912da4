"""A backtest's report: what a journey would have done over recorded history, and two of them side by side.

The counts are made by orchestrator/simulation/backtest.py (the journey run offline over every customer's
recorded events and profile, sending nothing); this module holds what they mean, in the vocabulary of a
journey's report (report.py: entered, waiting, completed, converted, exited, holdout, failed; reached; sent,
held, suppressed by the gate's reason; conversion over matured enrollments with its interval), and the JSON
document `journey backtest --format json` prints (docs/backtest.md, field by field). Every figure is an
exact count over the window's enrollments; a rate over nothing is None, never 0.

What a backtest adds: the refusals, by the entry rule that refused (`trigger`, `audience`, `re_entry`), and
for each send step and channel the messages held first (by why: quiet hours, the SMS window) and those still
held when the window ended. What it cannot have: what providers reported (delivered, opened...), as nothing
was sent.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from orchestrator.analytics.report import Conversion, GoalReport, Totals
from orchestrator.analytics.revenue import Revenue


@dataclass(frozen=True)
class Refusal:
    rule: str
    """The entry rule that refused: trigger (its `where`), audience, re_entry (running already, or the re-entry rule)."""
    reason: str
    """In the entry rules' words (orchestrator/routing/entry.py)."""
    count: int


@dataclass(frozen=True)
class ChannelMessages:
    """What one send step's visits became on one channel (the gate's choice, or the step's)."""

    channel: str
    sent: int = 0
    failed: int = 0
    """Refused by the renderer (a template that failed on the customer's data)."""
    suppressed: dict[str, int] = field(default_factory=dict)
    """By the delivery gate's reason: consent, address, caps."""
    held: dict[str, int] = field(default_factory=dict)
    """Held at least once before they went out or were suppressed, by why (quiet hours, the SMS window)."""
    still_held: int = 0
    """Held when the window ended: neither sent nor suppressed by then."""

    @property
    def decided(self) -> int:
        return self.sent + self.failed + sum(self.suppressed.values()) + self.still_held


@dataclass(frozen=True)
class BacktestStep:
    step: str
    kind: str
    reached: int
    """Enrollments that ran the step at least once."""
    reached_rate: float | None
    """reached / entered."""
    waiting: int
    """Enrollments resting at the step when the window ended."""
    messages: tuple[ChannelMessages, ...] = ()
    """A send step: per channel, in the order the channels first came up."""

    @property
    def sent(self) -> int:
        return sum(channel.sent for channel in self.messages)

    @property
    def suppressed(self) -> int:
        return sum(sum(channel.suppressed.values()) for channel in self.messages)

    @property
    def held(self) -> int:
        return sum(sum(channel.held.values()) for channel in self.messages)


@dataclass(frozen=True)
class Sample:
    """One customer's timeline, as `journey simulate` prints it (shown only when asked: it is personal data)."""

    customer: str
    text: str
    timeline: dict[str, Any]


@dataclass(frozen=True)
class BacktestReport:
    journey: str
    name: str
    version: str
    window_from: datetime
    window_to: datetime
    customers: int
    """Customers whose recorded history the window holds (those with calls in it; for a broadcast, every profile)."""
    totals: Totals
    """As a journey's report counts them; `converted` by the goal, whatever the enrollment did after."""
    refused: tuple[Refusal, ...]
    goal: GoalReport | None
    conversion: Conversion
    """Matured: the goal's window ended by the window's end, or converted."""
    revenue: Revenue | None
    steps: tuple[BacktestStep, ...]
    """In the journey's order of steps."""
    samples: tuple[Sample, ...] = ()

    @property
    def sent(self) -> int:
        return sum(step.sent for step in self.steps)

    @property
    def refusals(self) -> int:
        return sum(refusal.count for refusal in self.refused)

    def step(self, step_id: str) -> BacktestStep | None:
        return next((step for step in self.steps if step.step == step_id), None)

    def document(self) -> dict[str, Any]:
        """The report as JSON data (docs/backtest.md): field names as here, the window as `from` and `to`, times ISO 8601."""
        fields = asdict(self)
        window_from, window_to = fields.pop("window_from"), fields.pop("window_to")
        fields["steps"] = [
            {**asdict(step), "sent": step.sent, "suppressed": step.suppressed, "held": step.held} for step in self.steps
        ]
        return {"journey": fields.pop("journey"), "from": window_from.isoformat(), "to": window_to.isoformat(), **fields}


Side = Literal["both", "journey", "other"]


@dataclass(frozen=True)
class StepDifference:
    """One step of either journey (by id): its figures in each, None where that journey has no such step."""

    step: str
    side: Side
    """both, or only in the journey (the file backtested) or only in the other."""
    reached: tuple[int | None, int | None]
    sent: tuple[int | None, int | None]
    suppressed: tuple[int | None, int | None]
    held: tuple[int | None, int | None]


@dataclass(frozen=True)
class BacktestComparison:
    """The journey's backtest and another's (`--compare`, or what is deployed) over the same history: differences are journey - other."""

    journey: BacktestReport
    other: BacktestReport
    journey_label: str
    other_label: str

    def totals(self) -> list[tuple[str, int, int]]:
        """(what, journey's, other's) for the headline figures."""
        a, b = self.journey, self.other
        figures = [("entered", a.totals.entered, b.totals.entered), ("customers", a.totals.customers, b.totals.customers)]
        figures.append(("refused", a.refusals, b.refusals))
        figures += [(name, getattr(a.totals, name), getattr(b.totals, name)) for name in _STATUSES]
        figures.append(("messages sent", a.sent, b.sent))
        return figures

    def steps(self) -> list[StepDifference]:
        """Every step of the journey in its order, then the other's steps it does not have, in theirs."""
        differences = []
        for step in self.journey.steps:
            other = self.other.step(step.step)
            differences.append(_difference(step.step, "both" if other is not None else "journey", step, other))
        known = {step.step for step in self.journey.steps}
        differences += [_difference(step.step, "other", None, step) for step in self.other.steps if step.step not in known]
        return differences

    def document(self) -> dict[str, Any]:
        return {
            "journey": {"label": self.journey_label, **self.journey.document()},
            "other": {"label": self.other_label, **self.other.document()},
            "differences": {
                "totals": {what: a - b for what, a, b in self.totals()},
                "conversion_rate": _minus(self.journey.conversion.rate, self.other.conversion.rate),
                "steps": [asdict(step) for step in self.steps()],
            },
        }


_STATUSES = ("waiting", "completed", "converted", "exited", "holdout", "failed")


def _difference(step_id: str, side: Side, a: BacktestStep | None, b: BacktestStep | None) -> StepDifference:
    def pair(figure: str) -> tuple[int | None, int | None]:
        return (getattr(a, figure) if a else None, getattr(b, figure) if b else None)

    return StepDifference(step_id, side, pair("reached"), pair("sent"), pair("suppressed"), pair("held"))


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b
