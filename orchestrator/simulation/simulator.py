"""Run the real interpreter workflow for one customer on Temporal's time-skipping test server.

`journey simulate` and `journey test` use this: the journey runs exactly as in
production (same workflow, same activities, a throwaway SQLite store and the
sandbox provider), but days pass in milliseconds. The workflow's clock is
shifted so the run starts at the chosen `start` instant. Webhooks are recorded,
never called: a simulation must not open real support tickets.

Scripted events are track calls, except `identify`, whose properties are traits
merged into the profile at that moment (as the API's identify call does); one with
a `user_id` first logs an anonymous visitor in (script.py, `apply_identify`).
Whether they enter the customer is decided by the entry rules the router uses
(orchestrator/routing/entry.py); the customer file is the customer's first
identify, and a broadcast enrolls the customer when its schedule first fires at or after
the start (orchestrator/simulation/broadcast_firing.py), not at the start itself.
"""

from __future__ import annotations

import gc
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.batch_sends import BatchSends
from activities.cohort_activities import CohortActivities
from activities.journey_activities import JourneyActivities
from orchestrator import ir
from orchestrator.host.binaries import temporal_test_server
from orchestrator.host.settings import SimulationSettings
from orchestrator.runtime.cohort_contracts import COHORT_WORKFLOW, MEMBER_EVENT_SIGNAL, CohortInput, CohortMember, MemberEvent
from orchestrator.runtime.cohort_workflow import JourneyCohort
from orchestrator.runtime.contracts import (
    EVENT_SIGNAL,
    INTERPRETER_REVISION,
    STATUS_QUERY,
    WORKFLOW_NAME,
    EnrollmentInput,
    EnrollmentResult,
    EnrollmentStatus,
    EventMessage,
)
from orchestrator.runtime.workflow import JourneyWorkflow
from orchestrator.simulation.live_script import (
    WebhookRecorder,
    deliver,
    member_status,
    scripted_happening,
    server_clock,
    stop,
    timeline_of,
)
from orchestrator.simulation.placeholder_secrets import PlaceholderSecrets
from orchestrator.simulation.script import (
    DEFAULT_HORIZON,
    ScriptedEvent,
    SimulatedCustomer,
    cause_of,
    current_customer,
    customer_id_of,
    customer_traits,
    merges_shown,
    message_of,
    not_entered,
    opening_offset,
)
from orchestrator.simulation.sends import SendRecorder
from orchestrator.simulation.timeline import Timeline, iso
from orchestrator.store import Store


def quiet_runtime() -> Runtime:
    """A Temporal runtime that logs only errors: the test server lacks some capabilities a real
    cluster has, and the SDK's warnings about them would clutter a simulation's output."""
    return Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))))


def release_temporal_runtime() -> None:
    """Free the SDK's native runtime now, while Python is fully alive.

    Left to interpreter shutdown, its threads can abort the process ("PyGILState_Release:
    thread state must be current", temporalio/sdk-python#300) after everything succeeded.
    """
    gc.collect()


class Simulator:
    """One time-skipping server shared by many simulated runs; each run gets its own store, worker and queue."""

    def __init__(self, env: WorkflowEnvironment, settings: SimulationSettings | None = None) -> None:
        self.env = env
        self.settings = settings or SimulationSettings()
        """The daily cap, send retry window and unsubscribe links the runs use (`journey simulate` reads them at start)."""

    @classmethod
    @asynccontextmanager
    async def start(cls, settings: SimulationSettings | None = None) -> AsyncIterator[Simulator]:
        async with await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=temporal_test_server(), runtime=quiet_runtime()
        ) as env:
            yield cls(env, settings)
        release_temporal_runtime()

    async def run(
        self,
        journey: ir.Journey,
        customer: dict[str, Any],
        events: list[ScriptedEvent],
        start: datetime,
        horizon: timedelta = DEFAULT_HORIZON,
    ) -> Timeline:
        """Simulate one customer. A trait the profile refuses raises ProfileFieldError (a ValueError)."""
        customer_id = customer_id_of(customer)
        traits = customer_traits(customer)
        with tempfile.TemporaryDirectory(prefix="journey-sim-") as tmp:
            store = Store(f"sqlite:///{Path(tmp) / 'simulation.db'}")
            try:
                store.migrate()
                with store.session() as session:
                    session.identify(customer_id, traits, start)
                return await self._run(journey, customer_id, events, start, horizon, store)
            finally:
                store.dispose()

    async def run_cohort(
        self, journey: ir.Journey, members: list[SimulatedCustomer], start: datetime, *, history_limit: int | None = None
    ) -> list[Timeline]:
        """Simulate customers enrolled together as one cohort (a broadcast page): each one's timeline, in the members' order.

        Each member plays their own customer file and events as `run` plays one customer's; those who
        enter must enter at one instant, where the cohort starts (a later entry raises ValueError), and
        each member's timeline is taken at their own horizon. `history_limit`: the cohort's (tests lower it).
        """
        ids = [customer_id_of(member.customer) for member in members]
        if len(set(ids)) != len(ids):
            raise ValueError("a cohort's members are distinct customers: give each customer file its own id")
        with tempfile.TemporaryDirectory(prefix="journey-sim-") as tmp:
            store = Store(f"sqlite:///{Path(tmp) / 'simulation.db'}")
            try:
                store.migrate()
                with store.session() as session:
                    for customer_id, member in zip(ids, members, strict=True):
                        session.identify(customer_id, customer_traits(member.customer), start)
                return await self._run_cohort(journey, ids, members, start, store, history_limit)
            finally:
                store.dispose()

    async def _run_cohort(
        self, journey: ir.Journey, ids: list[str], members: list[SimulatedCustomer], start: datetime, store: Store, limit: int | None
    ) -> list[Timeline]:
        opening = opening_offset(journey, start)
        if isinstance(opening, str):
            return [not_entered(journey, start, opening) for _ in members]
        queue = f"simulation-{uuid.uuid4()}"
        enrollments = [f"simulation-{journey.id}-{uuid.uuid4().hex[:8]}" for _ in members]
        scripts = [sorted(member.events, key=lambda e: e.offset_seconds) for member in members]
        # Each member's happenings (its opening first at its instant), then the instant its timeline is taken.
        plan: list[tuple[float, int, int, ScriptedEvent | None]] = []
        for index, (member, ordered) in enumerate(zip(members, scripts, strict=True)):
            plan += [(opening, -1, index, None), *((event.offset_seconds, number, index, event) for number, event in enumerate(ordered))]
            end = max((ordered[-1].offset_seconds if ordered else 0), opening) + member.horizon.total_seconds()
            plan.append((end, len(ordered), index, None))
        entered: dict[int, CohortMember] = {}
        early: list[MemberEvent] = []
        refusals = [""] * len(members)
        timelines: dict[int, Timeline] = {}
        recorder = WebhookRecorder()
        with self._worker(store, queue, recorder) as (worker, sends):
            async with worker, server_clock(self.env) as clock:
                handle: WorkflowHandle[Any, None] | None = None
                shift, entry_offset = 0.0, None
                for offset, number, index, event in sorted(plan, key=lambda p: (p[0], p[2], p[1])):
                    if handle is None and entered and offset > entry_offset:  # every member entering at that instant has
                        shift = (start - await clock.anchor(entry_offset)).total_seconds()
                        handle = await self._start_cohort(journey, list(entered.values()), shift, queue, limit)
                        for message in early:
                            await deliver(handle, MEMBER_EVENT_SIGNAL, message)
                    await clock.advance_to(offset)
                    at = start + timedelta(seconds=offset)
                    customer_id, enrollment_id = ids[index], enrollments[index]
                    if number == len(scripts[index]):  # the member's horizon
                        if index not in entered:
                            timelines[index] = not_entered(journey, start, refusals[index], merges_shown(store, customer_id))
                            continue
                        assert handle is not None
                        outcome, status = await self._member_outcome(handle, store, enrollment_id, shift)
                        attempts = [attempt for attempt in sends.attempts if attempt[0].enrollment_id == enrollment_id]
                        calls = [call for call in recorder.calls if call.headers.get("Idempotency-Key", "").startswith(f"{enrollment_id}:")]
                        timelines[index] = timeline_of(journey, store, customer_id, enrollment_id, attempts, calls, outcome, status)
                        continue
                    happening = scripted_happening(journey, store, customer_id, event, number, start, at, entered=index in entered)
                    if isinstance(happening, EventMessage):
                        if handle is None:
                            early.append(MemberEvent(enrollment_id, happening))
                        else:
                            await deliver(handle, MEMBER_EVENT_SIGNAL, MemberEvent(enrollment_id, happening))
                        continue
                    if happening is None or index in entered:
                        continue
                    decision, trigger = happening
                    if decision.enter and handle is not None:
                        raise ValueError(f"member {index} enters at {iso(at)}, after the cohort started: a cohort's members enter together")
                    if decision.enter:
                        enrolled = current_customer(store, customer_id)  # a visitor who logged in enters as the known customer
                        with store.session(lock_customer=enrolled) as session:  # indexed as routing does: its end is written there
                            session.start_enrollment(enrollment_id, journey.id, journey.version, enrolled, at)
                        entered[index] = CohortMember(enrolled, enrollment_id, message_of(trigger, -1, start) if trigger else None)
                        entry_offset = offset
                    else:
                        refusals[index] = f"{cause_of(journey, event)} at {iso(at)}: {decision.reason}"
                if handle is not None:
                    await stop(handle)
        return [timelines[index] for index in range(len(members))]

    async def _start_cohort(
        self, journey: ir.Journey, members: list[CohortMember], shift: float, queue: str, limit: int | None
    ) -> WorkflowHandle[Any, None]:
        cohort_id = f"simulation-cohort-{journey.id}-{uuid.uuid4().hex[:8]}"
        start = CohortInput(
            journey.to_dict(),
            cohort_id,
            members,
            revision=INTERPRETER_REVISION,
            clock_shift_seconds=shift,
            upsert_search_attributes=False,
            history_limit=limit,
        )
        return await self.env.client.start_workflow(COHORT_WORKFLOW, start, id=cohort_id, task_queue=queue)

    async def _member_outcome(
        self, handle: WorkflowHandle[Any, None], store: Store, enrollment_id: str, shift: float
    ) -> tuple[dict[str, Any], EnrollmentStatus]:
        """How a member ended (as the index has it), or where it waits now; and what the `member_status` query says."""
        status = await member_status(self.env, handle, enrollment_id)
        with store.read() as session:
            indexed = session.enrollment(enrollment_id)
        if status.status != "running" and indexed is not None and indexed.ended_at is not None:
            return {"status": indexed.status, "step": indexed.current_step, "at": iso(indexed.ended_at)}, status
        now = await self.env.get_current_time() + timedelta(seconds=shift)
        return {"status": "waiting", "step": status.step, "at": iso(now)}, status

    @contextmanager
    def _worker(self, store: Store, queue: str, recorder: WebhookRecorder) -> Iterator[tuple[Worker, SendRecorder]]:
        """A worker on `queue` for enrollments and cohorts, with the real activities on `store`: webhooks recorded, sends too."""
        with httpx.Client(transport=httpx.MockTransport(recorder)) as http, ThreadPoolExecutor(4) as executor:
            real = JourneyActivities(
                store, http=http, secrets=PlaceholderSecrets(), policy=self.settings.policy, unsubscribe=self.settings.unsubscribe
            )
            sends = SendRecorder(real.send_message, BatchSends.of(real).send_all)
            batches = CohortActivities(real, send_all=sends.send_all)
            yield Worker(
                self.env.client,
                task_queue=queue,
                workflows=[JourneyWorkflow, JourneyCohort],
                activities=[sends.send_message, *(a for a in real.activities() if a != real.send_message), *batches.activities()],
                activity_executor=executor,
            ), sends

    async def _run(
        self,
        journey: ir.Journey,
        customer_id: str,
        events: list[ScriptedEvent],
        start: datetime,
        horizon: timedelta,
        store: Store,
    ) -> Timeline:
        env = self.env
        queue = f"simulation-{uuid.uuid4()}"
        ordered = sorted(events, key=lambda e: e.offset_seconds)
        end_offset = (ordered[-1].offset_seconds if ordered else 0) + horizon.total_seconds()
        enrollment_id = f"simulation-{journey.id}-{uuid.uuid4().hex[:8]}"
        recorder = WebhookRecorder()
        with self._worker(store, queue, recorder) as (worker, sends):
            async with worker, server_clock(env) as clock:
                shift = 0.0
                handle: WorkflowHandle[Any, EnrollmentResult] | None = None
                refusal = ""
                opening = opening_offset(journey, start)
                if isinstance(opening, str):
                    return not_entered(journey, start, opening)
                # The opening (the customer file's identify, or the broadcast firing) comes before events at its instant.
                plan: list[tuple[float, int, ScriptedEvent | None]] = [(opening, -1, None)]
                plan += [(event.offset_seconds, number, event) for number, event in enumerate(ordered)]
                for offset, number, event in sorted(plan, key=lambda p: (p[0], p[1])):
                    await clock.advance_to(offset)
                    at = start + timedelta(seconds=offset)
                    happening = scripted_happening(journey, store, customer_id, event, number, start, at, entered=handle is not None)
                    if isinstance(happening, EventMessage):
                        assert handle is not None
                        await deliver(handle, EVENT_SIGNAL, happening)
                        continue
                    if happening is None:
                        continue
                    decision, trigger = happening
                    if handle is None and decision.enter:
                        enrolled = current_customer(store, customer_id)  # a visitor who logged in enters as the known customer
                        with store.session(lock_customer=enrolled) as session:  # indexed as routing does: its end is written there
                            session.start_enrollment(enrollment_id, journey.id, journey.version, enrolled, at)
                        shift = (start - await clock.anchor(offset)).total_seconds()
                        handle = await self._start(journey, enrolled, enrollment_id, trigger, shift, start, queue)
                    elif handle is None:
                        refusal = f"{cause_of(journey, event)} at {iso(at)}: {decision.reason}"
                if handle is None:
                    return not_entered(journey, start, refusal, merges_shown(store, customer_id))
                await clock.advance_to(max(end_offset, opening + horizon.total_seconds()))
                outcome, status = await self._outcome(handle, shift)
        return timeline_of(journey, store, customer_id, enrollment_id, sends.attempts, recorder.calls, outcome, status)

    async def _start(
        self,
        journey: ir.Journey,
        customer_id: str,
        enrollment_id: str,
        trigger: ScriptedEvent | None,
        shift: float,
        start: datetime,
        queue: str,
    ) -> WorkflowHandle[Any, EnrollmentResult]:
        return await self.env.client.start_workflow(
            WORKFLOW_NAME,
            EnrollmentInput(
                journey=journey.to_dict(),
                customer_id=customer_id,
                enrollment_id=enrollment_id,
                trigger=message_of(trigger, -1, start) if trigger else None,
                clock_shift_seconds=shift,
                upsert_search_attributes=False,
                revision=INTERPRETER_REVISION,
            ),
            id=enrollment_id,
            task_queue=queue,
            result_type=EnrollmentResult,
        )

    async def _outcome(self, handle: WorkflowHandle[Any, EnrollmentResult], shift: float) -> tuple[dict[str, Any], EnrollmentStatus]:
        """How the enrollment ended, or where it waits at the horizon (why it ended is read from the index after)."""
        description = await handle.describe()
        status: EnrollmentStatus = await handle.query(STATUS_QUERY, result_type=EnrollmentStatus)
        if description.status == WorkflowExecutionStatus.COMPLETED:
            result = await handle.result()
            outcome: dict[str, Any] = {"status": result.status, "step": result.step, "at": iso(datetime.fromisoformat(result.at))}
            return outcome, status
        now = await self.env.get_current_time() + timedelta(seconds=shift)
        await handle.terminate("simulation horizon reached")
        return {"status": "waiting", "step": status.step, "at": iso(now)}, status
