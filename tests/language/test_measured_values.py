"""The number a goal's or a metric's `value` gives for one event: a finite number, or none (never an error)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from orchestrator.language.measured_values import measured_number
from orchestrator.language.scope import JourneyInScope, expression_scope


def scope(**event: Any) -> dict[str, Any]:
    return expression_scope({"email": "ann@example.com", "tier": 2}, event, JourneyInScope("shop", "v1"))


@pytest.mark.parametrize(
    ("expression", "event", "expected"),
    [
        ("event.score", {"score": 9}, 9.0),
        ("event.revenue", {"revenue": 19.99}, 19.99),
        ("event.revenue * customer.tier", {"revenue": 5}, 10.0),
        ("event.items | sum(attribute='price')", {"items": [{"price": 2}, {"price": 3.5}]}, 5.5),
        ("event.score | float(none)", {"score": "9"}, 9.0),  # how a survey tool's text is read
        ("-event.refund", {"refund": 3}, -3.0),
    ],
    ids=["integer", "float", "arithmetic", "filter", "text-converted", "negative"],
)
def test_a_value_that_is_a_finite_number_is_measured(expression: str, event: dict[str, Any], expected: float) -> None:
    assert measured_number(expression, scope(**event)) == expected


@pytest.mark.parametrize(
    ("expression", "event"),
    [
        ("event.score", {}),
        ("event.score", {"score": None}),
        ("event.score", {"score": "9"}),
        ("event.score", {"score": True}),
        ("event.score", {"score": [9]}),
        ("event.score | float", {"score": "inf"}),
        ("event.score | float", {"score": "nan"}),
        ("event.score", {"score": 10**400}),
        ("event.score | float(none)", {"score": "nine"}),
        ("event.revenue / event.count", {"revenue": 10, "count": 0}),
        ("event.revenue + 1", {"revenue": "ten"}),
    ],
    ids=[
        "missing", "null", "text", "boolean", "list", "infinite", "nan", "too-large", "unreadable", "division-by-zero", "text-plus-number"
    ],
)
def test_a_value_that_is_no_number_or_fails_on_its_data_is_none(expression: str, event: dict[str, Any]) -> None:
    assert measured_number(expression, scope(**event)) is None


def test_a_value_past_a_run_time_limit_is_none_and_logged_without_the_customers_data(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    loop = "event.items | map('string') | join | length"
    assert measured_number(loop, scope(items=list(range(90_000)), secret="s3cret")) is None
    assert "journey id shop, version v1" in caplog.text
    assert "ann@example.com" not in caplog.text and "s3cret" not in caplog.text
