"""What an expression or a template reads (`customer`, `event`, `journey`), built here and nowhere else.

Everything that evaluates a marketer's expression or renders a template builds
its scope with `expression_scope`: the entry rules (orchestrator/routing/entry.py,
which the router, the broadcast activity and the simulator share), the
condition, value and wake activities, webhooks and messages. A name therefore
holds the same thing wherever it is read, and what differs from one place to
another is written once, below. The compiler checks templates against the
names of `templating.SCOPE`, `WEBHOOK_SCOPE` and `MESSAGE_SCOPE`; this builder
puts exactly those names in scope (tests/language/test_scope.py).

What each name holds where it is read (docs/language.md, "Names in scope"):

- `customer`: the profile (traits and standard fields) as it is at that moment:
  when the event arrives for a trigger's `where`, after the identify for a
  `segment`, at entry for `entry.audience`, when the step runs everywhere else.
- `event`: in the `where` of `trigger`, `goal`, `exit_on` and `wait_for`, the
  event being matched; everywhere else the triggering event's properties, in
  `entry.audience` too; `{}` when there is none (segment and schedule journeys).
- `journey`: `id` and `version` (the version the customer enters or is
  enrolled in) in every expression and template, the trigger's and the
  entry's included; `step`, the step's id, in the templates of a `send` or a
  `webhook` step, the only activities told which step they run for. In a wait's
  `until_date` it is `{}`: the wake activity is not told the journey.
- `secrets` in webhook templates, `unsubscribe_url` in message templates.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateError

from orchestrator.language.templating import evaluate

log = logging.getLogger(__name__)

EXPRESSION_ERRORS: tuple[type[Exception], ...] = (TemplateError, TypeError, ValueError, ArithmeticError)
"""What a marketer's expression raises on data it does not fit (a missing trait, text compared with a number...).

A condition that raises one is false and a computed value is skipped: the
journey goes on, as docs/language.md promises for missing values.
"""


@dataclass(frozen=True)
class JourneyInScope:
    """What `journey` holds: the journey being entered or run, and the step where there is one."""

    id: str
    version: str
    step: str | None = None
    """The id of the step whose templates are rendered (send and webhook steps); None elsewhere."""

    def as_scope(self) -> dict[str, str]:
        fields = {"id": self.id, "version": self.version}
        if self.step is not None:
            fields["step"] = self.step
        return fields


def expression_scope(
    customer: Mapping[str, Any],
    event: Mapping[str, Any] | None,
    journey: JourneyInScope | None,
    *,
    secrets: Mapping[str, str] | None = None,
    unsubscribe_url: str | None = None,
) -> dict[str, Any]:
    """The names an expression or template reads; see the module's docstring for what each holds where.

    `event` None (no event) reads as `{}`, and so does `journey` None (a wait's `until_date`).
    `secrets` is given for webhook templates only, `unsubscribe_url` for message templates only.
    """
    scope: dict[str, Any] = {
        "customer": customer,
        "event": event or {},
        "journey": journey.as_scope() if journey is not None else {},
    }
    if secrets is not None:
        scope["secrets"] = secrets
    if unsubscribe_url is not None:
        scope["unsubscribe_url"] = unsubscribe_url
    return scope


def holds(expression: str | None, scope: Mapping[str, Any]) -> bool:
    """Whether a condition is true in `scope`: no condition is true, and one that fails to evaluate is false."""
    if expression is None:
        return True
    try:
        return bool(evaluate(expression, scope))
    except EXPRESSION_ERRORS as exc:
        journey = scope.get("journey") or {}
        log.info("condition %r of %s is false: %s", expression, journey.get("id", "a journey"), exc)
        return False
