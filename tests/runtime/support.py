"""Helpers for the workflow tests: inline journeys, and a harness for tests that need more than the simulator.

`Harness` is a fresh store and a worker on its own task queue; `enroll` starts enrollments
with the journey's clock at a chosen instant, so tests can signal at chosen moments, swap
in faulty activities and look at the store afterwards.
"""

from __future__ import annotations

import textwrap
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from google.protobuf.duration_pb2 import Duration
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.journey_activities import JourneyActivities
from orchestrator import ir
from orchestrator.compiler import compile_text, format_diagnostics
from orchestrator.host.binaries import temporal_cli
from orchestrator.runtime.contracts import (
    EVENT_SIGNAL,
    INTERPRETER_REVISION,
    WORKFLOW_NAME,
    EnrollmentInput,
    EnrollmentResult,
    EventMessage,
)
from orchestrator.runtime.search_attributes import SEARCH_ATTRIBUTES, enrollment_search_attributes
from orchestrator.runtime.workflow import JourneyWorkflow
from orchestrator.simulation.placeholder_secrets import PlaceholderSecrets
from orchestrator.simulation.simulator import quiet_runtime, release_temporal_runtime
from orchestrator.store import OutboxMessage, Store
from tests.keys import CUSTOMER_KEYS

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
"""Monday 2026-01-05 09:00 UTC: where enrollments start unless a test says otherwise."""


def journey(text: str, directory: Path | None = None) -> ir.Journey:
    """Compile inline journey YAML (dedented); fails the test with the diagnostics if it does not compile."""
    result = compile_text(textwrap.dedent(text), file="inline.yaml", directory=directory or Path.cwd())
    assert result.journey is not None, format_diagnostics(list(result.diagnostics), "text")
    return result.journey


class Harness:
    """A worker on its own queue over `store`; `enroll` starts enrollments whose clock begins at `start`."""

    def __init__(self, env: WorkflowEnvironment, store: Store, queue: str) -> None:
        self.env = env
        self.store = store
        self.queue = queue

    def identify(self, customer_id: str, traits: dict[str, Any], at: datetime = START) -> None:
        with self.store.session() as session:
            session.identify(customer_id, traits, at)

    async def enroll(
        self,
        journey: ir.Journey,
        customer_id: str,
        *,
        start: datetime = START,
        trigger: dict[str, Any] | None = None,
        history_limit: int | None = None,
        enrollment_id: str | None = None,
        search_attributes: bool = False,
        with_event: EventMessage | None = None,
        revision: int = INTERPRETER_REVISION,
    ) -> WorkflowHandle[Any, EnrollmentResult]:
        """`search_attributes`: start as the API's gateway does, with JourneyId ... CurrentStep set and kept
        up to date (only on a server where they are registered: the dev server, not the time-skipping one).
        `with_event`: signalled with the start, so the enrollment has it queued before its first step.
        `revision`: the interpreter revision it starts on (an older one runs as enrollments started before it do)."""
        shift = (start - await self.env.get_current_time()).total_seconds()
        enrollment_id = enrollment_id or f"{journey.id}-{uuid.uuid4().hex[:12]}"
        return await self.env.client.start_workflow(
            WORKFLOW_NAME,
            EnrollmentInput(
                journey=journey.to_dict(),
                customer_id=customer_id,
                enrollment_id=enrollment_id,
                trigger=_trigger(journey, trigger),
                clock_shift_seconds=shift,
                upsert_search_attributes=search_attributes,
                history_limit=history_limit,
                revision=revision,
            ),
            id=enrollment_id,
            task_queue=self.queue,
            result_type=EnrollmentResult,
            search_attributes=enrollment_search_attributes(journey, CUSTOMER_KEYS.key(customer_id)) if search_attributes else None,
            start_signal=EVENT_SIGNAL if with_event else None,
            start_signal_args=[with_event] if with_event else [],
        )

    def messages(self, customer_id: str) -> list[OutboxMessage]:
        with self.store.session() as session:
            return session.messages_for(customer_id)


@asynccontextmanager
async def dev_environment() -> AsyncIterator[WorkflowEnvironment]:
    """The real dev server (not the time-skipping one) with the enrollments' search attributes registered."""
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        search_attributes=SEARCH_ATTRIBUTES,
        runtime=quiet_runtime(),
        dev_server_log_level="error",
        ui=False,
    ) as env:
        yield env
    release_temporal_runtime()


@asynccontextmanager
async def harness(
    env: WorkflowEnvironment,
    store: Store,
    *,
    http: httpx.Client | None = None,
    activities: Callable[[JourneyActivities], list[Any]] | None = None,
) -> AsyncIterator[Harness]:
    """A running worker; `activities` may replace some of the real ones (fakes registered under the same name)."""
    queue = f"test-{uuid.uuid4()}"
    http = http or httpx.Client(transport=httpx.MockTransport(lambda _: httpx.Response(200)))
    real = JourneyActivities(store, http=http, secrets=PlaceholderSecrets())
    with ThreadPoolExecutor(4) as executor:
        worker = Worker(
            env.client,
            task_queue=queue,
            workflows=[JourneyWorkflow],
            activities=activities(real) if activities else real.activities(),
            activity_executor=executor,
        )
        async with worker:
            yield Harness(env, store, queue)


def _trigger(journey: ir.Journey, properties: dict[str, Any] | None) -> EventMessage | None:
    if not isinstance(journey.trigger, ir.EventTrigger):
        return None
    return EventMessage("trigger", journey.trigger.event, properties or {})


def at(text: str) -> str:
    """`2026-01-05T09:00` as the simulator prints it (UTC, whole seconds, Z)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def bare_namespace(temporal: Client) -> Client:
    """A new namespace on the dev server: none of the search attributes the dev server registers for `default`."""
    name = f"bare-{uuid.uuid4().hex[:8]}"
    await temporal.workflow_service.register_namespace(
        RegisterNamespaceRequest(namespace=name, workflow_execution_retention_period=Duration(seconds=86_400))
    )
    return await Client.connect(temporal.service_client.config.target_host, namespace=name)
