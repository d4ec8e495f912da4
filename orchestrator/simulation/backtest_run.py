"""A backtest of one journey, or of two side by side, over a store's recorded history: one read of it for both.

`backtest` reads each customer's history once (backtest_history.py) and walks it for each journey
(backtest.py), counting as it goes (backtest_tally.py): a comparison sees exactly the same customers,
events and profiles on both sides, and costs one read of the store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from activities.delivery_gate import DeliveryPolicy, history_start
from orchestrator import ir
from orchestrator.analytics.backtest_report import BacktestReport
from orchestrator.simulation.backtest import BacktestOptions, backtest_customer, firings, replayed_calls
from orchestrator.simulation.backtest_history import Window, read_histories
from orchestrator.simulation.backtest_tally import BacktestTally
from orchestrator.store import Store


def backtest(
    store: Store, journeys: Sequence[ir.Journey], window: Window, options: BacktestOptions | None = None, *, samples: int = 0
) -> list[BacktestReport]:
    """The report of each of `journeys` over `window` of `store`'s history, in their order; `samples` timelines in each."""
    options = options or BacktestOptions()
    tallies = [BacktestTally(journey, window, samples) for journey in journeys]
    fired = [firings(journey, window) for journey in journeys]
    broadcasts = [isinstance(journey.trigger, ir.ScheduleTrigger) for journey in journeys]
    # The caps look back from each send; the earliest send is at the window's start.
    since = min(history_start(window.start, journey.settings) for journey in journeys)
    ids = sorted({journey.id for journey in journeys})
    calls = frozenset().union(*(replayed_calls(journey) for journey in journeys))
    with store.read() as session:
        for history in read_histories(session, window, ids, calls=calls, sends_since=since, every_profile=any(broadcasts)):
            for journey, tally, times, broadcast in zip(journeys, tallies, fired, broadcasts, strict=True):
                if history.calls or broadcast:
                    tally.add(backtest_customer(journey, history, window, options, times))
    return [tally.report() for tally in tallies]


def backtester(policy: DeliveryPolicy) -> Callable[[Store, Sequence[ir.Journey], datetime, datetime], list[BacktestReport]]:
    """`backtest` with the workspace's delivery rules, in the form `journey plan` takes (orchestrator/host/plan_backtest.py)."""
    return lambda store, journeys, start, end: backtest(store, journeys, Window(start, end), BacktestOptions(policy))
