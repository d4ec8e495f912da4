"""The request each activity of one enrollment gets, built from what the enrollment knows.

`ActivityRequests` builds every request of one enrollment from what does not change
while it runs (its input, its journey, its trigger's properties) and what the step
adds, so the interpreter (interpreter.py) only walks the graph. Building a request
reads the enrollment's state and issues no command: the interpreter yields the
command that carries it. A request whose expressions or templates the activity
evaluates names the journey, its version and the step, which the activity puts
in scope as `journey` (orchestrator/language/scope.py says which step), and
carries what the enrollment remembers of its `wait_for` matches, in scope as `events`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orchestrator.ir as ir
from orchestrator.runtime.contracts import (
    ConditionRequest,
    EnrollmentInput,
    FinishRequest,
    ProgressFact,
    ProgressRequest,
    SendRequest,
    UpdateRequest,
    ValuesRequest,
    WakeRequest,
    WebhookRequest,
)
from orchestrator.runtime.enrollment_state import EnrollmentState


@dataclass(frozen=True)
class ActivityRequests:
    """The requests of one enrollment's activities."""

    start: EnrollmentInput
    journey: ir.Journey
    trigger: dict[str, Any] | None
    """`event` in templates and branch conditions: the triggering event's properties (None: no trigger event)."""
    state: EnrollmentState
    """What the enrollment remembers, read when a request is built: its wait_for matches are `events`."""

    @classmethod
    def of(cls, start: EnrollmentInput, journey: ir.Journey, state: EnrollmentState) -> ActivityRequests:
        return cls(start, journey, dict(start.trigger.properties) if start.trigger else None, state)

    @property
    def events(self) -> dict[str, dict[str, Any]]:
        """`events` in expressions and templates: by wait_for step id, its latest match the journey reads."""
        return {step: event.as_scope() for step, event in self.state.awaited.items()}

    def send(
        self, node: ir.SendStep, visit: int, now: datetime, facts: list[ProgressFact] | None = None, then: list[ProgressFact] | None = None
    ) -> SendRequest:
        """One visit of a send step, with the facts it records with its outcome (revision 4 on) and the rest that follows."""
        return SendRequest(
            enrollment_id=self.start.enrollment_id,
            journey_id=self.journey.id,
            version=self.journey.version,
            visit=visit,
            customer_id=self.start.customer_id,
            step=node,
            settings=self.journey.settings,
            event=self.trigger,
            now=now.isoformat(),
            events=self.events,
            facts=facts or [],
            then=then or [],
        )

    def values(self, node: ir.UpdateStep, visit: int, now: datetime) -> ValuesRequest:
        """The update's `compute`, evaluated before the write by an activity that writes no profile (it notes failures)."""
        return ValuesRequest(
            customer_id=self.start.customer_id,
            journey_id=self.journey.id,
            version=self.journey.version,
            expressions=dict(node.compute or {}),
            event=self.trigger,
            step_id=node.id,
            enrollment_id=self.start.enrollment_id,
            visit=visit,
            now=now.isoformat(),
            events=self.events,
        )

    def update(self, node: ir.UpdateStep, values: dict[str, Any], now: datetime, visit: int) -> UpdateRequest:
        return UpdateRequest(
            enrollment_id=self.start.enrollment_id,
            journey_id=self.journey.id,
            version=self.journey.version,
            step_id=node.id,
            customer_id=self.start.customer_id,
            set=values,
            compute=None,
            unset=list(node.unset),
            event=self.trigger,
            now=now.isoformat(),
            visit=visit,
        )

    def webhook(self, node: ir.WebhookStep, visit: int, now: datetime) -> WebhookRequest:
        return WebhookRequest(
            enrollment_id=self.start.enrollment_id,
            journey_id=self.journey.id,
            version=self.journey.version,
            step_id=node.id,
            visit=visit,
            customer_id=self.start.customer_id,
            url=node.url,
            method=node.method,
            headers=node.headers,
            body=node.body,
            timeout_seconds=node.timeout_seconds,
            event=self.trigger,
            now=now.isoformat(),
            events=self.events,
        )

    def conditions(self, conditions: list[str], event: dict[str, Any] | None, step: str) -> ConditionRequest:
        """`conditions` with `event` in scope, evaluated while the enrollment is at `step`."""
        return ConditionRequest(self.start.customer_id, self.journey.id, self.journey.version, conditions, event, step, self.events)

    def wake_at_time_of_day(self, node: ir.WaitUntilStep, now: datetime) -> WakeRequest:
        return self._wake(node, now, until=node.until, days=list(node.days))

    def wake_on_date(self, node: ir.WaitUntilDateStep, now: datetime, visit: int) -> WakeRequest:
        """The end of an `until_date` wait; the enrollment and visit say where a date that cannot be had is noted."""
        return self._wake(
            node,
            now,
            until_date=node.until_date,
            offset_seconds=node.offset_seconds,
            at=node.at,
            repeat=node.repeat,
            enrollment_id=self.start.enrollment_id,
            visit=visit,
        )

    def _wake(self, node: ir.WaitUntilStep | ir.WaitUntilDateStep, now: datetime, **fields: Any) -> WakeRequest:
        return WakeRequest(
            customer_id=self.start.customer_id,
            default_timezone=self.journey.settings.timezone,
            now=now.isoformat(),
            event=self.trigger,
            journey_id=self.journey.id,
            version=self.journey.version,
            step_id=node.id,
            events=self.events,
            **fields,
        )

    def finish(self, status: str, step: str | None, at: str, reason: str | None, facts: list[ProgressFact]) -> FinishRequest:
        """The end, with the journey version its `ended` fact names and the facts collected since the last report."""
        start, journey = self.start, self.journey
        return FinishRequest(start.enrollment_id, status, step, at, start.customer_id, reason, journey.id, journey.version, facts)

    def progress(self, facts: list[ProgressFact]) -> ProgressRequest:
        """Facts collected before the enrollment blocks, for the local `record_progress`."""
        return ProgressRequest(self.start.enrollment_id, self.start.customer_id, self.journey.id, self.journey.version, facts)

