"""What an expression or a template reads (`customer`, `event`, `events`, `journey`), built here and nowhere else.

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
- `events`: by `wait_for` step id, the event that step matched, as `name`,
  `properties` and `timestamp` (ISO 8601 text, the event's own), wherever the
  enrollment is at a step: `events.await_score.properties.score`. Only matches
  some expression or template of the journey reads are kept; the latest match
  of a step wins; a step that timed out or has not run is missing (a missing
  value: `none` in expressions, an error in templates). `{}` in the trigger's
  `where` and `segment` and in `entry.audience`, where the compiler refuses it,
  and in requests from workflows that predate it.
- `journey`: `id` and `version` (the version the customer enters or is
  enrolled in) in every expression and template. `step`, a step's id, wherever
  the enrollment is at a step: in a step's own expressions and templates (a
  `send`'s and a `webhook`'s templates, a `branch`'s `when`, an `update`'s
  `compute`, a wait's `until_date`, a `wait_for`'s `where`) the step being run;
  in the `where` of `goal` and `exit_on`, the step the enrollment is at when the
  event is applied: the step it waits at (a wait, a wait_for, a send held by
  quiet hours, the holdout), or the step it has just run; for an event applied
  before its first step, the first step. No `step` in the trigger's `where` and `segment` nor in
  `entry.audience`, evaluated before any step runs: the compiler refuses
  `journey.step` there. An activity task scheduled by a workflow from before
  the requests named the step has no `step`, and a wait's `until_date` from
  then reads `journey` as `{}`.
- `secrets` in webhook templates, `unsubscribe_url` in message templates.

For example, while a customer of journey `onboarding` (version `3f2a...`) waits
at its step `await_open` (a `wait_for`), an `exit_on` event's `where:
"journey.step == 'await_open'"` reads `journey` as `{"id": "onboarding",
"version": "3f2a...", "step": "await_open"}`; the trigger's `where` reads it as
`{"id": "onboarding", "version": "3f2a..."}`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateError

from orchestrator.language.templating import is_true

log = logging.getLogger(__name__)

EXPRESSION_ERRORS: tuple[type[Exception], ...] = (TemplateError, TypeError, ValueError, ArithmeticError)
"""What a marketer's expression raises on data it does not fit (text compared with a number, arithmetic on a missing trait...).

A condition that raises one is false and a computed value (which must be
there: a missing one raises too) is skipped: the journey goes on, as
docs/language.md promises.
"""


@dataclass(frozen=True)
class JourneyInScope:
    """What `journey` holds: the journey being entered or run, and the step where there is one."""

    id: str
    version: str
    step: str | None = None
    """The id of the step the enrollment is at (see the module's docstring); None in the trigger and the entry."""

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
    events: Mapping[str, Mapping[str, Any]] | None = None,
    secrets: Mapping[str, str] | None = None,
    unsubscribe_url: str | None = None,
) -> dict[str, Any]:
    """The names an expression or template reads; see the module's docstring for what each holds where.

    `event` None (no event) reads as `{}`, and so do `events` None (no wait_for has matched, or no step has
    run) and `journey` None (a wait's `until_date` from an old workflow).
    `secrets` is given for webhook templates only, `unsubscribe_url` for message templates only.
    """
    scope: dict[str, Any] = {
        "customer": customer,
        "event": event or {},
        "events": events or {},
        "journey": journey.as_scope() if journey is not None else {},
    }
    if secrets is not None:
        scope["secrets"] = secrets
    if unsubscribe_url is not None:
        scope["unsubscribe_url"] = unsubscribe_url
    return scope


def holds(expression: str | None, scope: Mapping[str, Any]) -> bool:
    """Whether a condition is true in `scope`: no condition is true, and one that fails to evaluate is false.

    A missing value in it is `none` (orchestrator/language/missing_values.py), which is no failure.
    """
    if expression is None:
        return True
    try:
        return is_true(expression, scope)
    except EXPRESSION_ERRORS as exc:
        journey = scope.get("journey") or {}
        log.info("condition %r of %s is false: %s", expression, journey.get("id", "a journey"), exc)
        return False
