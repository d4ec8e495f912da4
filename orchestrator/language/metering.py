"""The sandbox's run-time bounds, wired into Jinja: sizes checked before a value is built, and steps counted.

orchestrator/language/run_limits.py says what the bounds are and why; this
module is where Jinja's hooks apply them. Jinja's sandbox sends every attribute
and item lookup (`getattr`, `getitem`), every call (`call`) and the operators
it is told to intercept (`call_binop`) through the environment, and filters and
tests are plain functions in `environment.filters` and `environment.tests`;
`MeteredSandbox` counts the steps of each and checks, with
orchestrator/language/sizes.py, what an operator, a method or a filter would
build before it builds it. What an operation reads counts as well as what it
builds: `event.text.count('x')` or `event.list | max` in a loop build nothing
large, and still read a whole property every turn.

Jinja has no hook for a loop's turns, a comparison, nor the text a template
writes, so `MeteredCodeGenerator` adds them while it turns the parsed template
into Python: each `{% for %}` iterates through `environment.loop_turns(...)`,
each comparison is a call of `environment.compare(...)`, each slice goes
through `environment.sliced(...)`, each output statement
counts the template's own text it writes, `{{ ... }}` values go through
`finalize`, and `~` through `environment.joined(...)`. The parse tree the
compiler checks is never changed (`check_template` parses without generating
code), so a journey's validation sees exactly what its author wrote.
"""

from __future__ import annotations

import itertools
import operator
import types
from collections.abc import Callable, Iterable, Iterator, Mapping, Sized
from functools import wraps
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.filters import make_attrgetter
from jinja2.runtime import Context, LoopContext, Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from orchestrator.language.run_limits import CALL_STEPS, LOOKUP_STEPS, RANGE_LIMIT, VALUE_LIMIT, range_too_long, spend, too_large
from orchestrator.language.sizes import (
    FILTER_SIZES,
    JOIN_METHOD,
    WHOLE_VALUE_FILTERS,
    Size,
    as_list,
    binop_size,
    method_size,
    size_of,
)


def _refuse(what: str, size: Size | None) -> None:
    if size is not None and size.count > VALUE_LIMIT:
        raise too_large(what, size.count, size.unit)


def metered_range(*args: int) -> range:
    """`range(...)` in expressions and templates: at most RANGE_LIMIT numbers, each a step."""
    numbers = range(*args)
    if len(numbers) > RANGE_LIMIT:
        raise range_too_long(len(numbers))
    spend(len(numbers))
    return numbers


def written(value: Any) -> Any:
    """Jinja's `finalize`: each value a `{{ ... }}` writes costs a step a character."""
    if not isinstance(value, str) and not hasattr(value, "__html__"):
        value = str(value)  # what Jinja would write; values with __html__ are left for escaping to write
    spend(len(value))
    return value


_COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gteq": operator.ge,
    "lt": operator.lt,
    "lteq": operator.le,
    "in": lambda left, right: left in right,
    "notin": lambda left, right: left not in right,
}


def python_compare(first: Any, *rest: Any) -> bool:
    """`first op1 right1 op2 right2...` as Python chains it: how templates compare (`rest` as in missing_values.compare)."""
    left = first
    for index in range(0, len(rest), 2):
        right = rest[index + 1]
        if not _COMPARISONS[rest[index]](left, right):
            return False
        left = right
    return True


def _refused_str_format(*_: Any, **__: Any) -> str:
    raise SecurityError("str.format is not available in journey templates: use the `format` filter or `~`")


def _counted(items: Iterable[Any]) -> Iterator[Any]:
    for item in items:
        spend(1)
        yield item


class MeteredCodeGenerator(CodeGenerator):
    """Jinja's code generator, adding the steps Jinja has no hook for (see the module's docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._loop_iterables: set[int] = set()
        """The ids of the `{% for %}` iterables met so far (Jinja allows no node type of our own to mark them with)."""

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        self._loop_iterables.add(id(node.iter))
        super().visit_For(node, frame)

    def visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> Any:
        if id(node) not in self._loop_iterables:
            return super().visit(node, *args, **kwargs)
        self.write("environment.loop_turns(")
        super().visit(node, *args, **kwargs)
        self.write(")")
        return None

    def visit_Compare(self, node: nodes.Compare, frame: Frame) -> None:
        self.write("environment.compare(")
        self.visit(node.expr, frame)
        for operand in node.ops:
            self.write(f", {operand.op!r}, ")
            self.visit(operand.expr, frame)
        self.write(")")

    def visit_Getitem(self, node: nodes.Getitem, frame: Frame) -> None:
        if not isinstance(node.arg, nodes.Slice):
            super().visit_Getitem(node, frame)
            return
        self.write("environment.sliced(")  # Jinja slices natively, bypassing `getitem`
        super().visit_Getitem(node, frame)
        self.write(")")

    def visit_Output(self, node: nodes.Output, frame: Frame) -> None:
        characters = sum(_constant_length(child, frame) for child in node.nodes)
        if characters:
            self.writeline(f"environment.text_written({characters})")
        super().visit_Output(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.joined(")
        super().visit_Concat(node, frame)
        self.write(")")


def _constant_length(node: nodes.Expr, frame: Frame) -> int:
    """The characters an output's part writes when it is the template's own text (values are counted by `written`)."""
    if isinstance(node, nodes.TemplateData):
        return len(node.data)
    try:
        return len(str(node.as_const(frame.eval_ctx)))
    except Exception:  # not a constant: Jinja's own test, which evaluates it at run time
        return 0


class MeteredSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with the run-time bounds of orchestrator/language/run_limits.py."""

    intercepted_binops = frozenset({"*", "**", "+", "%", "-", "/", "//"})
    """Every operator: `*`, `**`, `+` (by doubling, again and again) and `%` can build a value much larger than their operands."""
    intercepted_unops = frozenset({"-", "+"})

    compare_values: Callable[..., bool] = staticmethod(python_compare)
    """What a comparison means; expressions replace it with the rules of missing values."""

    code_generator_class = MeteredCodeGenerator

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, finalize=written, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        spend(LOOKUP_STEPS)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        spend(1)
        return super().getitem(obj, argument)

    def sliced(self, part: Any) -> Any:
        """`items[a:b]`: a lookup, and the copy it builds."""
        spend(1 + size_of(part))
        return part

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        owner = getattr(__obj, "__self__", None)
        if args and getattr(__obj, "__name__", None) == JOIN_METHOD and isinstance(owner, str | bytes):
            args = (as_list(args[0]), *args[1:])  # read once here, so it can be sized before it is joined
        if isinstance(__obj, LoopContext) and args:
            args = (as_list(args[0]), *args[1:])  # `loop(children)` of a recursive loop: its turns, counted below
        spend(CALL_STEPS + size_of(owner) + sum(size_of(arg) for arg in args) + sum(size_of(arg) for arg in kwargs.values()))
        _refuse(f"{getattr(__obj, '__name__', 'the call')}(...)", method_size(__obj, args, kwargs))
        result = super().call(__context, __obj, *args, **kwargs)
        if not isinstance(__obj, Macro):
            spend(size_of(result))  # a macro's text was counted as it was written
        return result

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _refuse(f"`{operator}`", binop_size(operator, left, right))
        spend(1 + size_of(left) + size_of(right))
        result = self.binop_table[operator](left, right)
        spend(size_of(result))
        return result

    def call_unop(self, context: Context, operator: str, arg: Any) -> Any:
        spend(1 + 2 * size_of(arg))  # reads it and builds one as large
        return self.unop_table[operator](arg)

    def compare(self, first: Any, *rest: Any) -> bool:
        """A comparison (see `MeteredCodeGenerator.visit_Compare`): a step, and one a character or item of each operand."""
        steps = size_of(first)
        for index in range(1, len(rest), 2):
            steps += 1 + size_of(rest[index])
        spend(steps)
        return self.compare_values(first, *rest)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        # `'{:>999999999}'.format(x)` writes what its data asks for; the compiler refuses `.format`, and so does this
        # at run time (where `text['format']` reaches it too). The `format` filter (printf style) is sized instead.
        is_method = isinstance(value, types.MethodType | types.BuiltinMethodType)
        if is_method and value.__name__ in ("format", "format_map") and isinstance(value.__self__, str):
            return _refused_str_format
        return None

    def loop_turns(self, iterable: Any) -> Any:
        """What a `{% for %}` iterates: a step a turn, counted at once for a collection (loops never stop early)."""
        if isinstance(iterable, Sized):
            spend(len(iterable))
            return iterable
        return _counted(iterable)

    def text_written(self, characters: int) -> None:
        """The template's own text an output statement writes: a step a character, each time it runs."""
        spend(characters)

    def joined(self, text: str) -> str:
        """The value `~` built: at most VALUE_LIMIT characters, each a step."""
        _refuse("`~`", Size(len(text), "characters"))
        spend(len(text))
        return text


def metered_filters(
    environment: MeteredSandbox, filters: Mapping[str, Callable[..., Any]], extra_steps: Mapping[str, int]
) -> dict[str, Callable[..., Any]]:
    """`filters`, each counting a step, what it reads and what it builds (and `extra_steps` by name, for the slow ones);
    those that can build more than their value are sized first (sizes.FILTER_SIZES)."""
    return {name: _metered_filter(environment, name, apply, 1 + extra_steps.get(name, 0)) for name, apply in filters.items()}


def metered_tests(tests: Mapping[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """`tests` (`is lower`, `is in`...), each counting a step and what it reads."""
    return {name: _metered_test(check) for name, check in tests.items()}


def _metered_test(check: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(check)
    def metered(*args: Any, **kwargs: Any) -> Any:
        spend(1 + sum(size_of(arg) for arg in args))
        return check(*args, **kwargs)

    return metered


def _metered_filter(environment: MeteredSandbox, name: str, apply: Callable[..., Any], steps: int) -> Callable[..., Any]:
    size_for = FILTER_SIZES.get(name)
    takes_context = getattr(apply, "jinja_pass_arg", None) is not None  # Jinja passes it first
    whole = name in WHOLE_VALUE_FILTERS

    @wraps(apply)
    def metered(*args: Any, **kwargs: Any) -> Any:
        if size_for is None:
            result = apply(*args, **kwargs)
            spend(steps + size_of(args[1 if takes_context else 0]) + size_of(result))  # a read stays within its data
            return result
        lead, given = (args[:1], args[1:]) if takes_context else ((), args)
        if whole and given:
            given = (as_list(given[0]), *given[1:])
            args = (*lead, *given)
        spend(steps + (size_of(given[0]) if given else 0))
        try:
            size = size_for(environment, *given, **kwargs)
        except (TypeError, ValueError):
            size = None  # not arguments the filter takes: it fails with Jinja's own message
        _refuse(f"the filter {name}", size)
        if name == "sum" and size is not None:
            result = _sequences_summed(environment, *given, **kwargs)
        else:
            result = apply(*args, **kwargs)
        spend(size_of(result))
        return result

    return metered


def _sequences_summed(environment: MeteredSandbox, value: list[Any], attribute: Any = None, start: Any = ()) -> Any:
    """`lists | sum(start=[])` in one pass: Python's `sum` copies the total so far once per list, n times over."""
    parts = map(make_attrgetter(environment, attribute), value) if attribute is not None else value
    return type(start)(itertools.chain(start, *parts))
