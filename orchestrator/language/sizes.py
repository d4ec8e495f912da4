"""How large a value an operation would build, worked out from its operands before it builds it.

Python builds `'x' * n`, `s.replace('', t)`, `2 ** n` or `'%*d' % (n, 1)` in
one C call that nothing can interrupt, and holds the GIL while it does: every
thread of the process (the API's other requests, the worker's other
activities) waits. Where `n` or `t` come from data (an event's properties, a
profile's traits), only working out the size first, from the operands, keeps
such a value from being built at all. Each function here returns that size, or
None when the operation builds nothing larger than its operands (or its
operands are of a kind it does not size: the operation then fails, or not, as
Python decides). Nothing here builds the result; working a size out costs at
most a pass over the operands. orchestrator/language/metering.py refuses an
operation whose size is over VALUE_LIMIT (orchestrator/language/run_limits.py).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2.filters import make_attrgetter


@dataclass(frozen=True)
class Size:
    """What an operation would build: `count` characters, items or digits (`unit`)."""

    count: int
    unit: str


def digits(number: int) -> int:
    """About how many decimal digits a whole number has, worked out from its bits without writing it out."""
    return int(abs(number).bit_length() * math.log10(2)) + 1


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text_or_items(sequence: Any) -> str:
    return "characters" if isinstance(sequence, str | bytes) else "items"


# -- operators: `*`, `**`, `+`, `%` ---------------------------------------------------------------


def binop_size(operator: str, left: Any, right: Any) -> Size | None:
    """The size of `left operator right` for the operators that can build large values from small operands."""
    if operator == "*":
        sequence, times = (left, right) if isinstance(left, str | bytes | list | tuple) else (right, left)
        if isinstance(sequence, str | bytes | list | tuple) and isinstance(times, int):
            return Size(len(sequence) * max(times, 0), _text_or_items(sequence))
        if _is_int(left) and _is_int(right):
            return Size(digits(left) + digits(right), "digits")
    elif operator == "**":
        if _is_int(left) and _is_int(right) and right > 0 and abs(left) > 1:
            return Size(int(right * math.log10(abs(left))) + 1, "digits")
    elif operator == "+":
        if isinstance(left, str | bytes | list | tuple) and isinstance(right, str | bytes | list | tuple):
            return Size(len(left) + len(right), _text_or_items(left))
    elif operator == "%" and isinstance(left, str):
        return Size(printf_size(left, right), "characters")
    return None


# A printf conversion: `%s`, `%(name)s`, `%-*d`, `%.3f`, `%08.2f`.
_PRINTF = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?[-#0 +]*(?P<width>\*|\d+)?(?:\.(?P<precision>\*|\d*))?[hlL]?(?P<kind>[diouxXeEfFgGcrsa%])"
)


def printf_size(template: str, values: Any, *, stop_above: int = 2**62) -> int:
    """About how many characters `template % values` writes: its text, and each conversion at its width or its value's size.

    Sizing a value may write it out (a list printed with `%s`), so the count stops
    once it is past `stop_above`: the work of sizing stays within what is refused.
    Values that do not fit the template are not sized; `%` then fails on them.
    """
    positional = list(values) if isinstance(values, tuple) else [values]
    mapping = values if isinstance(values, Mapping) else None
    taken = 0
    size = len(template)

    def number(text: str | None) -> int:
        nonlocal taken
        if text != "*":
            return int(text) if text else 0
        found = positional[taken] if taken < len(positional) else 0
        taken += 1
        return abs(found) if _is_int(found) else 0

    for match in _PRINTF.finditer(template):
        if match["kind"] == "%":
            continue
        width, precision = number(match["width"]), number(match["precision"])
        if match["key"] is not None and mapping is not None:
            value = mapping.get(match["key"])
        else:
            value = positional[taken] if taken < len(positional) else None
            taken += 1
        size += max(width, _converted_size(value, match["kind"], precision))
        if size > stop_above:
            break
    return size


def _converted_size(value: Any, kind: str, precision: int) -> int:
    if kind in "sra":
        if isinstance(value, str):
            text = len(value) * (4 if kind != "s" else 1)  # repr may escape each character as \xNN
            return min(text, precision) if precision and kind == "s" else text
        if _is_int(value):
            return digits(value) + 1
        if isinstance(value, float | bool) or value is None:
            return 32
        return len(str(value))
    if kind == "c":
        return 1
    if isinstance(value, float) and math.isfinite(value):
        return digits(int(value)) + precision + 8
    if _is_int(value):
        return digits(value) + precision + 8
    return 32 + precision


# -- methods called in a template: `s.center(n)`, `s.replace(a, b)`... -----------------------------


def method_size(method: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Size | None:
    """The size of what calling `method` (a method of a text or a number) with `args` builds, for those that pad or repeat."""
    owner = getattr(method, "__self__", None)
    name = getattr(method, "__name__", "")
    if isinstance(owner, str | bytes):
        sizer = _TEXT_METHODS.get(name)
        if sizer is not None:
            try:
                count = sizer(owner, *args, **kwargs)
            except TypeError:
                return None  # not the arguments the method takes: it fails with Python's own message
            return None if count is None else Size(count, "characters")
    elif _is_int(owner) and name == "to_bytes":
        length = args[0] if args else kwargs.get("length", 1)
        return Size(length, "bytes") if _is_int(length) else None
    return None


def _padded(text: str | bytes, width: Any, *_: Any) -> int | None:
    return max(len(text), width) if _is_int(width) else None


def _replaced(text: str | bytes, old: Any, new: Any, count: Any = -1, /) -> int | None:
    if not (isinstance(old, type(text)) and isinstance(new, type(text)) and _is_int(count)):
        return None
    found = len(text) + 1 if not old else text.count(old)
    if count >= 0:
        found = min(found, count)
    return len(text) + found * (len(new) - len(old))


def _joined(separator: str | bytes, items: Any) -> int | None:
    if not isinstance(items, list | tuple):
        return None
    return joined_size(separator, items)


def _tabs_expanded(text: str | bytes, tabsize: Any = 8) -> int | None:
    tab = "\t" if isinstance(text, str) else b"\t"
    return len(text) + text.count(tab) * tabsize if _is_int(tabsize) else None  # type: ignore[arg-type]


def _translated(text: str | bytes, table: Any) -> int | None:
    if not isinstance(table, Mapping):
        return None
    longest = max((len(value) for value in table.values() if isinstance(value, str)), default=1)
    return len(text) * max(longest, 1)


_TEXT_METHODS: dict[str, Callable[..., int | None]] = {
    "center": _padded,
    "ljust": _padded,
    "rjust": _padded,
    "zfill": _padded,
    "replace": _replaced,
    "join": _joined,
    "expandtabs": _tabs_expanded,
    "translate": _translated,
}

JOIN_METHOD = "join"
"""The method whose argument is read whole before it is sized (`sep.join(items)` takes any iterable)."""


def joined_size(separator: Any, items: list[Any] | tuple[Any, ...]) -> int:
    """The characters of `separator.join(items)`: the separators, and each item that is text (others fail to join, or are sized after)."""
    return max(len(items) - 1, 0) * len(separator) + sum(len(item) for item in items if isinstance(item, str | bytes))


# -- filters: `| center(n)`, `| replace(a, b)`, `| join(s)`... ----------------------------------------
# Each takes the filter's value and arguments as a template passes them (without Jinja's context).


def _center(_env: Any, value: Any, width: Any = 80) -> Size | None:
    count = _padded(str(value), width)
    return None if count is None else Size(count, "characters")


def _indent(_env: Any, value: Any, width: Any = 4, first: Any = False, blank: Any = False) -> Size | None:
    indention = len(width) if isinstance(width, str) else width if _is_int(width) else None
    if indention is None:
        return None
    text = str(value)
    return Size(len(text) + (text.count("\n") + 2) * indention, "characters")


def _wordwrap(env: Any, value: Any, width: Any = 79, break_long_words: Any = True, wrapstring: Any = None, *_: Any) -> Size | None:
    separator = env.newline_sequence if wrapstring is None else wrapstring
    if not (_is_int(width) and isinstance(separator, str)):
        return None
    text = str(value)
    lines = len(text) // max(width, 1) + text.count("\n") + 1
    return Size(len(text) + lines * len(separator), "characters")


def _format(_env: Any, value: Any, *args: Any, **kwargs: Any) -> Size:
    return Size(printf_size(str(value), kwargs or args), "characters")


def _replace(_env: Any, value: Any, old: Any, new: Any, count: Any = None) -> Size | None:
    size = _replaced(str(value), str(old), str(new), -1 if count is None else count)
    return None if size is None else Size(size, "characters")


def _join(_env: Any, value: Any, separator: Any = "", attribute: Any = None) -> Size | None:
    if attribute is not None or not isinstance(value, list):
        return None  # items read by attribute are sized once joined
    return Size(joined_size(str(separator), value), "characters")


def _batch(_env: Any, value: Any, linecount: Any, fill_with: Any = None) -> Size | None:
    if fill_with is None or not _is_int(linecount):
        return None  # without `fill_with`, batches only regroup the items
    return Size(len(value) + linecount if isinstance(value, list | tuple | str) else linecount, "items")


def _slice(_env: Any, value: Any, slices: Any, fill_with: Any = None) -> Size | None:
    return Size(slices, "slices") if _is_int(slices) else None


def _urlize(_env: Any, value: Any, trim_url_limit: Any = None, nofollow: Any = False, target: Any = None, rel: Any = None, *_: Any) -> Size:
    text = str(value)
    added = len(str(target or "")) + len(str(rel or "")) + 64  # the anchor's own markup
    return Size(2 * len(text) + len(text.split()) * added, "characters")


def _tojson(_env: Any, value: Any, indent: Any = None) -> Size | None:
    step = len(indent) if isinstance(indent, str) else indent if _is_int(indent) else 0
    if not step:
        return None
    compact = json.dumps(value, default=str)
    lines = compact.count(",") + compact.count("[") + compact.count("{") + 1
    return Size(len(compact) + lines * step * _depth(value), "characters")


def _depth(value: Any) -> int:
    if isinstance(value, Mapping):
        return 1 + max((_depth(item) for item in value.values()), default=0)
    if isinstance(value, list | tuple):
        return 1 + max((_depth(item) for item in value), default=0)
    return 0


def _sum(env: Any, value: Any, attribute: Any = None, start: Any = 0) -> Size | None:
    if not isinstance(start, list | tuple) or not isinstance(value, list):
        return None
    parts = map(make_attrgetter(env, attribute), value) if attribute is not None else value
    return Size(len(start) + sum(len(part) for part in parts if isinstance(part, list | tuple)), "items")


FILTER_SIZES: dict[str, Callable[..., Size | None]] = {
    "center": _center,
    "indent": _indent,
    "wordwrap": _wordwrap,
    "format": _format,
    "replace": _replace,
    "join": _join,
    "batch": _batch,
    "slice": _slice,
    "urlize": _urlize,
    "tojson": _tojson,
    "sum": _sum,
}
"""The filters that can build more than their value holds, and how much they would build."""

WHOLE_VALUE_FILTERS = frozenset({"join", "sum"})
"""Filters given their value as a list, read whole before it is sized (both read it whole anyway)."""


_SIZED: frozenset[type] = frozenset({str, bytes, list, tuple, dict})
_LOG10_2 = math.log10(2)


def size_of(value: Any) -> int:
    """The characters, items or digits of a value: about what reading it or building it costs (0 for other values).

    Called for every operand of every operation a template runs, so the usual types are told apart first, by identity.
    """
    kind = type(value)
    if kind in _SIZED:
        return len(value)
    if kind is int:
        return int(value.bit_length() * _LOG10_2) + 1
    if isinstance(value, str | bytes | list | tuple | dict):  # Markup, and other subclasses
        return len(value)
    return 0


def as_list(value: Iterable[Any]) -> Any:
    """`value` as a list when it is an iterator or another collection that can be read only once, else itself."""
    return value if isinstance(value, list | tuple | str | Mapping) or not isinstance(value, Iterable) else list(value)
