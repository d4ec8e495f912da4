"""What an expression or template may cost: a capped `range`, and literal bombs refused at validate."""

from __future__ import annotations

import pytest

from orchestrator.language.scope import JourneyInScope, expression_scope, holds
from orchestrator.language.templating import RANGE_LIMIT, evaluate, render

SCOPE = expression_scope({"id": "c-1"}, {"n": 10**9}, JourneyInScope("cart", "v1", "pick"))


def test_range_is_capped_so_an_event_cannot_choose_the_cost() -> None:
    with pytest.raises(OverflowError, match="Range too big"):
        evaluate("range(event.n) | sum", SCOPE)
    with pytest.raises(OverflowError, match="Range too big"):
        render("{% for i in range(event.n) %}.{% endfor %}", SCOPE)


def test_a_condition_over_a_range_too_big_is_false() -> None:
    assert holds("(range(event.n) | sum) >= 0", SCOPE) is False


def test_ranges_up_to_the_cap_still_work() -> None:
    assert evaluate(f"range({RANGE_LIMIT}) | length", SCOPE) == RANGE_LIMIT
    assert render("{% for i in range(3) %}{{ i }}{% endfor %}", SCOPE) == "012"
