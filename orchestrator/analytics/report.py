"""A journey's report: its counts (counts.py) and its compiled versions turned into rates, intervals and verdicts.

`journey_report(counts, journeys, now)` is pure: the store reads the counts, this decides what they
mean, and `JourneyReport.document()` is the JSON that `GET /v1/journeys/{id}/stats` answers and
`journey stats --format json` prints (docs/analytics.md, "The stats document", field by field).
The text and Markdown views (report_text.py, report_markdown.py) read the same value.

Raw counts always stand next to the rates made of them, and a rate with nothing to divide by is
None (null), never a division error: an empty journey reports zeros and nulls. Rates are
proportions (0.125 is 12.5 %); survey scores are in their own unit (metrics.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from orchestrator import ir
from orchestrator.analytics.channels import ChannelReport, channel_reports
from orchestrator.analytics.counts import DayCounts, JourneyCounts, StepCounts
from orchestrator.analytics.metrics import MetricReport, metric_report
from orchestrator.analytics.revenue import Revenue, revenue
from orchestrator.analytics.splits import SplitReport, split_report
from orchestrator.analytics.statistics import Interval, rate, wilson_interval


@dataclass(frozen=True)
class GoalReport:
    """What counts as a conversion: the goal's event, the window after entry, and the expression of its value if any."""

    event: str
    window_seconds: int
    value: str | None


@dataclass(frozen=True)
class Totals:
    entered: int
    customers: int
    waiting: int
    completed: int
    converted: int
    exited: int
    holdout: int
    failed: int
    merged: int = 0
    """Twins ended by an identity merge (docs/api.md, "Anonymous visitors"): entered, and neither converted nor exited."""


@dataclass(frozen=True)
class Conversion:
    """The journey's conversion rate over its matured enrollments (docs/analytics.md, "converted")."""

    converted: int
    matured: int
    maturing: int
    """Entered, not converted, window still open: in no rate until it closes."""
    rate: float | None
    ci: Interval | None


@dataclass(frozen=True)
class StepReport:
    step: str
    kind: str | None
    """The step's kind in the newest counted version that has it; None for a step none of them has."""
    channel: str | None
    reached: int
    reached_rate: float | None
    """reached / entered: the funnel."""
    waiting: int
    sent: int
    delivered: int
    opened: int
    clicked: int
    bounced: int
    failed: int
    held: int
    suppressed: dict[str, int]
    credited: int
    credited_share: float | None
    """credited / converted: the share of the journey's conversions whose last message was this step's."""
    delivery_rate: float | None
    """delivered / sent."""
    open_rate: float | None
    """opened / delivered (a click counts as an open)."""
    click_rate: float | None
    """clicked / delivered."""
    bounce_rate: float | None
    """bounced / sent."""
    ways: dict[str, int]
    """A branch step: the step it sent enrollments on to, and how many (first visits); empty for other kinds."""


@dataclass(frozen=True)
class JourneyReport:
    journey: str
    name: str
    versions: tuple[str, ...]
    first_day: date | None
    last_day: date | None
    as_of: datetime
    """When the counts were read: what "waiting" and "maturing" mean."""
    goal: GoalReport | None
    totals: Totals
    conversion: Conversion
    revenue: Revenue | None
    steps: tuple[StepReport, ...]
    channels: tuple[ChannelReport, ...]
    """The send steps added up per channel (channels.py)."""
    splits: tuple[SplitReport, ...]
    metrics: tuple[MetricReport, ...]
    daily: tuple[DayCounts, ...]

    def document(self) -> dict[str, Any]:
        """The report as JSON data: field names as here, except `first_day`/`last_day` as `from`/`to`; dates as ISO 8601."""
        fields = asdict(self)
        first_day, last_day = fields.pop("first_day"), fields.pop("last_day")
        document = {"journey": fields.pop("journey"), "from": first_day, "to": last_day, **fields}
        document["daily"] = [{"date": day.pop("day"), **day} for day in document["daily"]]
        return _json(document)


def journey_report(counts: JourneyCounts, journeys: Sequence[ir.Journey], now: datetime) -> JourneyReport:
    """The report of `counts`, read with `journeys` (the counted versions, oldest first; the newest names steps and goal)."""
    if not journeys:
        raise ValueError(f"a report needs the compiled journey: no version of {counts.journey!r} was given")
    newest = journeys[-1]
    goal = _goal(journeys)
    # Revenue is reported when a counted version's goal declares a value, or when conversions carried one.
    with_revenue = any(_goal_value(journey.goal) for journey in journeys) or counts.goal_values.count > 0
    steps = tuple(_step(step, journeys, counts) for step in counts.steps)
    return JourneyReport(
        journey=counts.journey,
        name=newest.name,
        versions=counts.versions,
        first_day=counts.first_day,
        last_day=counts.last_day,
        as_of=now,
        goal=goal,
        totals=Totals(
            entered=counts.entered,
            customers=counts.customers,
            waiting=counts.waiting,
            completed=counts.completed,
            converted=counts.converted,
            exited=counts.exited,
            holdout=counts.holdout,
            failed=counts.failed,
            merged=counts.merged,
        ),
        conversion=_conversion(counts.converted, counts.matured, counts.entered),
        revenue=revenue(counts.goal_values, counts.matured, counts.converted) if with_revenue else None,
        steps=steps,
        channels=channel_reports(steps),
        splits=tuple(split_report(split, with_revenue) for split in counts.splits),
        metrics=tuple(metric_report(metric) for metric in counts.metrics),
        daily=counts.daily,
    )


def _conversion(converted: int, matured: int, entered: int) -> Conversion:
    conversion_rate = rate(converted, matured)
    ci = wilson_interval(converted, matured) if conversion_rate is not None else None
    return Conversion(converted, matured, max(0, entered - matured), conversion_rate, ci)


def _goal(journeys: Sequence[ir.Journey]) -> GoalReport | None:
    """The newest version's goal; None when it has none (then nothing converts, and the conversion figures are zeros and nulls)."""
    goal = journeys[-1].goal
    if goal is None:
        return None
    return GoalReport(goal.event, goal.window_seconds, _goal_value(goal))


def _goal_value(goal: ir.Goal | None) -> str | None:
    return goal.value if goal is not None else None


def _step(counts: StepCounts, journeys: Sequence[ir.Journey], journey: JourneyCounts) -> StepReport:
    step = _find_step(counts.step, journeys)
    messages = counts.messages
    return StepReport(
        step=counts.step,
        kind=step.kind if step is not None else None,
        channel=step.channel if isinstance(step, ir.SendStep) else None,
        reached=counts.reached,
        reached_rate=rate(counts.reached, journey.entered),
        waiting=counts.waiting,
        sent=messages.sent,
        delivered=messages.delivered,
        opened=messages.opened,
        clicked=messages.clicked,
        bounced=messages.bounced,
        failed=messages.failed,
        held=messages.held,
        suppressed=dict(messages.suppressed),
        credited=counts.credited,
        credited_share=rate(counts.credited, journey.converted),
        delivery_rate=rate(messages.delivered, messages.sent),
        open_rate=rate(messages.opened, messages.delivered),
        click_rate=rate(messages.clicked, messages.delivered),
        bounce_rate=rate(messages.bounced, messages.sent),
        ways=dict(counts.ways),
    )


def _find_step(step_id: str, journeys: Sequence[ir.Journey]) -> ir.Step | None:
    for journey in reversed(journeys):
        for step in journey.steps:
            if step.id == step_id:
                return step
    return None


def _json(value: Any) -> Any:
    """Dates and times as ISO 8601 text, tuples as lists; the rest is JSON already."""
    if isinstance(value, dict):
        return {key: _json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json(item) for item in value]
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    return value
