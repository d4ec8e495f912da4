"""One split judged: every arm against its control, and the verdict in words.

`compare_split(control, arms)` takes the matured and converted counts of the control (the
holdout when the split has one, else its first arm) and of every other arm, and returns a
`SplitComparison`: each arm's rate with its Wilson interval, the difference with Newcombe's
interval, the relative lift with its Katz interval, the two-sided p-value Holm-adjusted across
the arms, the chance to beat control, and a verdict.

The verdict names a winner (or a loser) only when all of these hold:
- every arm of the split, control included, has at least `MIN_MATURED_PER_ARM` matured
  enrollments; otherwise "too few matured enrollments: 212 of the 500 per arm needed", quoting
  the smallest arm;
- the arms together have at least `MIN_CONVERSIONS_PER_SPLIT` conversions; otherwise
  "too few conversions: 7 of the 20 needed";
- for that arm, the Holm-adjusted p-value is below 1 - CONFIDENCE and the difference's 95 %
  interval excludes zero. Both are asked for so the words never contradict the numbers beside
  them: the z-test and the Newcombe interval disagree near the edge, and a verdict of
  "better, 95% CI -0.1 to +3.8" would read as a mistake.
Otherwise the verdict is "no significant difference yet".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from orchestrator.analytics.statistics import (
    CONFIDENCE,
    Interval,
    chance_to_beat_control,
    holm_adjusted,
    newcombe_difference_interval,
    rate,
    relative_lift,
    relative_lift_interval,
    two_proportion_p_value,
    wilson_interval,
)

MIN_MATURED_PER_ARM = 500
"""Matured enrollments every arm needs before any winner is named.

Why a fixed floor: people look at a running test every day, and each look is another chance for
noise to cross the significance line; a floor stops the early looks, when a handful of
conversions swings a rate by points, from naming a winner. 500 per arm is enough to detect a
jump from 10 % to 16 % conversion at 80 % power, the smallest effect worth acting on for a
journey of that size; a smaller effect simply stays "no significant difference yet" longer.
"""

MIN_CONVERSIONS_PER_SPLIT = 20
"""Conversions, all arms of the split together, needed before any winner is named.

The z-test and the lift's log interval rest on normal approximations that fail with a handful of
events (fewer than about 5 per cell), so 20 across a split leaves room for 5 or more per arm with
up to four arms. Counted over the split rather than per arm: an arm with no conversion against a
control with 30 is a result, not a lack of data.
"""


@dataclass(frozen=True)
class ArmCounts:
    """What the statistics need of one arm: its name, matured enrollments and conversions among them."""

    arm: str
    matured: int
    """Enrollments whose conversion window has elapsed, or that converted: the only ones a rate may count."""
    converted: int


@dataclass(frozen=True)
class ArmRate:
    """An arm's conversion rate over its matured enrollments, with its Wilson 95 % interval (None when none matured)."""

    arm: str
    matured: int
    converted: int
    rate: float | None
    ci: Interval


@dataclass(frozen=True)
class ArmComparison:
    """One arm against the control. Differences and lifts are treated minus control; None where undefined."""

    arm: ArmRate
    difference: float | None
    """p_arm - p_control, in proportion (0.021 is 2.1 points); None when either arm has no matured enrollment."""
    difference_ci: Interval
    lift: float | None
    """(p_arm - p_control) / p_control; None when the control has no conversion."""
    lift_ci: Interval | None
    p_value: float
    """Two-sided, pooled z-test, Holm-adjusted across the split's arms."""
    chance_to_beat_control: float


@dataclass(frozen=True)
class SplitComparison:
    control: ArmRate
    arms: tuple[ArmComparison, ...]
    verdict: str


def compare_split(control: ArmCounts, arms: Sequence[ArmCounts]) -> SplitComparison:
    """Every arm against the control, and the verdict (the rules are in the module docstring)."""
    control_rate = _arm_rate(control)
    raw_p_values = [two_proportion_p_value(arm.converted, arm.matured, control.converted, control.matured) for arm in arms]
    comparisons = tuple(
        _compare(arm, control, control_rate, p_value) for arm, p_value in zip(arms, holm_adjusted(raw_p_values), strict=True)
    )
    return SplitComparison(control_rate, comparisons, _verdict(control, arms, comparisons))


def _arm_rate(counts: ArmCounts) -> ArmRate:
    conversion_rate = rate(counts.converted, counts.matured)
    return ArmRate(counts.arm, counts.matured, counts.converted, conversion_rate, wilson_interval(counts.converted, counts.matured))


def _compare(arm: ArmCounts, control: ArmCounts, control_rate: ArmRate, p_value: float) -> ArmComparison:
    arm_rate = _arm_rate(arm)
    counts = (arm.converted, arm.matured, control.converted, control.matured)
    difference = None if arm_rate.rate is None or control_rate.rate is None else arm_rate.rate - control_rate.rate
    return ArmComparison(
        arm=arm_rate,
        difference=difference,
        difference_ci=newcombe_difference_interval(*counts),
        lift=relative_lift(*counts),
        lift_ci=relative_lift_interval(*counts),
        p_value=p_value,
        chance_to_beat_control=chance_to_beat_control(*counts),
    )


def _verdict(control: ArmCounts, arms: Sequence[ArmCounts], comparisons: Sequence[ArmComparison]) -> str:
    smallest = min(arm.matured for arm in (control, *arms))
    if smallest < MIN_MATURED_PER_ARM:
        return f"too few matured enrollments: {smallest} of the {MIN_MATURED_PER_ARM} per arm needed"
    conversions = sum(arm.converted for arm in (control, *arms))
    if conversions < MIN_CONVERSIONS_PER_SPLIT:
        return f"too few conversions: {conversions} of the {MIN_CONVERSIONS_PER_SPLIT} needed"
    found = [_finding(comparison, control.arm) for comparison in comparisons if _is_significant(comparison)]
    return "; ".join(found) if found else "no significant difference yet"


def _is_significant(comparison: ArmComparison) -> bool:
    return comparison.difference is not None and comparison.p_value < 1 - CONFIDENCE and comparison.difference_ci.excludes_zero()


def _finding(comparison: ArmComparison, control: str) -> str:
    assert comparison.difference is not None  # only significant comparisons, which have one, get here
    direction = "better" if comparison.difference > 0 else "worse"
    ci = comparison.difference_ci
    difference = f"{_points(comparison.difference)} points, 95% CI {_points(ci.low)} to {_points(ci.high)}"
    return f"{comparison.arm.arm} converts {direction} than {control}: {difference}"


def _points(proportion: float) -> str:
    """A difference of proportions in percentage points with its sign: 0.021 -> "+2.1"."""
    return f"{proportion * 100:+.1f}"
