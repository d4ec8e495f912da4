"""The journey counts worked out by brute force from the fact rows: what the store's fast reader must equal.

Written straight from the definitions (docs/analytics.md), one enrollment at a time, with none of the
fold's machinery: no summaries, no per-day counts, no maturity boundary.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

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
from orchestrator.store import Store
from orchestrator.store.schema import journey_facts


def fact_rows(store: Store, journey_id: str) -> list[Any]:
    """Every fact of the journey, in the log's order."""
    with store.engine.connect() as connection:
        query = select(journey_facts).where(journey_facts.c.journey_id == journey_id).order_by(journey_facts.c.xact, journey_facts.c.id)
        return list(connection.execute(query))


def brute_force_counts(
    facts: Sequence[Any], journeys: Sequence[ir.Journey], *, first_day: date | None, last_day: date | None, now: datetime
) -> JourneyCounts:
    versions = [journey.version for journey in journeys]
    window = {journey.version: conversion_window_seconds(journey) for journey in journeys}
    by_enrollment: dict[str, list[Any]] = defaultdict(list)
    for fact in facts:
        by_enrollment[fact.enrollment_id].append(fact)

    def order(fact: Any) -> tuple[datetime, int, int]:
        return (fact.occurred_at, fact.xact, fact.id)

    enrollments = []
    for rows in by_enrollment.values():
        # An enrollment is of the version its first fact names, or the one its latest move took it to; all its facts count there.
        moved = max((row for row in rows if row.kind == "moved"), key=order, default=None)
        version = moved.version if moved is not None else rows[0].version
        if version not in versions:
            continue
        entries = [row.occurred_at for row in rows if row.kind == "entered"]
        entered_at = min(entries) if entries else None
        seconds = window[version]
        goals = sorted((row for row in rows if row.kind == "goal"), key=order)
        goal = None
        if entered_at is not None and seconds is not None:
            goal = next((g for g in goals if entered_at <= g.occurred_at <= entered_at + timedelta(seconds=seconds)), None)
        ended = min((row for row in rows if row.kind == "ended"), key=order, default=None)
        moves = sorted((row for row in rows if row.kind in ("reached", "rested", "moved")), key=order)
        sent = sorted((row for row in rows if row.kind == "message" and row.status == "sent"), key=order)
        credit = [row for row in sent if goal is not None and row.occurred_at < goal.occurred_at]
        enrollments.append(
            {
                "rows": rows,
                "customer": rows[0].customer_id,
                "entered_at": entered_at,
                "goal": goal,
                "ended": ended.status if ended is not None else None,
                "resting": moves[-1].step_id if moves and moves[-1].kind in ("rested", "moved") and ended is None else None,
                "credited": _last_latest(credit) if credit else None,
                "matured": goal is not None
                or (entered_at is not None and seconds is not None and entered_at + timedelta(seconds=seconds) <= now),
                "arms": {row.step_id: row.name for row in rows if row.kind == "reached" and row.name is not None},
            }
        )
    cohort = [
        e for e in enrollments
        if e["entered_at"] is not None
        and (first_day is None or e["entered_at"].date() >= first_day) and (last_day is None or e["entered_at"].date() <= last_day)
    ]  # fmt: skip
    converted = [e for e in cohort if e["goal"] is not None]
    matured = [e for e in cohort if e["matured"]]

    def values(group: list[dict[str, Any]]) -> ValueSample:
        worth = [e["goal"].value or 0.0 for e in group if e["goal"] is not None]
        return ValueSample(len([e for e in group if e["matured"]]), sum(worth, 0.0), sum((v * v for v in worth), 0.0))

    steps = []
    for step in dict.fromkeys(s.id for journey in journeys for s in journey.steps):
        outcomes: dict[str, int] = defaultdict(int)
        suppressed: dict[str, int] = defaultdict(int)
        for e in cohort:
            visits: dict[Any, set[str]] = defaultdict(set)
            for row in e["rows"]:
                if row.kind in ("message", "provider") and row.step_id == step:
                    visits[row.visit].add(("m:" if row.kind == "message" else "p:") + row.status)
                    if row.kind == "message" and row.status == "suppressed":
                        suppressed[row.detail or ""] += 1
            for flags in visits.values():
                outcomes["sent"] += "m:sent" in flags
                outcomes["held"] += "m:held" in flags
                outcomes["failed"] += "m:failed" in flags or "p:failed" in flags
                outcomes["delivered"] += "p:delivered" in flags
                outcomes["opened"] += "p:opened" in flags or "p:clicked" in flags
                outcomes["clicked"] += "p:clicked" in flags
                outcomes["bounced"] += "p:bounced" in flags
        steps.append(
            StepCounts(
                step=step,
                reached=sum(1 for e in cohort if any(r.kind in ("reached", "moved") and r.step_id == step for r in e["rows"])),
                waiting=sum(1 for e in cohort if e["resting"] == step),
                messages=MessageCounts(**outcomes, suppressed=dict(sorted(suppressed.items()))),
                credited=sum(1 for e in converted if e["credited"] is not None and e["credited"].step_id == step),
                ways=dict(sorted(Counter(way for e in cohort if (way := _first_way(e["rows"], step, order))).items())),
            )
        )
    splits = []
    split_arms: dict[str, dict[str, None]] = {}
    holdouts = set()
    for journey in journeys:
        for s in journey.steps:
            if isinstance(s, ir.SplitStep):
                split_arms.setdefault(s.id, {}).update(dict.fromkeys(p.name for p in s.paths))
                if s.holdout_weight > 0:
                    holdouts.add(s.id)
    for split, arms in split_arms.items():
        groups = []
        for arm in [*arms, *(["holdout"] if split in holdouts else [])]:
            group = [e for e in cohort if e["arms"].get(split) == arm]
            matured_here, converted_here = sum(e["matured"] for e in group), sum(e["goal"] is not None for e in group)
            groups.append(GroupCounts(arm, len(group), matured_here, converted_here, values(group)))
        splits.append(SplitCounts(split, tuple(groups)))
    return JourneyCounts(
        journey=journeys[0].id,
        versions=tuple(versions),
        first_day=first_day,
        last_day=last_day,
        entered=len(cohort),
        customers=len({e["customer"] for e in cohort}),
        waiting=sum(e["ended"] is None for e in cohort),
        completed=sum(e["ended"] == "completed" for e in cohort),
        exited=sum(e["ended"] == "exited" for e in cohort),
        holdout=sum(e["ended"] == "holdout" for e in cohort),
        failed=sum(e["ended"] == "failed" for e in cohort),
        converted=len(converted),
        matured=len(matured),
        goal_values=values(cohort),
        steps=tuple(steps),
        splits=tuple(splits),
        metrics=_metrics(journeys, cohort, order),
        daily=_daily(enrollments, first_day, last_day),
    )


def _first_way(rows: list[Any], step: str, order: Any) -> str | None:
    """Where the branch `step` first sent the enrollment (its earliest `branched` fact), if it did."""
    ways = sorted((row for row in rows if row.kind == "branched" and row.step_id == step), key=order)
    return ways[0].name if ways else None


def _last_latest(rows: list[Any]) -> Any:
    """The latest of `rows` (in the log's order): of two at the same time, the later recorded."""
    latest = rows[0]
    for row in rows[1:]:
        if row.occurred_at >= latest.occurred_at:
            latest = row
    return latest


def _metrics(journeys: Sequence[ir.Journey], cohort: list[dict[str, Any]], order: Any) -> tuple[MetricCounts, ...]:
    kinds: dict[str, str] = {}
    for journey in journeys:
        for metric in getattr(journey, "metrics", ()):
            kinds.setdefault(metric.id, metric.kind)
    result = []
    for metric, kind in kinds.items():
        answers = []  # (enrollment, first answer)
        for e in cohort:
            mine = sorted((r for r in e["rows"] if r.kind == "response" and r.name == metric and r.value is not None), key=order)
            if mine:
                answers.append((e, mine[0]))

        def sample(chosen: list[Any]) -> MetricSample:
            buckets: dict[str, int] = defaultdict(int)
            for answer in chosen:
                if answer.status:
                    buckets[answer.status] += 1
            vals = [a.value for a in chosen]
            return MetricSample(ValueSample(len(vals), sum(vals, 0.0), sum((v * v for v in vals), 0.0)), dict(sorted(buckets.items())))

        by_arm: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
        by_week: dict[str, list[Any]] = defaultdict(list)
        for e, answer in answers:
            for split, arm in e["arms"].items():
                by_arm[split][arm].append(answer)
            year, week, _ = answer.occurred_at.date().isocalendar()
            by_week[f"{year}-W{week:02d}"].append(answer)
        result.append(
            MetricCounts(
                metric, kind, sample([a for _, a in answers]),
                {split: {arm: sample(group) for arm, group in sorted(arms.items())} for split, arms in sorted(by_arm.items())},
                {week: sample(group) for week, group in sorted(by_week.items())},
            )
        )  # fmt: skip
    return tuple(result)


def _daily(enrollments: list[dict[str, Any]], first_day: date | None, last_day: date | None) -> tuple[DayCounts, ...]:
    days: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for e in enrollments:
        if e["entered_at"] is not None:
            days[e["entered_at"].date()]["entered"] += 1
        if e["goal"] is not None:
            days[e["goal"].occurred_at.date()]["converted"] += 1
        for row in e["rows"]:
            if row.kind == "message" and row.status == "sent":
                days[row.occurred_at.date()]["sent"] += 1
    shown = [day for day in days if (first_day is None or day >= first_day) and (last_day is None or day <= last_day)]
    if not shown:
        return ()
    first, last = min(shown), max(shown)
    every = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return tuple(DayCounts(day, **days.get(day, {})) for day in every)
