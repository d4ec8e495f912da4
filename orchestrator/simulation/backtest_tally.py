"""Counting a backtest's runs into its report (orchestrator/analytics/backtest_report.py), one customer at a time.

Only counts are kept, so the walk's memory does not grow with the customers; the few runs shown as
samples are kept whole (their timeline is made when the report is).
"""

from __future__ import annotations

import hashlib
import heapq
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from orchestrator import ir
from orchestrator.analytics.backtest_report import BacktestReport, BacktestStep, ChannelMessages, Refusal, Sample
from orchestrator.analytics.counts import ValueSample
from orchestrator.analytics.report import Conversion, GoalReport, Totals
from orchestrator.analytics.revenue import revenue
from orchestrator.analytics.statistics import rate, wilson_interval
from orchestrator.simulation.backtest import CustomerBacktest
from orchestrator.simulation.backtest_history import Window
from orchestrator.simulation.offline import OfflineRun, SendOutcome

STATUSES = ("waiting", "completed", "exited", "holdout", "failed")
"""How a run ended (or not, `waiting`), counted as the report's totals; `converted` is the goal's, counted apart."""


@dataclass
class _Messages:
    sent: int = 0
    failed: int = 0
    suppressed: Counter[str] = field(default_factory=Counter)
    held: Counter[str] = field(default_factory=Counter)
    still_held: int = 0

    def add(self, send: SendOutcome) -> None:
        held = send.held or (send.reason if send.status == "held" else None)
        if held is not None:
            self.held[held] += 1
        match send.status:
            case "sent":
                self.sent += 1
            case "failed":
                self.failed += 1
            case "suppressed":
                self.suppressed[send.reason or "suppressed"] += 1
            case "held":
                self.still_held += 1


class BacktestTally:
    """The counts of one journey's backtest, added to customer by customer."""

    def __init__(self, journey: ir.Journey, window: Window, samples: int = 0) -> None:
        self.journey = journey
        self.window = window
        self.customers = 0
        self.entered = 0
        self.entered_customers = 0
        self.statuses: Counter[str] = Counter()
        self.refused: Counter[tuple[str, str]] = Counter()
        self.converted = 0
        self.matured = 0
        self.goal_total = 0.0
        self.goal_squares = 0.0
        self.reached: Counter[str] = Counter()
        self.waiting_at: Counter[str] = Counter()
        self.messages: dict[str, dict[str, _Messages]] = {}
        self._samples = samples
        self._sampled: list[tuple[str, str, OfflineRun]] = []
        """A max-heap (by negated hash) of the sampled customers' first runs: the `samples` with the smallest hashes."""

    def add(self, customer: CustomerBacktest) -> None:
        self.customers += 1
        for rule, reason in customer.refused:
            self.refused[(rule, reason)] += 1
        if not customer.entries:
            return
        self.entered_customers += 1
        window = self.journey.goal.window_seconds if self.journey.goal is not None else None
        for entry in customer.entries:
            run = entry.run
            self.entered += 1
            if run.status in STATUSES:
                self.statuses[run.status] += 1
            if run.status == "waiting" and run.step is not None:
                self.waiting_at[run.step] += 1
            for step in {step for step, _ in run.trail}:
                self.reached[step] += 1
            for send in run.sends:
                self.messages.setdefault(send.step, {}).setdefault(send.channel, _Messages()).add(send)
            if entry.goal is not None:
                self.converted += 1
                self.matured += 1
                value = entry.goal.value or 0.0
                self.goal_total += value
                self.goal_squares += value * value
            elif window is not None and run.entered_at + timedelta(seconds=window) <= self.window.end:
                self.matured += 1
        self._sample(customer)

    def _sample(self, customer: CustomerBacktest) -> None:
        if self._samples <= 0:
            return
        # By a hash of the id: a choice that does not favour early or late ids, and the same on every run.
        rank = hashlib.sha256(customer.customer_id.encode()).hexdigest()
        item = (_negated(rank), customer.customer_id, customer.entries[0].run)
        if len(self._sampled) < self._samples:
            heapq.heappush(self._sampled, item)
        elif item[0] > self._sampled[0][0]:
            heapq.heapreplace(self._sampled, item)

    def report(self) -> BacktestReport:
        journey, goal = self.journey, self.journey.goal
        totals = Totals(
            entered=self.entered,
            customers=self.entered_customers,
            waiting=self.statuses["waiting"],
            completed=self.statuses["completed"],
            converted=self.converted,
            exited=self.statuses["exited"],
            holdout=self.statuses["holdout"],
            failed=self.statuses["failed"],
        )
        conversion_rate = rate(self.converted, self.matured)
        conversion = Conversion(
            self.converted,
            self.matured,
            max(0, self.entered - self.matured),
            conversion_rate,
            wilson_interval(self.converted, self.matured) if conversion_rate is not None else None,
        )
        values = ValueSample(self.matured, self.goal_total, self.goal_squares)
        samples = sorted(self._sampled, key=lambda item: item[0], reverse=True)
        return BacktestReport(
            journey=journey.id,
            name=journey.name,
            version=journey.version,
            window_from=self.window.start,
            window_to=self.window.end,
            customers=self.customers,
            totals=totals,
            refused=tuple(Refusal(rule, reason, n) for (rule, reason), n in sorted(self.refused.items(), key=lambda i: (-i[1], i[0]))),
            goal=GoalReport(goal.event, goal.window_seconds, goal.value) if goal is not None else None,
            conversion=conversion,
            revenue=revenue(values, self.matured, self.converted) if goal is not None and goal.value is not None else None,
            steps=tuple(self._step(step) for step in journey.steps),
            samples=tuple(_shown(customer_id, run) for _, customer_id, run in samples),
        )

    def _step(self, step: ir.Step) -> BacktestStep:
        channels = self.messages.get(step.id, {})
        messages = tuple(
            ChannelMessages(channel, m.sent, m.failed, dict(sorted(m.suppressed.items())), dict(sorted(m.held.items())), m.still_held)
            for channel, m in channels.items()
        )
        if isinstance(step, ir.SendStep) and not messages:
            messages = (ChannelMessages(step.channel),)
        reached = self.reached[step.id]
        return BacktestStep(step.id, step.kind, reached, rate(reached, self.entered), self.waiting_at[step.id], messages)


def _negated(text: str) -> str:
    """A string that sorts the other way round (hex digits only): heapq keeps the smallest, the sample the largest of these."""
    return text.translate(str.maketrans("0123456789abcdef", "fedcba9876543210"))


def _shown(customer_id: str, run: OfflineRun) -> Sample:
    timeline = run.timeline()
    return Sample(customer_id, timeline.text(), timeline.to_dict())
