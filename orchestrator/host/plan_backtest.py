"""`journey plan`'s backtests: each changed journey, as deployed and as the folder has it, replayed over the last `--window`.

For every journey the plan finds changed, the version the store has active and the folder's version are
backtested together over the same recorded history (docs/backtest.md: one read of it for both), and the
plan shows the two side by side with their differences, the view `journey backtest --compare deployed`
prints. The replay itself is the simulation layer's, which `host` may not import: the command line hands
it in as a `Backtester`. No sample timeline is ever shown here: a plan goes into pull-request comments.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from orchestrator import ir
from orchestrator.analytics.backtest_report import BacktestComparison, BacktestReport
from orchestrator.analytics.backtest_views import comparison_markdown, comparison_text
from orchestrator.language.timeparse import format_duration
from orchestrator.store import Store

Backtester = Callable[[Store, Sequence[ir.Journey], datetime, datetime], list[BacktestReport]]
"""Backtests journeys over [start, end] of a store's history, one report each (orchestrator/simulation/backtest_run.py)."""
DEFAULT_WINDOW = timedelta(days=30)


def backtest_changes(
    store: Store, changed: Sequence[str], folder: Sequence[ir.Journey], backtester: Backtester, window: timedelta, now: datetime
) -> dict[str, BacktestComparison]:
    """By journey id, the folder's version against the deployed one (`changed`: the ids the plan finds changed)."""
    new = {journey.id: journey for journey in folder}
    comparisons: dict[str, BacktestComparison] = {}
    for journey_id in changed:
        with store.read() as session:
            [found] = session.deployed_journeys(journey_id)
        mine, theirs = backtester(store, [new[journey_id], found.shown.journey], now - window, now)
        comparisons[journey_id] = BacktestComparison(mine, theirs, "this change", "deployed")
    return comparisons


def render_backtests(comparisons: dict[str, BacktestComparison], window: timedelta, *, markdown: bool) -> str:
    if not comparisons:
        return ""
    seconds = int(window.total_seconds())
    span = f"{seconds // 86400} days" if seconds % 86400 == 0 else format_duration(seconds)
    title = f"Backtests: each change against what is deployed, over the last {span}"
    lines = ["", f"## {title}" if markdown else title, ""]
    for comparison in comparisons.values():
        lines.append(comparison_markdown(comparison, heading="###") if markdown else comparison_text(comparison))
    return "\n".join(lines)


def backtests_document(comparisons: dict[str, BacktestComparison], window: timedelta) -> dict[str, Any]:
    return {
        "backtest_window_seconds": int(window.total_seconds()),
        "backtests": {journey_id: comparison.document() for journey_id, comparison in comparisons.items()},
    }
