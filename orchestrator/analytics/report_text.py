"""A journey's report for a terminal: the funnel with bars, delivery per step, each split's table and verdict, revenue, metrics.

Plain text, no colour or escape codes (it reads the same piped into a file or a CI log). The bars are
Unicode block elements in eighths, scaled to the `width` given (the terminal's); everything else is
aligned in columns sized to their contents.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from orchestrator.analytics.metrics import MetricReport
from orchestrator.analytics.report import JourneyReport, StepReport
from orchestrator.analytics.report_format import (
    ABSENT,
    arm_cells,
    count,
    number,
    number_interval,
    percent,
    percent_interval,
)
from orchestrator.analytics.splits import SplitReport
from orchestrator.language.timeparse import format_duration

EIGHTHS = " ▏▎▍▌▋▊▉"
FULL = "█"
MIN_BAR = 10
"""The narrowest bar drawn, however narrow the terminal: below it a bar tells nothing."""


def render_text(report: JourneyReport, width: int = 100) -> str:
    lines = [*_header(report), "", *_funnel(report, width)]
    delivery = _delivery(report.steps)
    if delivery:
        lines += ["", "Delivery (rates over delivered; bounces over sent)", *delivery]
    for split in report.splits:
        lines += ["", *_split(split, width)]
    if report.metrics:
        lines += ["", "Metrics", *_metrics(report.metrics)]
    return "\n".join(lines) + "\n"


def bar(fraction: float, cells: int) -> str:
    """`fraction` of `cells` character cells in block elements, to an eighth of a cell."""
    eighths = round(max(0.0, min(1.0, fraction)) * cells * 8)
    whole, rest = divmod(eighths, 8)
    return (FULL * whole + (EIGHTHS[rest] if rest else "")).ljust(cells)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    """Columns as wide as their widest cell; the first left-aligned, the rest right-aligned (they are figures)."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        first, *rest = (str(cell) for cell in cells)
        return (indent + "  ".join([first.ljust(widths[0]), *(cell.rjust(w) for cell, w in zip(rest, widths[1:], strict=True))])).rstrip()

    return [line(headers), *(line(row) for row in rows)]


def _header(report: JourneyReport) -> list[str]:
    days = f"{report.first_day or 'the first day'} to {report.last_day or 'today'}"
    versions = ", ".join(report.versions) or ABSENT
    totals = report.totals
    lines = [
        f"{report.journey} · {report.name}",
        f"  enrollments that entered {days} (UTC) · version(s) {versions} · as of {report.as_of:%Y-%m-%d %H:%M} UTC",
        "",
        f"  entered {count(totals.entered)} ({count(totals.customers)} customers) · waiting {count(totals.waiting)} · "
        f"completed {count(totals.completed)} · converted {count(totals.converted)} · exited {count(totals.exited)} · "
        f"holdout {count(totals.holdout)} · failed {count(totals.failed)}" + (f" · merged {count(totals.merged)}" if totals.merged else ""),
    ]
    conversion = report.conversion
    if report.goal is None:
        lines.append("  goal: none declared, so nothing converts")
    else:
        lines.append(
            f"  goal {report.goal.event} within {format_duration(report.goal.window_seconds)}: {count(conversion.converted)} converted "
            f"of {count(conversion.matured)} matured = {percent(conversion.rate)} (95% CI {percent_interval(conversion.ci)}), "
            f"{count(conversion.maturing)} still maturing"
        )
    if report.revenue is not None:
        revenue = report.revenue
        lines.append(
            f"  revenue {number(revenue.total)} from {count(revenue.conversions)} conversions · {number(revenue.mean_per_enrollment)} "
            f"per matured enrollment (95% CI {number_interval(revenue.ci)})"
        )
    return lines


def _funnel(report: JourneyReport, width: int) -> list[str]:
    if not report.steps:
        return ["Funnel: no step has been reached"]
    name_width = max(len(step.step) for step in report.steps)
    kind_width = max(len(step.kind or ABSENT) for step in report.steps)
    count_width = max(len(count(step.reached)) for step in report.steps)
    # name, kind, bar, reached, share, waiting: the bar takes what the rest leaves of the width.
    fixed = 2 + name_width + 2 + kind_width + 2 + 2 + count_width + 2 + 7 + 2 + 18
    cells = max(MIN_BAR, width - fixed)
    lines = ["Funnel (reached, of entered)"]
    for step in report.steps:
        share = step.reached_rate or 0.0
        waiting = f"  {count(step.waiting)} waiting" if step.waiting else ""
        lines.append(
            f"  {step.step.ljust(name_width)}  {(step.kind or ABSENT).ljust(kind_width)}  {bar(share, cells)}  "
            f"{count(step.reached).rjust(count_width)}  {percent(step.reached_rate).rjust(7)}{waiting}"
        )
    return lines


def _delivery(steps: Sequence[StepReport]) -> list[str]:
    sending = [step for step in steps if step.kind == "send" or step.sent or step.suppressed]
    if not sending:
        return []
    headers = ["step", "channel", "sent", "delivered", "opened", "clicked", "bounced", "failed", "held", "suppressed", "credited"]
    rows = [
        [
            step.step,
            step.channel or ABSENT,
            count(step.sent),
            f"{count(step.delivered)} ({percent(step.delivery_rate)})",
            f"{count(step.opened)} ({percent(step.open_rate)})",
            f"{count(step.clicked)} ({percent(step.click_rate)})",
            f"{count(step.bounced)} ({percent(step.bounce_rate)})",
            count(step.failed),
            count(step.held),
            count(sum(step.suppressed.values())),
            count(step.credited),
        ]
        for step in sending
    ]
    lines = table(headers, rows)
    for step in sending:
        if step.suppressed:
            reasons = "; ".join(f"{reason}: {count(n)}" for reason, n in sorted(step.suppressed.items()))
            lines.append(f"  {step.step} suppressed: {reasons}")
    return lines


def _split(split: SplitReport, width: int) -> list[str]:
    lines = [f"Split {split.step} (control: {split.control or ABSENT})"]
    headers = ["arm", "assigned", "matured", "converted", "rate", "95% CI", "vs control", "lift", "lift 95% CI", "p", "P(beats control)"]
    with_revenue = any(arm.revenue is not None for arm in split.arms)
    if with_revenue:
        headers += ["revenue/enrollment", "revenue 95% CI"]
    rows = [arm_cells(arm, f"{arm.arm} (control)" if arm.control else arm.arm, with_revenue=with_revenue) for arm in split.arms]
    lines += table(headers, rows)
    lines.append(f"  Verdict: {split.verdict}")
    if split.explanation:
        lines += textwrap.wrap(split.explanation, width, initial_indent="  ", subsequent_indent="  ")
    return lines


def _metrics(metrics: Sequence[MetricReport]) -> list[str]:
    lines = []
    for metric in metrics:
        buckets = "".join(f" · {name} {count(n)}" for name, n in metric.buckets.items())
        lines.append(
            f"  {metric.id} ({metric.kind}): {number(metric.value)} {metric.unit} (95% CI {number_interval(metric.ci)}) "
            f"from {count(metric.responses)} responses{buckets}"
        )
        for step, arms in metric.by_arm.items():
            by_arm = " · ".join(f"{arm} {number(value.value)} ({count(value.responses)})" for arm, value in arms.items())
            lines.append(f"    by arm of {step}: {by_arm}")
        if metric.by_week:
            by_week = " · ".join(f"{week.week} {number(week.value)} ({count(week.responses)})" for week in metric.by_week)
            lines.append(f"    by week: {by_week}")
    return lines
