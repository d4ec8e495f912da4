"""What a journey measures: the goal's `value`, and `metrics`. Checked here; the schema checks their shapes.

A goal's value and a metric's `value` and `where` are evaluated when the event arrives, at ingest
(orchestrator/routing/measurement.py), for enrollments running or ended: no step is known there and no
`wait_for` has matched for them, so they read `customer`, `event` (the event measured) and `journey.id`
and `journey.version`, as the trigger's `where` does, and the compiler refuses `journey.step` and
`events` in them. The goal's `where` is evaluated twice: by the workflow, at the step the enrollment is
at, to end it as converted, and at ingest, for reports. Reading `journey.step` or `events` in it is
allowed (the workflow knows them) but warned about, since reports read them as missing.

A metric may measure the journey's own trigger event: the answer that enrolls a customer counts for the
enrollments that entered before it, never for the one it starts (docs/language.md, `metrics`), so a journey
triggered by a survey answer measures the next answers, after the journey has run.
"""

from __future__ import annotations

from typing import Any

from orchestrator.compiler import values
from orchestrator.compiler.diagnostics import Severity
from orchestrator.compiler.source import JourneySource, mapping, text
from orchestrator.compiler.yaml_loader import LocList
from orchestrator.language.templating import ENTRY_JOURNEY_FIELDS, ENTRY_SCOPE, check_expression

_AT_A_STEP_ONLY = frozenset({"no-journey-step", "no-awaited-events"})
"""What `check_expression` says of an expression that reads `journey.step` or `events` where no step is known."""


def check_measures(source: JourneySource) -> None:
    goal = mapping(source.document.get("goal"))
    _ingest_expression(source, ("goal", "value"), goal.get("value"))
    _warn_goal_where_at_a_step(source, text(goal.get("where")))
    metrics = source.document.get("metrics")
    if not isinstance(metrics, LocList):
        return
    first_seen: dict[str, int] = {}
    for index, item in enumerate(metrics):
        metric = mapping(item)
        metric_id = text(metric.get("id"))
        if metric_id is not None and metric_id in first_seen:
            line = metrics.item_locs[first_seen[metric_id]].line
            source.report(
                ("metrics", index, "id"),
                "duplicate-metric-id",
                f"metric id '{metric_id}' is already used by the metric at line {line}; metric ids must be unique in a journey",
            )
        elif metric_id is not None:
            first_seen[metric_id] = index
        _ingest_expression(source, ("metrics", index, "value"), metric.get("value"))
        _ingest_expression(source, ("metrics", index, "where"), metric.get("where"))


def _ingest_expression(source: JourneySource, at: tuple[str | int, ...], value: Any) -> None:
    values.expression(source, at, value, scope=ENTRY_SCOPE, journey_fields=ENTRY_JOURNEY_FIELDS)


def _warn_goal_where_at_a_step(source: JourneySource, where: str | None) -> None:
    if where is None or check_expression(where):
        return  # no condition, or one with errors of its own, reported by semantics
    if any(problem.rule in _AT_A_STEP_ONLY for problem in check_expression(where, ENTRY_SCOPE, journey_fields=ENTRY_JOURNEY_FIELDS)):
        source.report(
            ("goal", "where"),
            "goal-where-reads-step",
            "reports record a goal when its event arrives, where no step is known: `journey.step` and `events` read as "
            "missing there, so a report may not count a conversion the journey ends as converted; test the event instead",
            severity=Severity.WARNING,
        )
