"""What the read-only activities answer, as functions of the request and the customer's profile.

The activities (journey_activities.py) read the profile from the store and call these; the offline
runner (orchestrator/simulation/offline.py) calls them with the profile as it was at that instant. So a
branch, a goal's `where`, a time-of-day wait or a computed value is decided by one definition, live
and offline. Problems come back to the caller, which notes them where it keeps them.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from jinja2 import TemplateError

from activities.step_problems import no_date, not_computed
from orchestrator.language.clock import customer_zone, next_time_of_day, until_date_instant
from orchestrator.language.scope import EXPRESSION_ERRORS, JourneyInScope, expression_scope, holds
from orchestrator.language.templating import evaluate
from orchestrator.runtime.contracts import ConditionRequest, ValuesRequest, WakeRequest, WakeResult
from orchestrator.store.profiles import dumps


def conditions_answer(request: ConditionRequest, customer: dict[str, Any]) -> list[bool]:
    """Truth of each condition for `customer` (customer_context's form); a failing one is false."""
    scope = expression_scope(customer, request.event, journey_in_scope(request), events=request.events)
    return [holds(condition, scope) for condition in request.conditions]


def wake_answer(request: WakeRequest, customer: dict[str, Any]) -> WakeResult:
    """When a `wait_until` or `wait_until_date` ends for `customer`; `at` None with the problem as `reason` when the date cannot be had."""
    zone = customer_zone(customer.get("timezone"), request.default_timezone)
    now = datetime.fromisoformat(request.now)
    if request.until is not None:
        return WakeResult(next_time_of_day(now, zone, request.until, tuple(request.days)).isoformat())
    assert request.until_date is not None
    try:
        scope = expression_scope(customer, request.event, journey_in_scope(request), events=request.events)
        value = evaluate(request.until_date, scope)
        moment = until_date_instant(value, now=now, zone=zone, offset_seconds=request.offset_seconds, at=request.at, repeat=request.repeat)
    except (TemplateError, TypeError, ValueError, OverflowError) as exc:
        return WakeResult(None, no_date(request.until_date, exc))
    return WakeResult(moment.isoformat())


def values_answer(request: ValuesRequest, customer: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The value of each of an update's `compute` expressions for `customer`, and (key, problem) for each that failed or is not JSON."""
    scope = expression_scope(customer, request.event, journey_in_scope(request), events=request.events)
    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for key, expression in request.expressions.items():
        try:
            values[key] = json.loads(dumps(evaluate(expression, scope)))
        except EXPRESSION_ERRORS as exc:
            problems.append((key, not_computed(expression, exc)))
    return values, problems


def journey_in_scope(request: ConditionRequest | ValuesRequest | WakeRequest) -> JourneyInScope | None:
    """`journey` in the request's expressions: the journey, its version and the step the workflow named.

    A request from a workflow that predates these fields has no step (`journey` holds id and
    version) or, for a wake request, no journey at all (`journey` reads `{}`), as before.
    """
    if request.journey_id is None or request.version is None:
        return None
    return JourneyInScope(request.journey_id, request.version, request.step_id)
