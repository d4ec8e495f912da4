"""Revenue per enrollment: the goal's value (`goal: {value: ...}`) over a group's matured enrollments.

A matured enrollment that did not convert, or whose conversion carried no value, adds 0: the mean is
per enrollment, not per conversion, so a journey that converts more and one that sells more per order
compare on one figure. The 95 % interval is Student's t over every matured enrollment, zeros included.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.analytics.counts import ValueSample
from orchestrator.analytics.statistics import Interval, mean_interval


@dataclass(frozen=True)
class Revenue:
    total: float
    enrollments: int
    """The matured enrollments the mean is over."""
    conversions: int
    """The conversions among them (one without a value adds 0 to the total)."""
    mean_per_enrollment: float | None
    ci: Interval | None


def revenue(values: ValueSample, matured: int, converted: int) -> Revenue:
    return Revenue(
        total=values.total,
        enrollments=matured,
        conversions=converted,
        mean_per_enrollment=values.total / matured if matured > 0 else None,
        ci=mean_interval(matured, values.total, values.total_of_squares),
    )
