"""A backtest's report, and a comparison of two, as text for a terminal and as Markdown for a pull-request comment.

Numbers are written as a journey's report writes them (report_format.py), in the same columns (report_text.py's
and report_markdown.py's tables); the funnel has the text view's bars. Sample timelines appear only when the
report has them (asked for with `--sample`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from orchestrator.analytics.backtest_report import BacktestComparison, BacktestReport, BacktestStep, StepDifference
from orchestrator.analytics.report_format import ABSENT, count, number, number_interval, percent, percent_interval, points
from orchestrator.analytics.report_markdown import table as markdown_table
from orchestrator.analytics.report_text import MIN_BAR, bar
from orchestrator.analytics.report_text import table as text_table
from orchestrator.language.timeparse import format_duration


def backtest_text(report: BacktestReport, width: int = 100) -> str:
    lines = [f"{report.journey} · {report.name} · version {report.version}", f"  {_window(report)}", "", *_headline(report, "  ")]
    lines += ["", *_funnel(report, width)]
    messages = _messages(report.steps)
    if messages:
        lines += ["", "Messages (per step and channel; nothing was sent)", *text_table(*messages), *_reasons(report.steps, "  ")]
    for sample in report.samples:
        lines += ["", f"Sample: customer {sample.customer}", *(f"  {line}" for line in sample.text.splitlines())]
    return "\n".join(lines) + "\n"


def backtest_markdown(report: BacktestReport) -> str:
    lines = [f"### Backtest of `{report.journey}`: {_escape(report.name)} (version `{report.version}`)", "", _window(report) + ".", ""]
    lines += [f"- {line}" for line in _headline(report, "")]
    steps = [[f"`{step.step}`", step.kind, count(step.reached), percent(step.reached_rate), count(step.waiting)] for step in report.steps]
    if steps:
        lines += ["", "#### Steps", "", *markdown_table(["step", "kind", "reached", "of entered", "waiting at the end"], steps)]
    messages = _messages(report.steps)
    if messages:
        headers, rows = messages
        lines += ["", "#### Messages", "", *markdown_table(headers, [[f"`{row[0]}`", *row[1:]] for row in rows])]
        lines += [f"- {line}" for line in _reasons(report.steps, "")]
    for sample in report.samples:
        summary = f"<details><summary>Sample: customer {_escape(sample.customer)}</summary>"
        lines += ["", summary, "", "```", sample.text, "```", "</details>"]
    return "\n".join(lines) + "\n"


def comparison_text(comparison: BacktestComparison) -> str:
    headers, totals, steps = _comparison_tables(comparison, code=lambda text: text)
    lines = [_comparison_title(comparison), f"  {_window(comparison.journey)}", "", *text_table(headers, totals)]
    lines += ["", "Steps (reached · sent · suppressed · held)", *text_table(["step", *headers[1:]], steps)]
    return "\n".join(lines) + "\n"


def comparison_markdown(comparison: BacktestComparison, heading: str = "###") -> str:
    headers, totals, steps = _comparison_tables(comparison, code=lambda text: f"`{text}`")
    lines = [f"{heading} {_comparison_title(comparison, markdown=True)}", "", _window(comparison.journey) + ".", ""]
    lines += [*markdown_table(headers, totals), "", *markdown_table(["step (reached · sent · suppressed · held)", *headers[1:]], steps)]
    return "\n".join(lines) + "\n"


# --- the parts ------------------------------------------------------------------------


def _window(report: BacktestReport) -> str:
    return (
        f"backtest of {report.window_from:%Y-%m-%d %H:%M} to {report.window_to:%Y-%m-%d %H:%M} UTC, offline: nothing was sent; "
        f"{count(report.customers)} customers' recorded history"
    )


def _headline(report: BacktestReport, indent: str) -> list[str]:
    totals = report.totals
    lines = [
        f"{indent}entered {count(totals.entered)} ({count(totals.customers)} customers) · waiting {count(totals.waiting)} · "
        f"completed {count(totals.completed)} · converted {count(totals.converted)} · exited {count(totals.exited)} · "
        f"holdout {count(totals.holdout)} · failed {count(totals.failed)}",
        f"{indent}refused {count(report.refusals)}" + "".join(_refusals(report)),
    ]
    conversion = report.conversion
    if report.goal is None:
        lines.append(f"{indent}goal: none declared, so nothing converts")
    else:
        within = format_duration(report.goal.window_seconds)
        lines.append(
            f"{indent}goal {report.goal.event} within {within}: {count(conversion.converted)} converted "
            f"of {count(conversion.matured)} matured = {percent(conversion.rate)} (95% CI {percent_interval(conversion.ci)}), "
            f"{count(conversion.maturing)} still maturing"
        )
    if report.revenue is not None:
        revenue = report.revenue
        lines.append(
            f"{indent}revenue {number(revenue.total)} from {count(revenue.conversions)} conversions · "
            f"{number(revenue.mean_per_enrollment)} per matured enrollment (95% CI {number_interval(revenue.ci)})"
        )
    return lines


def _refusals(report: BacktestReport) -> list[str]:
    return [f"{';' if n else ':'} {refusal.rule}: {refusal.reason} {count(refusal.count)}" for n, refusal in enumerate(report.refused)]


def _funnel(report: BacktestReport, width: int) -> list[str]:
    if not report.steps:
        return []
    name_width = max(len(step.step) for step in report.steps)
    kind_width = max(len(step.kind) for step in report.steps)
    count_width = max(len(count(step.reached)) for step in report.steps)
    cells = max(MIN_BAR, width - (2 + name_width + 2 + kind_width + 2 + 2 + count_width + 2 + 7 + 2 + 18))
    lines = ["Funnel (reached, of entered)"]
    for step in report.steps:
        waiting = f"  {count(step.waiting)} waiting at the end" if step.waiting else ""
        lines.append(
            f"  {step.step.ljust(name_width)}  {step.kind.ljust(kind_width)}  {bar(step.reached_rate or 0.0, cells)}  "
            f"{count(step.reached).rjust(count_width)}  {percent(step.reached_rate).rjust(7)}{waiting}"
        )
    return lines


def _messages(steps: Sequence[BacktestStep]) -> tuple[list[str], list[list[str]]] | None:
    rows = [
        [step.step, channel.channel, count(channel.sent), count(channel.failed), count(sum(channel.held.values())),
         count(channel.still_held), count(sum(channel.suppressed.values()))]
        for step in steps
        for channel in step.messages
    ]
    return (["step", "channel", "sent", "failed", "held", "still held", "suppressed"], rows) if rows else None


def _reasons(steps: Sequence[BacktestStep], indent: str) -> list[str]:
    lines = []
    for step in steps:
        for channel in step.messages:
            for what, reasons in (("suppressed", channel.suppressed), ("held", channel.held)):
                if reasons:
                    listed = "; ".join(f"{reason}: {count(n)}" for reason, n in reasons.items())
                    lines.append(f"{indent}{step.step} ({channel.channel}) {what}: {listed}")
    return lines


def _comparison_title(comparison: BacktestComparison, *, markdown: bool = False) -> str:
    code = (lambda text: f"`{text}`") if markdown else (lambda text: text)
    a, b = comparison.journey, comparison.other
    return (
        f"Backtest of {code(a.journey)}: {code(comparison.journey_label)} (version {code(a.version)}) against "
        f"{code(comparison.other_label)} (version {code(b.version)})"
    )


def _comparison_tables(
    comparison: BacktestComparison, code: Callable[[str], str]
) -> tuple[list[str], list[list[str]], list[list[str]]]:
    headers = ["", comparison.journey_label, comparison.other_label, "difference"]
    totals = [[what, count(a), count(b), _signed(a - b)] for what, a, b in comparison.totals()]
    a, b = comparison.journey.conversion, comparison.other.conversion
    difference = None if a.rate is None or b.rate is None else a.rate - b.rate
    totals.append(["conversion rate", percent(a.rate), percent(b.rate), points(difference)])
    steps = [_step_row(step, code, comparison) for step in comparison.steps()]
    return headers, totals, steps


def _step_row(step: StepDifference, code: Callable[[str], str], comparison: BacktestComparison) -> list[str]:
    def cell(side: int) -> str:
        figures = (step.reached[side], step.sent[side], step.suppressed[side], step.held[side])
        return ABSENT if figures[0] is None else " · ".join(count(n or 0) for n in figures)

    def difference() -> str:
        if step.side != "both":
            return f"only in {comparison.journey_label if step.side == 'journey' else comparison.other_label}"
        pairs = (step.reached, step.sent, step.suppressed, step.held)
        return " · ".join(_signed((a or 0) - (b or 0)) for a, b in pairs)

    return [code(step.step), cell(0), cell(1), difference()]


def _signed(value: int) -> str:
    return f"{value:+,}" if value else "0"


def _escape(text: str) -> str:
    return text.replace("|", "\\|")
