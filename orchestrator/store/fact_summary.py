"""What the fold keeps of one enrollment's facts, and that enrollment's part of its journey's counts.

The fold (orchestrator/store/fold.py) never adds a fact to the counts directly: it updates the
enrollment's summary with the fact, works out the summary's part of the counts before and after, and
adds the difference. So a count is always what the definitions (docs/analytics.md) say of the facts
folded so far, whatever order they came in (a goal folded before the entry it follows, a click before
its delivery), and a rule that needs several facts (a click is an open, the last message before the
goal, the first answer) is decided in one place: `contributions`.

Times are kept as microseconds since the epoch (UTC); the order of two facts with the same time is
the log's (xact, id).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CountKey = tuple[str, str, str, str, str, str]
"""(day, measure, step_id, name, status, detail): one row of `journey_day_counts` within a journey version."""
Order = tuple[int, int, int]
"""(occurred_at, xact, id): when a fact happened, then where it is in the log."""


def micros(at: datetime) -> int:
    return (at - EPOCH) // timedelta(microseconds=1)


def day_of(at_micros: int) -> str:
    """The UTC day of a time, YYYY-MM-DD."""
    return (EPOCH + timedelta(microseconds=at_micros)).date().isoformat()


def iso_week(at_micros: int) -> str:
    """The ISO week of a time, "2026-W49"."""
    year, week, _ = (EPOCH + timedelta(microseconds=at_micros)).date().isocalendar()
    return f"{year}-W{week:02d}"


def message_outcomes(flags: set[str]) -> Iterator[tuple[str, str]]:
    """What one visit of a send step counts as (status, reason): each once, a click also an open, a failure either way."""
    if "sent" in flags:
        yield "sent", ""
    if "held" in flags:
        yield "held", ""
    for flag in sorted(flags):
        if flag.startswith("suppressed:"):
            yield "suppressed", flag.removeprefix("suppressed:")
    if "failed" in flags or "p:failed" in flags:
        yield "failed", ""
    for status in ("delivered", "clicked", "bounced"):
        if f"p:{status}" in flags:
            yield status, ""
    if "p:opened" in flags or "p:clicked" in flags:
        yield "opened", ""


@dataclass
class Summary:
    """One enrollment, as far as its facts have been folded."""

    enrollment_id: str
    journey_id: str
    version: str
    customer_id: str
    entered_at: int | None = None
    position: list[Any] | None = None
    """The latest reached or rested fact: [occurred_at, xact, id, step, rested]."""
    reached: list[str] = field(default_factory=list)
    arms: dict[str, str] = field(default_factory=dict)
    """Split step -> the path it gave (or "holdout")."""
    visits: dict[str, list[str]] = field(default_factory=dict)
    """"step visit" -> what its message facts said: sent, held, failed, suppressed:<reason>, p:<provider status>."""
    sends: list[list[Any]] = field(default_factory=list)
    """[occurred_at, step] of each message sent."""
    ended: list[Any] | None = None
    """[occurred_at, xact, id, status] of the (first) ended fact."""
    goals: list[list[Any]] = field(default_factory=list)
    """[occurred_at, xact, id, value] of each goal fact."""
    responses: dict[str, list[Any]] = field(default_factory=dict)
    """Metric -> [occurred_at, xact, id, value, bucket] of its first answer."""
    previous_entry: str | None = None
    """The cohort day of the customer's previous enrollment in the journey (any version), for distinct customers."""
    previous_entry_of_version: str | None = None
    """The same within this version."""
    ways: dict[str, str] = field(default_factory=dict)
    """Branch step -> the step it sent the enrollment on to, on its first visit (kept late: older rows have none)."""
    moved: list[Any] | None = None
    """[occurred_at, xact, id] of the latest `moved` fact, whose version the enrollment counts in (kept last: older rows have none)."""

    @property
    def entered_at_time(self) -> datetime | None:
        return EPOCH + timedelta(microseconds=self.entered_at) if self.entered_at is not None else None

    @property
    def resting_step(self) -> str | None:
        """The step it rests at now (a wait, a held send, a measurement window): None once ended, or between steps."""
        if self.ended is None and self.position is not None and self.position[4]:
            return str(self.position[3])
        return None

    @property
    def cohort_day(self) -> str | None:
        return day_of(self.entered_at) if self.entered_at is not None else None

    def apply(self, fact: Any) -> None:
        """Fold one `journey_facts` row (with `position_xact` and `position_id`) into the summary."""
        at = micros(fact.occurred_at)
        order: Order = (at, fact.position_xact, fact.position_id)
        match fact.kind:
            case "entered":
                self.entered_at = at if self.entered_at is None else min(self.entered_at, at)
            case "reached" | "rested":
                if fact.kind == "reached":
                    if fact.step_id not in self.reached:
                        self.reached.append(fact.step_id)
                    if fact.name is not None:
                        self.arms[fact.step_id] = fact.name
                if self.position is None or order > tuple(self.position[:3]):
                    self.position = [*order, fact.step_id, fact.kind == "rested"]
            case "branched":
                self.ways.setdefault(fact.step_id, fact.name)
            case "message" | "provider":
                flag = fact.status if fact.kind == "message" else f"p:{fact.status}"
                if fact.status == "suppressed":
                    flag = f"suppressed:{fact.detail or ''}"
                flags = self.visits.setdefault(f"{fact.step_id} {fact.visit}", [])
                if flag not in flags:
                    flags.append(flag)
                if fact.kind == "message" and fact.status == "sent":
                    self.sends.append([at, fact.step_id])
            case "goal":
                self.goals.append([*order, fact.value])
            case "response":
                first = self.responses.get(fact.name)
                if fact.value is not None and (first is None or order < tuple(first[:3])):
                    self.responses[fact.name] = [*order, fact.value, fact.status or ""]
            case "ended":
                if self.ended is None or order < tuple(self.ended[:3]):
                    self.ended = [*order, fact.status]
            case "moved":
                # Moved onto a newer version, resting at a step of it: the whole enrollment counts there from now on.
                if self.moved is None or order > tuple(self.moved):
                    self.moved = list(order)
                    self.version = fact.version
                if fact.step_id not in self.reached:
                    self.reached.append(fact.step_id)
                if self.position is None or order > tuple(self.position[:3]):
                    self.position = [*order, fact.step_id, True]

    def conversion(self, window_seconds: int | None) -> list[Any] | None:
        """The goal fact that converts it (the first within [entry, entry + window]), or None."""
        if window_seconds is None or self.entered_at is None:
            return None
        closes = self.entered_at + window_seconds * 1_000_000
        inside = [goal for goal in self.goals if self.entered_at <= goal[0] <= closes]
        return min(inside, key=lambda goal: tuple(goal[:3])) if inside else None

    def arms_text(self) -> str:
        return "\n".join(f"{split}={arm}" for split, arm in sorted(self.arms.items()))

    def state(self) -> str:
        return json.dumps(
            [self.position, self.reached, self.arms, self.visits, self.sends, self.ended, self.goals, self.responses,
             self.previous_entry, self.previous_entry_of_version, self.ways, self.moved],
            separators=(",", ":"),
        )  # fmt: skip

    @classmethod
    def of_row(cls, row: Any) -> Summary:
        """A summary as `enrollment_summaries` keeps it."""
        parts = json.loads(row.state)
        return cls(row.enrollment_id, row.journey_id, row.version, row.customer_id,
                   micros(row.entered_at) if row.entered_at is not None else None, *parts)  # fmt: skip


def contributions(summary: Summary, window_seconds: int | None) -> Iterator[tuple[CountKey, float | None]]:
    """The enrollment's part of the counts: each (row key, value) it adds 1 (and the value) to.

    By its cohort day (the day it entered) for everything the report counts over its cohort; by the day
    each thing happened for the daily series (day_entered is the cohort's own `entered`).
    """
    for at, _step in summary.sends:
        yield (day_of(at), "day_sent", "", "", "", ""), None
    cohort = summary.cohort_day
    if cohort is None:
        return  # not entered (yet): in no cohort
    yield (cohort, "entered", "", "", "", ""), None
    yield (cohort, "first_entry", "", summary.previous_entry or "", "journey", ""), None
    yield (cohort, "first_entry", "", summary.previous_entry_of_version or "", "version", ""), None
    running = summary.ended is None
    yield ((cohort, "running", "", "", "", "") if running else (cohort, "ended", "", "", summary.ended[3] or "", "")), None  # type: ignore[index]
    for step in summary.reached:
        yield (cohort, "reached", step, "", "", ""), None
    for step, target in summary.ways.items():
        yield (cohort, "branched", step, target, "", ""), None
    if (resting := summary.resting_step) is not None:
        yield (cohort, "resting", resting, "", "", ""), None
    for visit, flags in summary.visits.items():
        step = visit.rpartition(" ")[0]
        for status, reason in message_outcomes(set(flags)):
            yield (cohort, "message", step, "", status, reason), None
    goal = summary.conversion(window_seconds)
    value = float(goal[3] or 0.0) if goal is not None else 0.0
    if goal is not None:
        yield (cohort, "converted", "", "", "", ""), value
        yield (day_of(goal[0]), "day_converted", "", "", "", ""), None
        credited = None
        for sent_at, step in summary.sends:  # in the log's order: of two sent at the same time, the later recorded
            if sent_at < goal[0] and (credited is None or sent_at >= credited[0]):
                credited = (sent_at, step)
        if credited is not None:
            yield (cohort, "credited", credited[1], "", "", ""), None
    for split, arm in summary.arms.items():
        yield (cohort, "assigned", split, arm, "", ""), None
        if goal is not None:
            yield (cohort, "converted_arm", split, arm, "", ""), value
    for metric, (at, _xact, _id, answer, bucket) in summary.responses.items():
        yield (cohort, "response", "", metric, bucket, ""), answer
        yield (cohort, "response_week", "", metric, bucket, iso_week(at)), answer
        for split, arm in summary.arms.items():
            yield (cohort, "response_arm", split, metric, bucket, arm), answer
