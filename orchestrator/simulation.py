"""Run the real interpreter workflow for one customer on Temporal's time-skipping test server.

`journey simulate` and `journey test` use this: the journey runs exactly as in
production (same workflow, same activities, a throwaway SQLite store and the
sandbox provider), but days pass in milliseconds. The workflow's clock is
shifted so the run starts at the chosen `start` instant.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import TemplateError
from temporalio.client import WorkflowExecutionStatus
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.testing import WorkflowEnvironment

from orchestrator import ir
from orchestrator.binaries import temporal_test_server
from orchestrator.runtime.contracts import (
    EVENT_SIGNAL,
    STATUS_QUERY,
    WORKFLOW_NAME,
    EnrollmentInput,
    EnrollmentResult,
    EnrollmentStatus,
    EventMessage,
)
from orchestrator.store import Store
from orchestrator.templating import evaluate
from orchestrator.worker import build_worker

DEFAULT_HORIZON = timedelta(days=90)
"""How long after the last scripted event a simulation keeps running."""


@dataclass(frozen=True)
class ScriptedEvent:
    """`{at: 2h, event: email_opened, properties: {...}}` from an events file."""

    offset_seconds: int
    name: str
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Timeline:
    """What happened to the customer: the JSON form of `journey simulate --format json`."""

    journey: str
    version: str
    steps: list[dict[str, str]]
    messages: list[dict[str, Any]]
    outcome: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"journey": self.journey, "version": self.version, "steps": self.steps, "messages": self.messages, "outcome": self.outcome}

    def text(self) -> str:
        lines = [f"journey {self.journey} (version {self.version})"]
        events: list[tuple[str, int, str]] = [(s["at"], 0, f"step     {s['step']}") for s in self.steps]
        for m in self.messages:
            headline = m["subject"] if m["subject"] is not None else m["body"]
            events.append((m["at"], 1, f"  {m['channel']:<5} to {m['to']}: {_one_line(headline)}"))
        lines += [f"{at}  {what}" for at, _, what in sorted(events, key=lambda e: (e[0], e[1]))]
        outcome = self.outcome
        where = f" at step {outcome['step']}" if outcome["step"] else ""
        lines.append(f"{outcome['at']}  outcome  {outcome['status']}{where}")
        return "\n".join(lines)


def _one_line(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def iso(moment: datetime) -> str:
    """UTC, whole seconds, `Z`: the clock of a time-skipped run drifts by milliseconds per step."""
    rounded = (moment.astimezone(UTC) + timedelta(milliseconds=500)).replace(microsecond=0)
    return rounded.strftime("%Y-%m-%dT%H:%M:%SZ")


def quiet_runtime() -> Runtime:
    """A Temporal runtime that logs only errors: the test server lacks some capabilities a real
    cluster has, and the SDK's warnings about them would clutter a simulation's output."""
    return Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))))


def customer_id_of(customer: dict[str, Any]) -> str:
    return str(customer.get("id") or customer.get("userId") or "simulated-customer")


class Simulator:
    """One time-skipping server shared by many simulated runs; each run gets its own store and queue."""

    def __init__(self, env: WorkflowEnvironment) -> None:
        self.env = env

    @classmethod
    @asynccontextmanager
    async def start(cls) -> AsyncIterator[Simulator]:
        async with await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=temporal_test_server(), runtime=quiet_runtime()
        ) as env:
            yield cls(env)

    async def run(
        self,
        journey: ir.Journey,
        customer: dict[str, Any],
        events: list[ScriptedEvent],
        start: datetime,
        horizon: timedelta = DEFAULT_HORIZON,
    ) -> Timeline:
        customer_id = customer_id_of(customer)
        traits = {k: v for k, v in customer.items() if k not in ("id", "userId")}
        with tempfile.TemporaryDirectory(prefix="journey-sim-") as tmp:
            store = Store(f"sqlite:///{Path(tmp) / 'simulation.db'}")
            try:
                store.migrate()
                with store.session() as session:
                    session.identify(customer_id, traits, start)
                    profile = session.get_profile(customer_id)
                assert profile is not None
                return await self._run(journey, customer_id, profile.template_context(), events, start, horizon, store)
            finally:
                store.dispose()

    async def _run(
        self,
        journey: ir.Journey,
        customer_id: str,
        context: dict[str, Any],
        events: list[ScriptedEvent],
        start: datetime,
        horizon: timedelta,
        store: Store,
    ) -> Timeline:
        env = self.env
        queue = f"simulation-{uuid.uuid4()}"
        ordered = sorted(events, key=lambda e: e.offset_seconds)
        end_offset = (ordered[-1].offset_seconds if ordered else 0) + horizon.total_seconds()
        async with build_worker(env.client, store, task_queue=queue):
            with env.auto_time_skipping_disabled():
                origin = await env.get_current_time()
                shift = (start - origin).total_seconds()
                elapsed = 0.0

                async def advance_to(offset: float) -> None:
                    nonlocal elapsed
                    if offset > elapsed:
                        await env.sleep(timedelta(seconds=offset - elapsed))
                        elapsed = offset

                entry_index = _entry(journey, context, ordered)
                if entry_index is None:
                    return _not_entered(journey, start)
                trigger = ordered[entry_index] if entry_index >= 0 else None
                await advance_to(trigger.offset_seconds if trigger else 0)
                enrollment_id = f"simulation-{journey.id}-{uuid.uuid4().hex[:8]}"
                handle = await env.client.start_workflow(
                    WORKFLOW_NAME,
                    EnrollmentInput(
                        journey=journey.to_dict(),
                        customer_id=customer_id,
                        enrollment_id=enrollment_id,
                        trigger=_message(trigger, 0, start) if trigger else None,
                        clock_shift_seconds=shift,
                        upsert_search_attributes=False,
                    ),
                    id=enrollment_id,
                    task_queue=queue,
                    result_type=EnrollmentResult,
                )
                later = ordered[entry_index + 1 :] if entry_index >= 0 else ordered
                for number, event in enumerate(later, start=1):
                    await advance_to(event.offset_seconds)
                    await handle.signal(EVENT_SIGNAL, _message(event, number, start))
                await advance_to(end_offset)
                description = await handle.describe()
                status: EnrollmentStatus = await handle.query(STATUS_QUERY, result_type=EnrollmentStatus)
                if description.status == WorkflowExecutionStatus.COMPLETED:
                    result = await handle.result()
                    outcome = {"status": result.status, "step": result.step, "at": iso(datetime.fromisoformat(result.at))}
                else:
                    now = await env.get_current_time() + timedelta(seconds=shift)
                    outcome = {"status": "waiting", "step": status.step, "at": iso(now)}
                    await handle.terminate("simulation horizon reached")
        with store.session() as session:
            messages = session.messages_for(customer_id)
        return Timeline(
            journey=journey.id,
            version=journey.version,
            steps=[{"step": t.step, "at": iso(datetime.fromisoformat(t.at))} for t in status.trail],
            messages=[
                {"at": iso(m.sent_at), "step": m.step_id, "channel": m.channel, "to": m.to, "subject": m.subject, "body": m.body}
                for m in messages
            ],
            outcome=outcome,
        )


def _message(event: ScriptedEvent, number: int, start: datetime) -> EventMessage:
    at = start + timedelta(seconds=event.offset_seconds)
    return EventMessage(f"simulated-{number}", event.name, dict(event.properties), iso(at))


def _holds(expression: str | None, context: dict[str, Any], event: dict[str, Any]) -> bool:
    if expression is None:
        return True
    try:
        return bool(evaluate(expression, {"customer": context, "event": event, "journey": {}}))
    except (TemplateError, TypeError, ValueError, ArithmeticError):
        return False


def _entry(journey: ir.Journey, context: dict[str, Any], events: list[ScriptedEvent]) -> int | None:
    """Index of the triggering event; -1 to enter at the start (segment, schedule); None: never enters."""
    if not _holds(journey.entry.audience, context, {}):
        return None
    trigger = journey.trigger
    if isinstance(trigger, ir.EventTrigger):
        for index, event in enumerate(events):
            if event.name == trigger.event and _holds(trigger.where, context, event.properties):
                return index
        return None
    if isinstance(trigger, ir.SegmentTrigger) and not _holds(trigger.condition, context, {}):
        return None
    return -1


def _not_entered(journey: ir.Journey, start: datetime) -> Timeline:
    return Timeline(journey.id, journey.version, [], [], {"status": "not_entered", "step": None, "at": iso(start)})
