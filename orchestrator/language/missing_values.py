"""What a missing value is in an expression: `none`, so `not customer.is_vip` holds for a customer without `is_vip`.

Profiles and events carry whatever traits and properties their senders chose,
so an expression (a `when`, a `where`, a `segment`...) often reads one that is
not there. Jinja's strict undefined made any such read an error, and a
condition that fails is false as a whole: `not customer.is_vip` was false for
exactly the customers a marketer meant. The rules here, written once and
documented in docs/language.md ("Missing values"):

- a missing attribute or key (also one under a missing one:
  `customer.address.city` without `address`) is `none`: falsy, `is none`,
  and `is not defined`; a trait or property whose value is null is `none`
  too, but `is defined` (it is there, empty);
- `==` and `!=` compare it as `none`: `customer.plan == 'pro'` is false,
  `customer.plan != 'pro'` is true;
- ordering (`<`, `<=`, `>`, `>=`) with `none` on either side is false,
  where Python would raise: `customer.age >= 18` and `customer.age < 18` are
  both false without an age;
- `in` a missing list is false and `not in` it is true; a missing value is
  `in` no text (`customer.country in 'US CA'` is false without a country).

Anything else done with a missing value (arithmetic, calling it) is still an
error, so a condition doing it is false as a whole; and templates stay strict
(`MissingInTemplate`): printing a missing value, testing its truth or looping
over it fails, so a message never goes out as "Hi ,". Reading into a missing
value is missing there too, so that a fallback can be given for a whole path:
`events.await_score.properties.score | default('-')` where the wait timed out.

Comparisons in Jinja compile to Python's operators, which raise on `None`;
the sandbox's code generator (orchestrator/language/metering.py) compiles them
to a call of the environment's `compare` instead, and expressions' environment
compares with `compare` below, the one place the rules above are applied.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from jinja2 import ChainableUndefined, StrictUndefined, Undefined

_ORDERING: dict[str, Callable[[Any, Any], Any]] = {
    "gt": operator.gt,
    "gteq": operator.ge,
    "lt": operator.lt,
    "lteq": operator.le,
}


class MissingValue(ChainableUndefined):
    """A trait or property an expression reads that is not there: falsy, `none`, and reading into it is missing too.

    Printing one or doing arithmetic with it still fails, with Jinja's message
    naming what was missing ("'dict object' has no attribute 'x'").
    """

    __slots__ = ()


class MissingInTemplate(ChainableUndefined, StrictUndefined):
    """A missing value in a template: strict (printing it, `{% if %}` on it, looping over it fail, naming what
    was missing), but reading into it is missing too, so `| default(...)` after a path gives the fallback."""

    __slots__ = ()


def is_none(value: Any) -> bool:
    """The `none` test of expressions: true for a null value and for a missing one."""
    return value is None or isinstance(value, Undefined)


def _as_none(value: Any) -> Any:
    return None if isinstance(value, Undefined) else value


def _holds(left: Any, op: str, right: Any) -> bool:
    left, right = _as_none(left), _as_none(right)
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    if op in ("in", "notin"):
        # Nothing is in a missing list, and a missing value is in no text (Python raises for `None in 'abc'`).
        found = right is not None and not (left is None and isinstance(right, str)) and left in right
        return found if op == "in" else not found
    if left is None or right is None:
        return False
    return bool(_ORDERING[op](left, right))


def compare(first: Any, *rest: Any) -> bool:
    """`first op1 right1 op2 right2...` as Python chains comparisons, with the rules of the module's docstring.

    `rest` alternates Jinja's operator names (`eq`, `ne`, `gt`, `gteq`, `lt`,
    `lteq`, `in`, `notin`) and operands. Every operand is already evaluated:
    expressions have no side effects, so nothing is lost by not stopping early.
    """
    left = first
    for index in range(0, len(rest), 2):
        op, right = rest[index], rest[index + 1]
        if not _holds(left, op, right):
            return False
        left = right
    return True

