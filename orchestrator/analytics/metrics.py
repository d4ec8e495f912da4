"""Survey and value metrics of a journey's report (`metrics:` in the journey), overall, per arm and per ISO week.

Each kind has one score, in its own unit, and its 95 % interval:

- nps: % promoters (9-10) - % detractors (0-6), from -100 to 100 ("points"), with the multinomial
  Wald interval (statistics.net_promoter_interval);
- csat: % of answers 4 or 5 ("percent"), with Wilson's interval;
- ces and mean: the mean answer ("mean"), with Student's t interval;
- sum: the total of the values ("sum"), without an interval (a total over whoever answered estimates nothing).

The counts decide which bucket an answer falls in (promoter, passive, detractor; satisfied, unsatisfied);
every score here is computed from those counts, so it can be checked by hand from the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from orchestrator.analytics.answers import SCALES
from orchestrator.analytics.counts import MetricCounts, MetricSample
from orchestrator.analytics.statistics import Interval, mean_interval, net_promoter_interval, net_promoter_score, wilson_interval


@dataclass(frozen=True)
class MetricValue:
    """One metric's score over one group of answers (at most one per enrollment)."""

    responses: int
    value: float | None
    """None without responses (and for a mean of none)."""
    ci: Interval | None
    buckets: dict[str, int]
    """nps: promoter, passive, detractor; csat: satisfied, unsatisfied; none for the other kinds."""


@dataclass(frozen=True)
class WeekValue:
    week: str
    """ISO week of the answers ("2026-W49")."""
    responses: int
    value: float | None
    ci: Interval | None
    buckets: dict[str, int]


@dataclass(frozen=True)
class MetricReport:
    id: str
    kind: str
    unit: str
    """What `value` is in: "points" (nps), "percent" (csat), "mean" (ces, mean), "sum" (sum)."""
    responses: int
    value: float | None
    ci: Interval | None
    buckets: dict[str, int]
    by_arm: dict[str, dict[str, MetricValue]]
    """By split step, then by arm ("holdout" for the holdout)."""
    by_week: tuple[WeekValue, ...]
    """In week order."""


def metric_report(counts: MetricCounts) -> MetricReport:
    """The metric's score overall, per arm and per week; an unknown kind is an error (the compiler admits five)."""
    try:
        unit, score = _SCORES[counts.kind]
    except KeyError:
        raise ValueError(f"metric {counts.metric!r} has kind {counts.kind!r}; a report knows {', '.join(_SCORES)}") from None
    scale = SCALES.get(counts.kind)

    def scored(sample: MetricSample) -> MetricValue:
        # Every bucket of the scale, an empty one as 0: a reader's table keeps its columns whoever answered.
        value = score(sample)
        return replace(value, buckets={name: value.buckets.get(name, 0) for name, _ in scale.buckets}) if scale else value

    overall = scored(counts.overall)
    weeks = tuple(WeekValue(week, *_fields(scored(sample))) for week, sample in sorted(counts.by_week.items()))
    by_arm = {step: {arm: scored(sample) for arm, sample in arms.items()} for step, arms in counts.by_arm.items()}
    return MetricReport(counts.metric, counts.kind, unit, *_fields(overall), by_arm, weeks)


def _fields(value: MetricValue) -> tuple[int, float | None, Interval | None, dict[str, int]]:
    return value.responses, value.value, value.ci, value.buckets


def _nps(sample: MetricSample) -> MetricValue:
    responses = sample.values.count
    promoters, detractors = sample.buckets.get("promoter", 0), sample.buckets.get("detractor", 0)
    return MetricValue(
        responses,
        net_promoter_score(promoters, detractors, responses),
        net_promoter_interval(promoters, detractors, responses),
        dict(sample.buckets),
    )


def _csat(sample: MetricSample) -> MetricValue:
    responses, satisfied = sample.values.count, sample.buckets.get("satisfied", 0)
    if responses == 0:
        return MetricValue(0, None, None, dict(sample.buckets))
    ci = wilson_interval(satisfied, responses)
    return MetricValue(responses, 100 * satisfied / responses, Interval(100 * ci.low, 100 * ci.high), dict(sample.buckets))


def _mean(sample: MetricSample) -> MetricValue:
    values = sample.values
    mean = values.total / values.count if values.count > 0 else None
    return MetricValue(values.count, mean, mean_interval(values.count, values.total, values.total_of_squares), dict(sample.buckets))


def _sum(sample: MetricSample) -> MetricValue:
    return MetricValue(sample.values.count, sample.values.total, None, dict(sample.buckets))


_SCORES: dict[str, tuple[str, Callable[[MetricSample], MetricValue]]] = {
    "nps": ("points", _nps),
    "csat": ("percent", _csat),
    "ces": ("mean", _mean),
    "mean": ("mean", _mean),
    "sum": ("sum", _sum),
}
