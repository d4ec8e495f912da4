"""The number a goal's or a metric's `value` expression gives for one event, or none.

Reports add these numbers up (revenue per enrollment, a survey's score), so only a finite number is
one: a value that is missing, text (even "9"), a boolean, a list, infinite or not a number is none,
and so is an expression that fails on its data or reaches a run-time limit
(orchestrator/language/run_limits.py). None is no failure: the conversion still counts without a
value, the answer is not counted. Nothing is logged here, since the data is the customer's; a limit
reached is logged by `metered`, with the journey and no data. A survey tool that sends the score as
text is read with `event.score | float(none)` (docs/language.md, `metrics`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from orchestrator.language.scope import EXPRESSION_ERRORS
from orchestrator.language.templating import evaluate


def measured_number(expression: str, scope: Mapping[str, Any]) -> float | None:
    """The finite number `expression` gives in `scope` (orchestrator/language/scope.py), or None (see the module)."""
    try:
        value = evaluate(expression, scope)
    except EXPRESSION_ERRORS:
        return None
    return finite_number(value)


def finite_number(value: Any) -> float | None:
    """`value` as a float when it is an int or a float (not a bool) and finite; else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer beyond a float's range
        return None
    return number if math.isfinite(number) else None
