"""A journey's counts for a report: the folded days added up, in milliseconds whatever the journey's size.

Everything the report counts over its cohort (the enrollments that entered in [first_day, last_day]) is
a sum of `journey_day_counts` rows over the cohort's days, except two figures that a per-day sum cannot give:

- matured enrollments (window elapsed at `now`, or converted): every enrollment of a day whose window closed
  before `now` is matured, none of a day whose window closes after `now` is unless converted; only the one
  day whose windows close around `now` (per version: windows differ) is counted from its summaries;
- distinct customers: each enrollment is folded with the day of the same customer's previous entry, so the
  customers of a range are its enrollments whose previous entry is before the range (or that have none).
  Kept per version and for the whole journey; a report over some versions but not all counts them exactly.

The definitions are docs/analytics.md's; tests/store/ check this reader against a brute-force count of the facts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, distinct, func, or_, select

from orchestrator import ir
from orchestrator.analytics.counts import (
    DayCounts,
    GroupCounts,
    JourneyCounts,
    MessageCounts,
    MetricCounts,
    MetricSample,
    SplitCounts,
    StepCounts,
    ValueSample,
    conversion_window_seconds,
)
from orchestrator.store.fold import FoldQueries
from orchestrator.store.schema import enrollment_summaries, journey_day_counts, utc

_ROW = journey_day_counts.c
_MATURING = ("entered", "converted", "assigned", "converted_arm")
"""What the matured counts are worked out from, day by day."""
_BY_DAY = ("first_entry", "day_sent", "day_converted")
_MESSAGE_STATUSES = ("sent", "delivered", "opened", "clicked", "bounced", "failed", "held")
Key = tuple[str, str, str, str, str]
"""(measure, step_id, name, status, detail)."""


class JourneyCountQueries(FoldQueries):
    """`journey_counts`: the report's numbers, as folded so far (`Store.journey_counts` folds first, then reads)."""

    def journey_counts(
        self, journeys: Sequence[ir.Journey], *, first_day: date | None, last_day: date | None, now: datetime
    ) -> JourneyCounts:
        """The counts of `journeys` (versions of one journey, newest first) over the enrollments that entered in
        [first_day, last_day] (UTC days; None: unbounded), as of `now`, from the facts folded so far: reports call
        `Store.journey_counts`, which folds what was recorded since, then reads."""
        now = utc(now, "now")
        journey_id, versions = journeys[0].id, [journey.version for journey in journeys]
        in_journey = (_ROW.journey_id == journey_id) & _ROW.version.in_(versions)
        cohort = in_journey & _days(_ROW.day, first_day, last_day)
        sums = self._sums(cohort)
        windows = {journey.version: conversion_window_seconds(journey) for journey in journeys}
        matured, arm_matured = self._matured(cohort, journey_id, windows, first_day, last_day, now)
        ended = {key[3]: count for key, (count, _, _) in sums.items() if key[0] == "ended"}
        converted = sums.get(("converted", "", "", "", ""), (0, 0.0, 0.0))
        return JourneyCounts(
            journey=journey_id,
            versions=tuple(versions),
            first_day=first_day,
            last_day=last_day,
            entered=_count(sums, "entered"),
            customers=self._customers(journey_id, versions, first_day, last_day),
            waiting=_count(sums, "running"),
            completed=ended.get("completed", 0),
            exited=ended.get("exited", 0),
            holdout=ended.get("holdout", 0),
            failed=ended.get("failed", 0),
            converted=int(converted[0]),
            matured=matured,
            goal_values=ValueSample(matured, converted[1], converted[2]),
            steps=_steps(journeys, sums),
            splits=_splits(journeys, sums, arm_matured),
            metrics=_metrics(journeys, sums),
            daily=self._daily(in_journey, first_day, last_day),
            merged=ended.get("merged", 0),
        )

    def _sums(self, cohort: ColumnElement[bool]) -> dict[Key, tuple[int, float, float]]:
        parts = (_ROW.measure, _ROW.step_id, _ROW.name, _ROW.status, _ROW.detail)
        query = select(*parts, func.sum(_ROW.count), func.sum(_ROW.total), func.sum(_ROW.total_of_squares))
        query = query.where(cohort, _ROW.measure.not_in(_BY_DAY)).group_by(*parts)
        return {tuple(row[:5]): (int(row[5]), float(row[6]), float(row[7])) for row in self._conn.execute(query)}  # type: ignore[misc]

    def _matured(
        self,
        cohort: ColumnElement[bool],
        journey_id: str,
        windows: dict[str, int | None],
        first_day: date | None,
        last_day: date | None,
        now: datetime,
    ) -> tuple[int, dict[tuple[str, str], int]]:
        """Matured enrollments of the cohort, and per (split, arm)."""
        parts = (_ROW.version, _ROW.day, _ROW.measure, _ROW.step_id, _ROW.name)
        query = select(*parts, func.sum(_ROW.count)).where(cohort, _ROW.measure.in_(_MATURING)).group_by(*parts)
        matured = 0
        arms: dict[tuple[str, str], int] = defaultdict(int)
        boundaries = {
            version: (now - timedelta(seconds=window)).date().isoformat() for version, window in windows.items() if window is not None
        }
        for version, day, measure, split, arm, count in self._conn.execute(query):
            boundary = boundaries.get(version)
            if boundary is None:
                continue  # no goal: nothing matures
            # Before the boundary day every window has closed; after it none has, so only conversions count.
            counts = measure in (("entered", "assigned") if day < boundary else ("converted", "converted_arm"))
            if counts and measure in ("entered", "converted"):
                matured += int(count)
            elif counts:
                arms[(split, arm)] += int(count)
        for version, boundary in boundaries.items():
            if not _within(date.fromisoformat(boundary), first_day, last_day):
                continue
            closed = now - timedelta(seconds=windows[version])  # type: ignore[arg-type]
            row = enrollment_summaries.c
            query = (
                select(row.arms, func.count())
                .where(row.journey_id == journey_id, row.version == version, row.cohort_day == boundary)
                .where(row.converted.is_(False), row.entered_at <= closed)
                .group_by(row.arms)
            )
            for arms_text, count in self._conn.execute(query):
                matured += int(count)
                for pair in arms_text.split("\n") if arms_text else ():
                    split, _, arm = pair.partition("=")
                    arms[(split, arm)] += int(count)
        return matured, arms

    def _customers(self, journey_id: str, versions: list[str], first_day: date | None, last_day: date | None) -> int:
        if len(versions) > 1:
            counted = select(_ROW.version).where(_ROW.journey_id == journey_id).distinct()
            if not set(self._conn.execute(counted).scalars()) <= set(versions):
                row = enrollment_summaries.c
                exact = select(func.count(distinct(row.customer_id))).where(
                    row.journey_id == journey_id, row.version.in_(versions), row.cohort_day.is_not(None),
                    _days(row.cohort_day, first_day, last_day),
                )  # fmt: skip
                return int(self._conn.execute(exact).scalar_one())
        # The customers of the range: its enrollments whose customer had not entered earlier in the range.
        new = _ROW.name == "" if first_day is None else or_(_ROW.name == "", _ROW.name < first_day.isoformat())
        query = select(func.coalesce(func.sum(_ROW.count), 0)).where(
            _ROW.journey_id == journey_id, _ROW.version.in_(versions), _days(_ROW.day, first_day, last_day),
            _ROW.measure == "first_entry", _ROW.status == ("version" if len(versions) == 1 else "journey"), new,
        )  # fmt: skip
        return int(self._conn.execute(query).scalar_one())

    def _daily(self, in_journey: ColumnElement[bool], first_day: date | None, last_day: date | None) -> tuple[DayCounts, ...]:
        measures = {"entered": "entered", "day_converted": "converted", "day_sent": "sent"}
        query = (
            select(_ROW.day, _ROW.measure, func.sum(_ROW.count))
            .where(in_journey, _days(_ROW.day, first_day, last_day), _ROW.measure.in_(measures))
            .group_by(_ROW.day, _ROW.measure)
        )
        days: dict[date, dict[str, int]] = defaultdict(dict)
        for day, measure, count in self._conn.execute(query):
            if count:
                days[date.fromisoformat(day)][measures[measure]] = int(count)
        if not days:
            return ()
        first, last = min(days), max(days)
        every_day = (first + timedelta(days=n) for n in range((last - first).days + 1))
        return tuple(DayCounts(day, **days.get(day, {})) for day in every_day)


def _days(column: Any, first_day: date | None, last_day: date | None) -> ColumnElement[bool]:
    bounds = []
    if first_day is not None:
        bounds.append(column >= first_day.isoformat())
    if last_day is not None:
        bounds.append(column <= last_day.isoformat())
    return and_(column.is_not(None), *bounds)


def _within(day: date, first_day: date | None, last_day: date | None) -> bool:
    return (first_day is None or day >= first_day) and (last_day is None or day <= last_day)


def _count(sums: dict[Key, tuple[int, float, float]], measure: str, step: str = "", name: str = "", status: str = "") -> int:
    return sums.get((measure, step, name, status, ""), (0, 0.0, 0.0))[0]


def _steps(journeys: Sequence[ir.Journey], sums: dict[Key, tuple[int, float, float]]) -> tuple[StepCounts, ...]:
    steps = list(dict.fromkeys(step.id for journey in journeys for step in journey.steps))
    suppressed: dict[str, dict[str, int]] = defaultdict(dict)
    ways: dict[str, dict[str, int]] = defaultdict(dict)
    for (measure, step, name, status, reason), (count, _, _) in sums.items():
        if measure == "message" and status == "suppressed" and count:
            suppressed[step][reason] = count
        elif measure == "branched" and count:
            ways[step][name] = count
    return tuple(
        StepCounts(
            step=step,
            reached=_count(sums, "reached", step),
            waiting=_count(sums, "resting", step),
            messages=MessageCounts(
                **{status: _count(sums, "message", step, status=status) for status in _MESSAGE_STATUSES},
                suppressed=dict(sorted(suppressed[step].items())),
            ),
            credited=_count(sums, "credited", step),
            ways=dict(sorted(ways[step].items())),
        )
        for step in steps
    )


def _splits(
    journeys: Sequence[ir.Journey], sums: dict[Key, tuple[int, float, float]], arm_matured: dict[tuple[str, str], int]
) -> tuple[SplitCounts, ...]:
    arms: dict[str, dict[str, None]] = {}
    holdouts: set[str] = set()
    for journey in journeys:
        for step in journey.steps:
            if isinstance(step, ir.SplitStep):
                arms.setdefault(step.id, {}).update(dict.fromkeys(path.name for path in step.paths))
                if step.holdout_weight > 0:
                    holdouts.add(step.id)
    splits = []
    for split, names in arms.items():
        groups = []
        for arm in [*names, *(["holdout"] if split in holdouts else [])]:
            converted = sums.get(("converted_arm", split, arm, "", ""), (0, 0.0, 0.0))
            matured = arm_matured.get((split, arm), 0)
            values = ValueSample(matured, converted[1], converted[2])
            groups.append(GroupCounts(arm, _count(sums, "assigned", split, arm), matured, converted[0], values))
        splits.append(SplitCounts(split, tuple(groups)))
    return tuple(splits)


def _metrics(journeys: Sequence[ir.Journey], sums: dict[Key, tuple[int, float, float]]) -> tuple[MetricCounts, ...]:
    kinds: dict[str, str] = {}
    for journey in journeys:
        for metric in journey.metrics:
            kinds.setdefault(metric.id, metric.kind)
    samples: dict[tuple[str, str, str, str], dict[str, list[Any]]] = defaultdict(dict)
    for (measure, split, metric, bucket, detail), (count, total, squares) in sums.items():
        if measure in ("response", "response_week", "response_arm") and metric in kinds and count:
            group = samples[(measure, metric, split, detail)].setdefault("", [0, 0.0, 0.0])
            group[0], group[1], group[2] = group[0] + count, group[1] + total, group[2] + squares
            if bucket:
                samples[(measure, metric, split, detail)][bucket] = [count]

    def sample(measure: str, metric: str, split: str = "", detail: str = "") -> MetricSample:
        found = samples.get((measure, metric, split, detail), {})
        count, total, squares = found.get("", [0, 0.0, 0.0])
        return MetricSample(ValueSample(count, total, squares), {bucket: n[0] for bucket, n in sorted(found.items()) if bucket})

    result = []
    for metric, kind in kinds.items():
        by_arm: dict[str, dict[str, MetricSample]] = defaultdict(dict)
        by_week: dict[str, MetricSample] = {}
        for measure, name, split, detail in sorted(samples):
            if name == metric and measure == "response_arm":
                by_arm[split][detail] = sample(measure, metric, split, detail)
            elif name == metric and measure == "response_week":
                by_week[detail] = sample(measure, metric, split, detail)
        result.append(MetricCounts(metric, kind, sample("response", metric), dict(by_arm), by_week))
    return tuple(result)
