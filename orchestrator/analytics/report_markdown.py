"""A journey's report in GitHub-flavoured Markdown, for a pull-request comment.

Tables only (block-character bars break in proportional fonts and in GitHub's table cells), the
verdict in bold, the numbers written as the text view writes them (report_format.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

from orchestrator.analytics.report import JourneyReport
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


def render_markdown(report: JourneyReport) -> str:
    days = f"{report.first_day or 'the first day'} to {report.last_day or 'today'}"
    versions = ", ".join(f"`{version}`" for version in report.versions) or ABSENT
    totals = report.totals
    lines = [
        f"### Journey `{report.journey}`: {_escape(report.name)}",
        "",
        f"Enrollments that entered {days} (UTC), version(s) {versions}, as of {report.as_of:%Y-%m-%d %H:%M} UTC.",
        "",
        *table(list(asdict(totals)), [[count(n) for n in asdict(totals).values()]]),
        "",
        _conversion(report),
    ]
    if report.revenue is not None:
        revenue = report.revenue
        lines += [
            "",
            f"**Revenue**: {number(revenue.total)} from {count(revenue.conversions)} conversions; {number(revenue.mean_per_enrollment)} "
            f"per matured enrollment (95% CI {number_interval(revenue.ci)}).",
        ]
    if report.steps:
        lines += ["", "#### Steps", "", *_steps(report)]
    for split in report.splits:
        lines += ["", *_split(split)]
    if report.metrics:
        lines += ["", "#### Metrics", "", *_metrics(report)]
    return "\n".join(lines) + "\n"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A GitHub table, figures right-aligned (every column after the first)."""
    align = ["---", *("---:" for _ in headers[1:])]
    return [_row(headers), _row(align), *(_row(row) for row in rows)]


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _escape(text: str) -> str:
    """A name as table-safe Markdown text: a pipe would end the cell."""
    return text.replace("|", "\\|")


def _conversion(report: JourneyReport) -> str:
    if report.goal is None:
        return "**Conversion**: no goal declared, so nothing converts."
    conversion = report.conversion
    return (
        f"**Conversion** (`{report.goal.event}` within {format_duration(report.goal.window_seconds)}): {count(conversion.converted)} of "
        f"{count(conversion.matured)} matured enrollments, {percent(conversion.rate)} (95% CI {percent_interval(conversion.ci)}); "
        f"{count(conversion.maturing)} still maturing."
    )


def _steps(report: JourneyReport) -> list[str]:
    headers = ["step", "kind", "reached", "of entered", "waiting", "sent", "delivered", "opened", "clicked", "bounced", "failed",
               "held", "suppressed", "credited"]  # fmt: skip
    rows = []
    for step in report.steps:
        suppressed = "<br>".join(f"{_escape(reason)}: {count(n)}" for reason, n in sorted(step.suppressed.items())) or "0"
        rows.append(
            [
                f"`{step.step}`",
                step.kind or ABSENT,
                count(step.reached),
                percent(step.reached_rate),
                count(step.waiting),
                count(step.sent),
                f"{count(step.delivered)} ({percent(step.delivery_rate)})",
                f"{count(step.opened)} ({percent(step.open_rate)})",
                f"{count(step.clicked)} ({percent(step.click_rate)})",
                f"{count(step.bounced)} ({percent(step.bounce_rate)})",
                count(step.failed),
                count(step.held),
                suppressed,
                count(step.credited),
            ]
        )
    note = "Opened and clicked are over delivered (a click counts as an open); delivered and bounced over sent."
    return [*table(headers, rows), "", note]


def _split(split: SplitReport) -> list[str]:
    headers = ["arm", "assigned", "matured", "converted", "rate", "95% CI", "vs control", "lift", "lift 95% CI", "p-value",
               "chance to beat control"]  # fmt: skip
    with_revenue = any(arm.revenue is not None for arm in split.arms)
    if with_revenue:
        headers += ["revenue per enrollment", "revenue 95% CI"]
    rows = [arm_cells(arm, f"`{arm.arm}` (control)" if arm.control else f"`{arm.arm}`", with_revenue=with_revenue) for arm in split.arms]
    lines = [f"#### Split `{split.step}` (control: {split.control or ABSENT})", "", *table(headers, rows), "", f"**{split.verdict}**"]
    if split.explanation:
        lines += ["", f"> {split.explanation}"]
    return lines


def _metrics(report: JourneyReport) -> list[str]:
    rows = []
    for metric in report.metrics:
        buckets = ", ".join(f"{name} {count(n)}" for name, n in metric.buckets.items()) or ABSENT
        by_arm = "<br>".join(
            f"{step}: " + ", ".join(f"{arm} {number(value.value)} ({count(value.responses)})" for arm, value in arms.items())
            for step, arms in metric.by_arm.items()
        )
        by_week = ", ".join(f"{week.week} {number(week.value)} ({count(week.responses)})" for week in metric.by_week)
        rows.append(
            [f"`{metric.id}`", metric.kind, count(metric.responses), f"{number(metric.value)} {metric.unit}", number_interval(metric.ci),
             buckets, by_arm or ABSENT, by_week or ABSENT]
        )  # fmt: skip
    return table(["metric", "kind", "responses", "value", "95% CI", "answers", "by arm", "by week"], rows)
