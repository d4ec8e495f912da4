"""What an expression or template may cost: a capped `range`, and literal bombs refused at validate."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from orchestrator.compiler import compile_text
from orchestrator.language.literal_limits import LITERAL_LIMIT
from orchestrator.language.run_limits import RANGE_LIMIT, LimitExceeded
from orchestrator.language.scope import JourneyInScope, expression_scope, holds
from orchestrator.language.templating import check_expression, check_template, evaluate, render

SCOPE = expression_scope({"id": "c-1"}, {"n": 10**9}, JourneyInScope("cart", "v1", "pick"))


def test_range_is_capped_so_an_event_cannot_choose_the_cost() -> None:
    refused = re.escape(f"range(...) would give 1000000000 numbers, more than {RANGE_LIMIT}")
    with pytest.raises(LimitExceeded, match=refused):
        evaluate("range(event.n) | sum", SCOPE)
    with pytest.raises(LimitExceeded, match=refused):
        render("{% for i in range(event.n) %}.{% endfor %}", SCOPE)


def test_a_condition_over_a_range_too_big_is_false() -> None:
    assert holds("(range(event.n) | sum) >= 0", SCOPE) is False


def test_ranges_up_to_the_cap_still_work() -> None:
    assert evaluate(f"range({RANGE_LIMIT}) | length", SCOPE) == RANGE_LIMIT
    assert render("{% for i in range(3) %}{{ i }}{% endfor %}", SCOPE) == "012"


@pytest.mark.parametrize(
    ("expression", "made"),
    [
        ("'x' * 10**9", "1000000000 characters"),
        ("customer.first_name ~ ('ab' * 10**8)", "200000000 characters"),
        ("([0] * 10**9) | length > 0", "1000000000 items"),
        ("10 ** (10 ** 10) > 0", "about 10000000001 digits"),
        ("(range(10**9) | sum) >= 0", "1000000000 numbers in a range"),
        ("'%0999999999d' | format(1)", "999999999 characters wide"),
        ("customer.first_name | center(10**9)", "center(1000000000)"),
    ],
)
def test_validate_refuses_an_expression_that_builds_a_literal_bomb(expression: str, made: str) -> None:
    (problem,) = check_expression(expression)
    assert problem.rule == "unsafe-template" and made in problem.message and f"more than {LITERAL_LIMIT}" in problem.message


def test_validate_refuses_nested_loops_that_repeat_too_often() -> None:
    (problem,) = check_template("Hi\n{% for i in range(1000) %}{% for j in range(1000) %}.{% endfor %}{% endfor %}")
    assert (problem.rule, problem.lineno) == ("unsafe-template", 2) and "repeat 1000000 times" in problem.message


@pytest.mark.parametrize(
    "source",
    [
        "{{ 'x' * 100 }}{{ 2 ** 100 }}{{ range(RANGE) | sum }}".replace("RANGE", str(RANGE_LIMIT)),
        "{% for i in range(100) %}{% for j in range(100) %}{{ i * j }}{% endfor %}{% endfor %}",
        "{{ event.amount * 1000000000 }}{{ '%.2f' | format(event.amount) }}{{ customer.first_name | center(40) }}",
        "{% for item in event.items %}{% for i in range(1000) %}.{% endfor %}{% endfor %}",  # data: bounded when it runs
    ],
)
def test_literals_within_the_limits_pass(source: str) -> None:
    assert check_template(source) == ()


def test_a_journey_with_a_literal_bomb_fails_validation_at_its_line(tmp_path: Path) -> None:
    text = """\
id: bomb
name: Bomb
trigger: {event: go, where: "event.name != 'x' * 10**9"}
steps:
  - id: hi
    send: {channel: email, subject: "Hi", body: "x"}
"""
    result = compile_text(text, file="bomb.yaml", directory=tmp_path)
    assert [(d.line, d.rule) for d in result.diagnostics] == [(3, "unsafe-template")]
    assert "1000000000 characters" in result.diagnostics[0].message
