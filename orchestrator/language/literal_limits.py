"""Literal bombs: what an expression or template would build from its own constants, bounded before it ships.

`'x' * 10**9`, `10**10**10`, `range(10**9)` or two nested loops over
`range(100000)` cost nothing to write and stall whatever evaluates them:
Jinja's optimizer even folds constant arithmetic when it compiles a template,
so the worker would build the text before rendering anything. Only the
constants written in the journey are looked at here (what a profile or an event
holds is unknown at validate time), and only sizes are worked out, never the
values themselves: a text, a list, a number's digits, a range, and how many
times nested loops repeat their body, each at most LITERAL_LIMIT. Anything
built from data is bounded when it runs (orchestrator/language/run_limits.py),
one value at the same LITERAL_LIMIT.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterator
from typing import Any

from jinja2 import nodes

from orchestrator.language.sizes import digits

LITERAL_LIMIT = 100_000
"""The most characters, items, repetitions or numbers in a range a journey's own constants may make."""

_WIDTH_FILTERS = frozenset({"center", "indent", "slice"})
"""Filters whose first argument is a size the result is built to (a width, a number of slices)."""

# A printf width or precision: `%0999999999d`, `%.999999999f`.
_PRINTF_SIZE = re.compile(r"%[-#0 +]*(\d*)(?:\.(\d+))?[a-zA-Z%]")

_ARITHMETIC: dict[type[nodes.BinExpr], Callable[[Any, Any], Any]] = {
    nodes.Add: operator.add,
    nodes.Sub: operator.sub,
    nodes.Mul: operator.mul,
    nodes.Div: operator.truediv,
    nodes.FloorDiv: operator.floordiv,
    nodes.Mod: operator.mod,
    nodes.Pow: operator.pow,
}


class _NotLiteral(Exception):
    """The node reads data (or does something this module does not size): nothing to say about it."""


class TooLarge(Exception):
    """A literal that would exceed LITERAL_LIMIT; the message says what it would make."""


def too_large(tree: nodes.Node) -> Iterator[tuple[int, str]]:
    """Each literal bomb in a parsed expression or template, as (line, what it would make), the outermost once."""
    yield from _walk(tree, 1)


def _walk(node: nodes.Node, repeats: int) -> Iterator[tuple[int, str]]:
    if isinstance(node, nodes.For):
        for part in (node.iter, node.test):
            if part is not None:
                yield from _walk(part, repeats)
        try:
            length = len(_fold(node.iter))
        except (_NotLiteral, TooLarge, TypeError):
            length = 1  # data, or reported above: how often it repeats is not known here
        if repeats * length > LITERAL_LIMIT:
            yield node.lineno, f"these nested loops repeat {repeats * length} times, more than {LITERAL_LIMIT}"
            return
        for child in (*node.body, *node.else_):
            yield from _walk(child, repeats * length)
        return
    if isinstance(node, nodes.Expr):
        try:
            _fold(node)
            return
        except TooLarge as exc:
            yield node.lineno, str(exc)
            return
        except _NotLiteral:
            pass
    for child in node.iter_child_nodes():
        yield from _walk(child, repeats)


def _fold(node: nodes.Node) -> Any:
    """The value of a constant expression, its size checked before it is made; _NotLiteral when it reads data."""
    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, nodes.List | nodes.Tuple):
        return [_fold(item) for item in node.items]
    if isinstance(node, nodes.Neg | nodes.Pos):
        return _compute(operator.neg if isinstance(node, nodes.Neg) else operator.pos, _fold(node.node))
    if isinstance(node, nodes.Concat):
        parts = [_compute(str, _fold(part)) for part in node.nodes]
        return _sized("".join, sum(len(part) for part in parts), "characters", parts)
    if isinstance(node, nodes.BinExpr) and type(node) in _ARITHMETIC:
        return _binary(node, _fold(node.left), _fold(node.right))
    if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name) and node.node.name == "range":
        if node.kwargs or node.dyn_args or node.dyn_kwargs:
            raise _NotLiteral
        numbers = _compute(range, *[_fold(arg) for arg in node.args])
        return _sized(lambda: numbers, len(numbers), "numbers in a range")
    if isinstance(node, nodes.Filter):
        _check_filter_sizes(node)
    raise _NotLiteral


def _binary(node: nodes.BinExpr, left: Any, right: Any) -> Any:
    apply = _ARITHMETIC[type(node)]
    if isinstance(node, nodes.Mul):
        sequence, times = (left, right) if isinstance(left, str | list) else (right, left)
        if isinstance(sequence, str | list) and isinstance(times, int):
            unit = "characters" if isinstance(sequence, str) else "items"
            return _sized(lambda: apply(left, right), len(sequence) * times, unit)
        if isinstance(left, int) and isinstance(right, int):
            return _sized(lambda: apply(left, right), digits(left) + digits(right), "digits")
    if isinstance(node, nodes.Pow) and isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
        return _sized(lambda: apply(left, right), int(right * math.log10(abs(left))) + 1, "digits")
    if isinstance(node, nodes.Add) and isinstance(left, str | list) and isinstance(right, str | list):
        return _sized(lambda: apply(left, right), len(left) + len(right), "characters or items")
    if isinstance(node, nodes.Mod) and isinstance(left, str):
        _check_printf(left)
    return _compute(apply, left, right)


def _check_filter_sizes(node: nodes.Filter) -> None:
    if node.name == "format" and node.node is not None:
        try:
            _check_printf(_fold(node.node))
        except _NotLiteral:
            pass
    if node.name in _WIDTH_FILTERS and node.args:
        try:
            size = _fold(node.args[0])
        except _NotLiteral:
            return
        if isinstance(size, int) and size > LITERAL_LIMIT:
            raise TooLarge(f"{node.name}({size}) builds to a size of {size}, more than {LITERAL_LIMIT}")


def _check_printf(text: Any) -> None:
    if not isinstance(text, str):
        return
    for match in _PRINTF_SIZE.finditer(text):
        for size in match.groups():
            if size and int(size) > LITERAL_LIMIT:
                raise TooLarge(f"the format '{match.group(0)[:20]}' makes text {size} characters wide, more than {LITERAL_LIMIT}")


def _sized(make: Callable[..., Any], size: int, unit: str, *args: Any) -> Any:
    if size > LITERAL_LIMIT:
        raise TooLarge(f"this makes {'about ' if unit == 'digits' else ''}{size} {unit}, more than {LITERAL_LIMIT}")
    return make(*args)


def _compute(apply: Callable[..., Any], *args: Any) -> Any:
    try:
        return apply(*args)
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise _NotLiteral from exc  # fails when it runs, with Jinja's own message
