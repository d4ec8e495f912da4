"""A missing value in an expression is `none`: falsy, false in comparisons, and `is defined` tells it apart."""

from __future__ import annotations

import pytest
from jinja2 import UndefinedError

from orchestrator.language.scope import JourneyInScope, expression_scope, holds
from orchestrator.language.templating import evaluate, render

# No `is_vip`, `age`, `roles` nor `address`; `nickname` is there but null.
CUSTOMER = {"id": "c-1", "plan": "pro", "nickname": None, "tags": ["early"]}
SCOPE = expression_scope(CUSTOMER, {"total": 20}, JourneyInScope("cart", "v1", "pick"))


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("not customer.is_vip", True),
        ("customer.is_vip", False),
        ("customer.is_vip == true", False),
        ("customer.is_vip != true", True),
        ("customer.country == 'US'", False),
        ("customer.country != 'US'", True),
        ("customer.age >= 18", False),
        ("customer.age < 18", False),
        ("not (customer.age >= 18)", True),
        ("18 <= customer.age", False),
        ("customer.nickname > 'a'", False),  # null is none too
        ("customer.age is defined", False),
        ("customer.age is not defined", True),
        ("customer.nickname is defined", True),  # there, but empty
        ("customer.age is none and customer.nickname is none", True),
        ("customer.age == none", True),
        ("customer.address.city is defined", False),  # reading into a missing value is missing too
        ("customer.address.city == 'Paris'", False),
        ("'vip' in customer.roles", False),
        ("'vip' not in customer.roles", True),
        ("customer.country in 'US CA'", False),
        ("customer.country not in 'US CA'", True),
        ("customer.country in ['US', 'CA']", False),
        ("'early' in customer.tags and customer.plan in ['pro', 'team']", True),
        ("customer.age is defined and customer.age >= 18", False),
        ("10 < event.total < 30", True),
        ("10 < event.total < customer.age", False),
        ("not (customer.age + 1 > 0)", False),  # arithmetic on a missing value fails, so the condition is false
    ],
)
def test_a_missing_value_is_none_in_a_condition(expression: str, expected: bool) -> None:
    assert holds(expression, SCOPE) is expected


def test_a_missing_value_is_an_error_where_a_value_is_needed() -> None:
    with pytest.raises(UndefinedError, match="'dict object' has no attribute 'is_vip'"):
        evaluate("customer.is_vip", SCOPE)
    assert evaluate("customer.is_vip | default(false)", SCOPE) is False
    assert evaluate("customer.nickname", SCOPE) is None


@pytest.mark.parametrize(
    "template",
    [
        "Hi {{ customer.first_name }},",
        "{% if customer.is_vip %}VIP{% endif %}",
        "Your {{ customer.address.city }} store",
        "{% for item in event.basket.items %}{{ item }}{% endfor %}",
    ],
)
def test_templates_stay_strict_so_a_message_never_reads_hi_comma(template: str) -> None:
    with pytest.raises(UndefinedError, match="no attribute"):
        render(template, SCOPE)


def test_in_a_template_a_fallback_covers_a_whole_missing_path() -> None:
    """`events.await_score.properties.score | default(...)` must work where the wait timed out."""
    assert render("{{ customer.address.city | default('your') }} store", SCOPE) == "your store"
    assert render("{{ customer.address.city is defined }}", SCOPE) == "False"
