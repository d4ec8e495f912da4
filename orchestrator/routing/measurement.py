"""Goals reached and survey answers, recorded as journey facts when a tracked event arrives (docs/analytics.md).

Reports count conversions and answers for every enrollment, running or ended, so the workflow (which
ends a running enrollment as converted) cannot be their source: routing records them at ingest, in the
transaction that records the event, from the customer's enrollments it has already read.

- goal: an enrollment in a journey version whose goal is this event converts when the event's timestamp
  is in [entered_at, entered_at + window] (ir.Goal.window_seconds: `within`, else 7 days) and the goal's
  `where` holds. Its first such event only (fact_key "goal", the store keeps the first); `value` the
  goal's value when it declares one and it is a number, else none: the conversion counts all the same.
- response: for each journey, the customer's latest enrollment entered at or before the event's
  timestamp answers each metric of its version whose event this is and whose `where` holds; its first
  answer per metric only (fact_key "response:<metric id>"). An answer that is no number, or off its
  scale (orchestrator/analytics/answers.py), is not recorded: the enrollment's next answer may count.

Both are decided before the event enrolls anyone, so the event that starts an enrollment is never its
own goal nor its own answer: with `trigger: order_completed` and `goal: order_completed` the goal is
the next order, which is what a journey after a purchase means to bring. It counts, as it does for
the workflow, for the enrollments that were already there.

The expressions read `customer` (the profile when the event arrives), `event` (its properties) and
`journey.id` and `.version`; the compiler refuses anything else in a value or a metric's `where` and
warns when a goal's `where` reads what is only known at a step. An expression failing on its data is
false (`where`) or no number (`value`), never an error of the track call; nothing of the customer's
is logged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from orchestrator import ir
from orchestrator.analytics.answers import answer
from orchestrator.language.measured_values import measured_number
from orchestrator.language.scope import JourneyInScope, expression_scope, holds
from orchestrator.store import Enrollment
from orchestrator.store.values import JourneyFact

GOAL_FACT_KEY = "goal"


def response_fact_key(metric: ir.Metric) -> str:
    return f"response:{metric.id}"


def measured_events(journey: ir.Journey) -> frozenset[str]:
    """The events whose arrival this journey version records facts for: its goal's and its metrics'."""
    names = {metric.event for metric in journey.metrics}
    if journey.goal is not None:
        names.add(journey.goal.event)
    return frozenset(names)


@dataclass(frozen=True)
class MeasuredEvent:
    """A tracked event as measuring reads it."""

    customer_id: str
    name: str
    properties: Mapping[str, Any]
    at: datetime
    """The event's own timestamp: when the customer converted or answered."""


def facts_at_ingest(
    event: MeasuredEvent,
    customer: Mapping[str, Any],
    enrollments: Iterable[Enrollment],
    journey_of: Callable[[Enrollment], ir.Journey | None],
) -> list[JourneyFact]:
    """The goal and response facts `event` makes for the customer's `enrollments` (see the module).

    `customer` is the profile as expressions read it; `journey_of` gives an enrollment's version (None: unknown).
    """
    facts: list[JourneyFact] = []
    latest: dict[str, Enrollment] = {}
    for enrollment in enrollments:
        if enrollment.entered_at > event.at:
            continue
        found = latest.get(enrollment.journey_id)
        if found is None or enrollment.entered_at >= found.entered_at:
            latest[enrollment.journey_id] = enrollment
        journey = journey_of(enrollment)
        goal = journey.goal if journey is not None else None
        if journey is None or goal is None or goal.event != event.name:
            continue
        if event.at <= enrollment.entered_at + timedelta(seconds=goal.window_seconds):
            scope = _scope(customer, event, journey)
            if holds(goal.where, scope):
                value = measured_number(goal.value, scope) if goal.value is not None else None
                facts.append(_fact("goal", enrollment, event, GOAL_FACT_KEY, name=goal.event, value=value))
    for enrollment in latest.values():
        journey = journey_of(enrollment)
        if journey is not None:
            facts.extend(_responses(event, customer, enrollment, journey))
    return facts


def _responses(event: MeasuredEvent, customer: Mapping[str, Any], enrollment: Enrollment, journey: ir.Journey) -> list[JourneyFact]:
    facts: list[JourneyFact] = []
    for metric in journey.metrics:
        if metric.event != event.name:
            continue
        scope = _scope(customer, event, journey)
        if not holds(metric.where, scope):
            continue
        counted = answer(metric.kind, measured_number(metric.value, scope))
        if counted is not None:
            key = response_fact_key(metric)
            facts.append(_fact("response", enrollment, event, key, name=metric.id, value=counted.value, status=counted.bucket))
    return facts


def _scope(customer: Mapping[str, Any], event: MeasuredEvent, journey: ir.Journey) -> dict[str, Any]:
    return expression_scope(customer, event.properties, JourneyInScope(journey.id, journey.version))


def _fact(
    kind: str,
    enrollment: Enrollment,
    event: MeasuredEvent,
    key: str,
    *,
    name: str,
    value: float | None,
    status: str | None = None,
) -> JourneyFact:
    return JourneyFact(
        kind=kind,
        journey_id=enrollment.journey_id,
        version=enrollment.version,
        enrollment_id=enrollment.enrollment_id,
        customer_id=event.customer_id,
        fact_key=key,
        occurred_at=event.at,
        name=name,
        status=status,
        value=value,
    )
