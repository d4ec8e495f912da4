"""One split of a journey's report: every arm (and the holdout) with its conversion, its comparison with the control, and revenue.

The control is the holdout when the split has one, else its first arm (ab_test.py judges them and words
the verdict). Each group is measured over every enrollment the split assigned to it, messaged or not,
so the holdout's incremental lift compares like with like: `incremental_conversions` is how many of an
arm's conversions the holdout's rate says would not have happened without the journey, and
`explanation` says it in words.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.analytics.ab_test import ArmComparison, ArmCounts, compare_split
from orchestrator.analytics.counts import GroupCounts, SplitCounts
from orchestrator.analytics.revenue import Revenue, revenue
from orchestrator.analytics.statistics import Interval, wilson_interval

HOLDOUT = "holdout"
"""The name of a split's holdout group, in the counts and in the report."""


@dataclass(frozen=True)
class ArmReport:
    arm: str
    control: bool
    assigned: int
    matured: int
    maturing: int
    converted: int
    rate: float | None
    ci: Interval | None
    difference: float | None
    """rate - control's rate, as a proportion (0.021 is 2.1 points); None for the control and where a rate is None."""
    difference_ci: Interval | None
    lift: float | None
    """(rate - control's rate) / control's rate; None for the control and when the control has no conversion."""
    lift_ci: Interval | None
    p_value: float | None
    """Two-sided, Holm-adjusted across the split's arms; None for the control."""
    chance_to_beat_control: float | None
    incremental_conversions: float | None
    """converted - matured x the holdout's rate: the arm's conversions the journey caused. Only against a holdout."""
    revenue: Revenue | None


@dataclass(frozen=True)
class SplitReport:
    step: str
    control: str | None
    """The group every other is judged against: "holdout" when the split has one, else its first arm; None when it has no group."""
    arms: tuple[ArmReport, ...]
    verdict: str
    explanation: str | None
    """With a holdout: each arm's incremental lift in plain words."""


def split_report(split: SplitCounts, with_revenue: bool) -> SplitReport:
    """The split judged; `with_revenue`: the goal has a value, so each group's revenue is reported."""
    if not split.groups:
        return SplitReport(split.step, None, (), "no enrollment has been assigned yet", None)
    control = next((group for group in split.groups if group.arm == HOLDOUT), split.groups[0])
    others = [group for group in split.groups if group is not control]
    comparison = compare_split(_arm_counts(control), [_arm_counts(group) for group in others])
    compared = {item.arm.arm: item for item in comparison.arms}
    holdout_rate = comparison.control.rate if control.arm == HOLDOUT else None
    arms = tuple(
        _arm(group, compared.get(group.arm) if group is not control else None, holdout_rate, with_revenue) for group in split.groups
    )
    explanation = _explanation(arms, control) if control.arm == HOLDOUT else None
    return SplitReport(split.step, control.arm, arms, comparison.verdict, explanation)


def _arm_counts(group: GroupCounts) -> ArmCounts:
    return ArmCounts(group.arm, group.matured, group.converted)


def _arm(group: GroupCounts, comparison: ArmComparison | None, holdout_rate: float | None, with_revenue: bool) -> ArmReport:
    conversion_rate = group.converted / group.matured if group.matured > 0 else None
    incremental = None
    if comparison is not None and holdout_rate is not None and group.matured > 0:
        incremental = group.converted - group.matured * holdout_rate
    return ArmReport(
        arm=group.arm,
        control=comparison is None,
        assigned=group.assigned,
        matured=group.matured,
        maturing=max(0, group.assigned - group.matured),
        converted=group.converted,
        rate=conversion_rate,
        ci=wilson_interval(group.converted, group.matured) if conversion_rate is not None else None,
        difference=comparison.difference if comparison is not None else None,
        difference_ci=comparison.difference_ci if comparison is not None and comparison.difference is not None else None,
        lift=comparison.lift if comparison is not None else None,
        lift_ci=comparison.lift_ci if comparison is not None else None,
        p_value=comparison.p_value if comparison is not None else None,
        chance_to_beat_control=comparison.chance_to_beat_control if comparison is not None else None,
        incremental_conversions=incremental,
        revenue=revenue(group.goal_values, group.matured, group.converted) if with_revenue else None,
    )


def _explanation(arms: tuple[ArmReport, ...], holdout: GroupCounts) -> str:
    """One sentence per arm: its rate against the holdout's, the lift, and the conversions the journey caused."""
    holdout_arm = next(arm for arm in arms if arm.control)
    if holdout_arm.rate is None:
        return "no holdout enrollment has matured yet: the incremental lift is unknown"
    base = f"The holdout ({holdout.matured} matured enrollments, no message from this split on) converted at {_percent(holdout_arm.rate)}"
    sentences = [base + "."]
    for arm in arms:
        if arm.control:
            continue
        if arm.rate is None or arm.incremental_conversions is None:
            sentences.append(f"{arm.arm}: no matured enrollment yet.")
            continue
        if arm.lift is None:
            lift = "undefined (the holdout has no conversion)"
        else:
            interval = f" (95% CI {arm.lift_ci.low * 100:+.1f} % to {arm.lift_ci.high * 100:+.1f} %)" if arm.lift_ci is not None else ""
            lift = f"{arm.lift * 100:+.1f} %{interval}"
        caused = arm.incremental_conversions
        effect = (
            f"about {caused:.0f} of its {arm.converted} conversions would not have happened without the journey"
            if caused >= 0
            else f"it converted about {-caused:.0f} fewer than it would have without the journey"
        )
        sentences.append(f"{arm.arm} converted at {_percent(arm.rate)}: an incremental lift of {lift}; {effect}.")
    return " ".join(sentences)


def _percent(proportion: float) -> str:
    return f"{proportion * 100:.1f} %"
