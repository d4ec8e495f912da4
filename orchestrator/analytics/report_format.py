"""How the text and Markdown views of a report write numbers: one place, so the two always agree.

Counts with thousands separators; rates as percentages with one decimal; intervals "low to high";
absent values (a rate with nothing to divide by) as an en dash. The JSON document keeps full precision.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrator.analytics.statistics import Interval

if TYPE_CHECKING:
    from orchestrator.analytics.splits import ArmReport

ABSENT = "\u2013"
"""An en dash, written for a value that does not exist (a rate over nothing), never 0."""


def count(value: int) -> str:
    return f"{value:,}"


def percent(proportion: float | None) -> str:
    return ABSENT if proportion is None else f"{proportion * 100:.1f} %"


def signed_percent(proportion: float | None) -> str:
    return ABSENT if proportion is None else f"{proportion * 100:+.1f} %"


def points(proportion: float | None) -> str:
    """A difference of proportions in percentage points: 0.021 -> "+2.1 pts"."""
    return ABSENT if proportion is None else f"{proportion * 100:+.1f} pts"


def percent_interval(interval: Interval | None, *, signed: bool = False) -> str:
    if interval is None:
        return ABSENT
    sign = "+" if signed else ""
    return f"{interval.low * 100:{sign}.1f} to {interval.high * 100:{sign}.1f} %"


def number(value: float | None) -> str:
    """A score, mean or amount: two decimals, thousands separated."""
    return ABSENT if value is None else f"{value:,.2f}"


def number_interval(interval: Interval | None) -> str:
    return ABSENT if interval is None else f"{interval.low:,.2f} to {interval.high:,.2f}"


def p_value(value: float | None) -> str:
    if value is None:
        return ABSENT
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def arm_cells(arm: ArmReport, name: str, *, with_revenue: bool) -> list[str]:
    """One row of a split's table, after the arm's `name` as the view writes it: the same cells in both views."""
    cells = [
        name,
        count(arm.assigned),
        count(arm.matured),
        count(arm.converted),
        percent(arm.rate),
        percent_interval(arm.ci),
        points(arm.difference),
        signed_percent(arm.lift),
        percent_interval(arm.lift_ci, signed=True),
        p_value(arm.p_value),
        percent(arm.chance_to_beat_control),
    ]
    if with_revenue:
        cells += [number(arm.revenue.mean_per_enrollment), number_interval(arm.revenue.ci)] if arm.revenue else [ABSENT, ABSENT]
    return cells
