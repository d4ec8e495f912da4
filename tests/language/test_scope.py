"""The one expression scope: the names the compiler checks are the names every reader gets, holding the same fields."""

from __future__ import annotations

import logging

import pytest
from jinja2 import UndefinedError

from orchestrator.language.scope import JourneyInScope, expression_scope, holds
from orchestrator.language.templating import (
    ENTRY_JOURNEY_FIELDS,
    ENTRY_SCOPE,
    JOURNEY_FIELDS,
    MESSAGE_SCOPE,
    SCOPE,
    WEBHOOK_SCOPE,
    check_expression,
    evaluate,
    render,
)

CUSTOMER = {"id": "c-1", "plan": "pro"}


def test_the_scope_has_exactly_the_names_the_compiler_lets_templates_read() -> None:
    journey = JourneyInScope("cart", "v1")
    assert tuple(expression_scope(CUSTOMER, None, journey)) == SCOPE
    assert tuple(expression_scope(CUSTOMER, None, journey, secrets={})) == WEBHOOK_SCOPE
    assert tuple(expression_scope(CUSTOMER, None, journey, unsubscribe_url="https://u.example")) == MESSAGE_SCOPE


def test_journey_holds_id_and_version_and_the_step_where_there_is_one() -> None:
    assert expression_scope(CUSTOMER, None, JourneyInScope("cart", "v1"))["journey"] == {"id": "cart", "version": "v1"}
    in_step = expression_scope(CUSTOMER, None, JourneyInScope("cart", "v1", "reminder"))
    assert render("{{ journey.id }}/{{ journey.version }}/{{ journey.step }}", in_step) == "cart/v1/reminder"


def test_journey_holds_exactly_the_fields_the_compiler_lets_expressions_read() -> None:
    assert tuple(JourneyInScope("cart", "v1", "reminder").as_scope()) == JOURNEY_FIELDS
    assert tuple(JourneyInScope("cart", "v1").as_scope()) == ENTRY_JOURNEY_FIELDS


@pytest.mark.parametrize("expression", ["journey.step == 'pick'", "journey['step'] == 'pick'", "journey.id ~ journey.step"])
def test_journey_step_is_refused_only_where_no_step_has_run(expression: str) -> None:
    assert check_expression(expression) == ()
    (problem,) = check_expression(expression, journey_fields=ENTRY_JOURNEY_FIELDS)
    assert problem.rule == "no-journey-step" and "`journey` holds id, version" in problem.message
    assert check_expression("journey.id == 'cart' and journey['version'] == 'v1'", journey_fields=ENTRY_JOURNEY_FIELDS) == ()


def test_no_event_and_no_journey_read_as_empty() -> None:
    scope = expression_scope(CUSTOMER, None, None)
    assert scope["event"] == {} and scope["events"] == {} and scope["journey"] == {}
    assert evaluate("event.total is defined or journey.id is defined or events.ask is defined", scope) is False


ANSWER = {"name": "answered", "properties": {"score": 9}, "timestamp": "2026-01-05T10:00:00+00:00"}


def test_events_holds_each_awaited_event_by_its_wait_for_step_beside_the_trigger() -> None:
    scope = expression_scope(CUSTOMER, {"total": 20}, JourneyInScope("cart", "v1", "route"), events={"ask": ANSWER})
    assert holds("events.ask.properties.score >= 9 and event.total == 20", scope)
    assert render("{{ events.ask.name }} {{ events['ask'].properties.score }} at {{ events.ask.timestamp }}", scope) == (
        "answered 9 at 2026-01-05T10:00:00+00:00"
    )


def test_an_awaited_event_that_is_not_there_is_missing() -> None:
    scope = expression_scope(CUSTOMER, None, JourneyInScope("cart", "v1", "route"), events={})
    assert holds("events.ask.properties.score >= 9", scope) is False
    assert holds("not events.ask", scope) is True
    assert render("{{ events.ask.properties.score | default('no score') }}", scope) == "no score"
    with pytest.raises(UndefinedError, match="no attribute 'ask'"):
        render("Thanks for the {{ events.ask.properties.score }}", scope)


@pytest.mark.parametrize("expression", ["events.ask.properties.score > 3", "events['ask'] is defined", "events"])
def test_events_is_refused_where_no_step_has_run(expression: str) -> None:
    assert check_expression(expression) == ()
    (problem,) = check_expression(expression, ENTRY_SCOPE, journey_fields=ENTRY_JOURNEY_FIELDS)
    assert problem.rule == "no-awaited-events" and "no wait_for has matched" in problem.message


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (None, True),  # no condition
        ("customer.plan == 'pro' and event.total > 10", True),
        ("journey.id == 'cart' and journey.version == 'v1'", True),
        ("customer.plan == 'free'", False),
        ("customer.country == 'US'", False),  # a missing trait is none
        ("event.total > 'ten'", False),  # a number compared with text
        ("1 / 0", False),
    ],
)
def test_a_condition_holds_when_true_and_is_false_when_it_fails(expression: str | None, expected: bool) -> None:
    assert holds(expression, expression_scope(CUSTOMER, {"total": 20}, JourneyInScope("cart", "v1"))) is expected


def test_a_failing_condition_is_logged_with_its_journey(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="orchestrator.language.scope"):
        holds("customer.plan > 3", expression_scope(CUSTOMER, None, JourneyInScope("cart", "v1")))
    assert "condition 'customer.plan > 3' of cart is false" in caplog.text
