"""What one evaluation of an expression or one render of a template may cost at run time, and the error past it.

The compiler refuses what a journey's own constants would build
(orchestrator/language/literal_limits.py); what is built from data (an event's
properties, a profile's traits) is only known when it runs. Data comes from
whoever sends the events, so without bounds a single event could choose to
stall the process that evaluates it (the API while it decides who enters a
journey, the worker while it renders a message). Three bounds, documented in
docs/language.md ("Limits"):

- VALUE_LIMIT: one value built from data (a text, a list, a number's digits)
  holds at most this many characters, items or digits. The size is worked out
  from the operands before the value is built (orchestrator/language/sizes.py),
  so an oversized one is never made.
- RANGE_LIMIT: `range(...)` gives at most this many numbers.
- STEP_LIMIT: one evaluation or render takes at most this many steps:
  - a loop turn, a lookup of a key (`customer.name`, `event['x']`,
    `items[0]`), an operator, a comparison, a filter, a test: one step each;
  - a lookup of anything else (`loop.index`, `text.upper`): LOOKUP_STEPS;
  - a call of a macro or a method: CALL_STEPS;
  - the locale filters (`number`, `currency`, `date`...): LOCALE_FILTER_STEPS more;
  - and each character, item or digit that one of these reads or builds, each
    number a `range` gives, and each character written: one step each. A
    rendered message is therefore at most STEP_LIMIT characters.
  The count depends only on the template and its data, never on the clock, so
  a journey gives the same answer on a loaded machine as on an idle one. The
  weights follow what each costs Python, about a microsecond a step at most,
  so an evaluation stopped at the limit has taken about a second at worst
  (bench/evaluation_limits.py).

Past a bound the evaluation raises LimitExceeded (a jinja2 SecurityError, so a
TemplateError), which every caller already handles as a marketer's expression
failing on its data: a condition is false, a computed value is skipped, a
message is not sent and its delivery says why. `metered` logs it once per
evaluation, with the journey and step but no personal data.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextvars import ContextVar
from types import TracebackType
from typing import Any

from jinja2.sandbox import MAX_RANGE, SecurityError

from orchestrator.language.literal_limits import LITERAL_LIMIT

log = logging.getLogger(__name__)

VALUE_LIMIT: int = LITERAL_LIMIT
"""The most characters, items or digits one value built from data may hold: the bound a journey's own constants have."""

RANGE_LIMIT: int = MAX_RANGE
"""The most numbers `range(...)` gives in an expression or template (Jinja's sandbox cap)."""

STEP_LIMIT: int = 1_000_000
"""The most steps one evaluation or render takes (see the module's docstring for what a step is)."""

LOOKUP_STEPS: int = 3
"""The steps a lookup of something other than a key counts: the sandbox checks that the attribute is safe to read."""

CALL_STEPS: int = 10
"""The steps a call of a macro or a method counts, beyond what it reads and builds."""

LOCALE_FILTER_STEPS: int = 50
"""The steps a locale filter (`number`, `currency`, `date`...) counts beyond a filter's: Babel formats in Python."""

_ADVICE = "see docs/language.md, 'Limits'"


class LimitExceeded(SecurityError):
    """An evaluation or a render went past a run-time bound; the message says which and what to change."""


def too_large(what: str, count: int, unit: str) -> LimitExceeded:
    """The error for a value over VALUE_LIMIT, before it is built."""
    return LimitExceeded(
        f"{what} would build {count} {unit}, more than the {VALUE_LIMIT} one value may hold: "
        f"the data it reads is larger than the journey allows for; bound it (e.g. `[event.n, 100] | min`) or build less ({_ADVICE})"
    )


def range_too_long(count: int) -> LimitExceeded:
    return LimitExceeded(f"range(...) would give {count} numbers, more than {RANGE_LIMIT} ({_ADVICE})")


class Budget:
    """The steps one evaluation or render has taken; `kind` is "expression" or "template", for the message."""

    __slots__ = ("kind", "steps")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.steps = 0

    def exceeded(self) -> LimitExceeded:
        return LimitExceeded(
            f"this {self.kind} took more than {STEP_LIMIT} steps (loop turns, lookups, calls, numbers of a range, "
            f"characters read, built or written): loop over fewer items, or read less of the data ({_ADVICE})"
        )


_CURRENT: ContextVar[Budget | None] = ContextVar("journey_evaluation_budget", default=None)


def spend(steps: int) -> None:
    """Count `steps` against the evaluation running in this thread; nothing outside one (the compiler folding constants).

    Called at every lookup, call and operation a template runs, so it does the count itself.
    """
    budget = _CURRENT.get()
    if budget is not None:
        budget.steps += steps
        if budget.steps > STEP_LIMIT:
            raise budget.exceeded()


class metered:
    """Run one evaluation or render under a fresh budget; log a bound it hits once, then let the error go on.

    `scope` is what the evaluation reads: only its `journey` (id, version, step) is logged,
    never the customer or the event. Nesting too deep for Python (a macro calling itself)
    is a bound too, reported the same way instead of as an internal error. A class rather
    than a generator: it wraps every evaluation, and this is the cheaper of the two.
    """

    __slots__ = ("kind", "scope", "token")

    def __init__(self, kind: str, scope: Mapping[str, Any]) -> None:
        self.kind = kind
        self.scope = scope

    def __enter__(self) -> None:
        self.token = _CURRENT.set(Budget(self.kind))

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, _: TracebackType | None) -> None:
        _CURRENT.reset(self.token)
        if isinstance(error, RecursionError):
            limit = LimitExceeded(f"this {self.kind} nests calls deeper than Python allows: a macro or a loop calls itself ({_ADVICE})")
            _log(self.kind, self.scope, limit)
            raise limit from None
        if isinstance(error, LimitExceeded):
            _log(self.kind, self.scope, error)


def _log(kind: str, scope: Mapping[str, Any], error: LimitExceeded) -> None:
    journey = scope.get("journey") or {}
    where = ", ".join(f"{key} {journey[key]}" for key in ("id", "version", "step") if key in journey) or "no journey"
    log.warning("%s stopped at a run-time limit (journey %s): %s", kind.capitalize(), where, error)
