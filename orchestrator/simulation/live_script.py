"""What a live simulation does besides running the workflows: the test server's clock, each scripted happening, the timeline.

`Simulator.run` (one enrollment) and `Simulator.run_cohort` (a cohort) play customers' scripts against the
time-skipping server alike: each happening decides an entry by the router's rules or reaches the
enrollment as a signal (`scripted_happening`), and a timeline is read from what the store, the recorded sends and
webhook calls and the status query hold (`timeline_of`).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from orchestrator import ir
from orchestrator.routing.entry import Decision, Tracked
from orchestrator.runtime.cohort_contracts import MEMBER_STATUS_QUERY
from orchestrator.runtime.contracts import EnrollmentStatus, EventMessage, TrailEntry
from orchestrator.simulation.script import (
    IDENTIFY,
    ScriptedEvent,
    apply_identify,
    at_start,
    decide_entry,
    merges_shown,
    message_of,
    profile_context,
)
from orchestrator.simulation.sends import Attempt, sends_shown
from orchestrator.simulation.timeline import Timeline, iso
from orchestrator.store import Store


class WebhookRecorder:
    """An httpx transport that answers every webhook 200 and remembers the call."""

    def __init__(self) -> None:
        self.calls: list[httpx.Request] = []
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.calls.append(request)
        return httpx.Response(200, json={"simulated": True})


ENTRY_LEAD = timedelta(milliseconds=250)
"""How far past the scripted instant an enrollment starts on the server's clock (see `ServerClock.anchor`)."""


class ServerClock:
    """The test server's clock, skipped forward by `advance_to` (automatic skipping is off).

    Between skips the server's clock runs in real time: every signal, store write and activity of the
    simulation moves it on by what it took. So `advance_to` skips to the instant asked, from where the
    clock is now, not by the distance between two offsets, or each event would arrive later than the last
    by all the real time spent before it (seconds, after a few hundred events).
    """

    def __init__(self, env: WorkflowEnvironment, origin: datetime) -> None:
        self.env = env
        self.origin = origin

    async def advance_to(self, offset: float) -> None:
        ahead = offset - (await self.env.get_current_time() - self.origin).total_seconds()
        if ahead > 0:
            await self.env.sleep(timedelta(seconds=ahead))

    async def anchor(self, offset: float) -> datetime:
        """Make the server's clock now a little past the instant `offset` (by ENTRY_LEAD), and return the new origin: the
        enrollment is about to start.

        Whatever real time the simulation spent getting there (the worker starting, entry decisions, store
        writes; a second or more on a loaded machine) would otherwise make every step late by it.

        The lead holds the tie rule (an event at a timer's instant comes first) against the machine's load: a
        timer counted from the entry ends ENTRY_LEAD after the scripted instant, while events are signalled at it,
        so the signal has that long to reach the history before the timer fires (a continue-as-new at that
        instant, or a cohort's other members' signals, take tens of milliseconds). Truncated to whole seconds
        (`iso`), the entry's time still reads as scripted.
        """
        self.origin = await self.env.get_current_time() - timedelta(seconds=offset) - ENTRY_LEAD
        return self.origin


@asynccontextmanager
async def server_clock(env: WorkflowEnvironment) -> AsyncIterator[ServerClock]:
    with env.auto_time_skipping_disabled():
        yield ServerClock(env, await env.get_current_time())


def webhooks_of(calls: list[httpx.Request], trail: list[TrailEntry]) -> list[dict[str, Any]]:
    """The recorded calls, once each, stamped with the time their step was entered (from the Idempotency-Key)."""
    entered: dict[tuple[str, int], str] = {}
    visits: dict[str, int] = {}
    for entry in trail:
        visits[entry.step] = visits.get(entry.step, 0) + 1
        entered[(entry.step, visits[entry.step])] = iso(datetime.fromisoformat(entry.at))
    result: dict[str, dict[str, Any]] = {}
    for call in calls:
        key = call.headers.get("Idempotency-Key", "")
        _, step, visit = (["", "", "0", *key.rsplit(":", 2)])[-3:]
        at = entered.get((step, int(visit) if visit.isdigit() else 0), "")
        body = call.content.decode("utf-8", errors="replace") if call.content else None
        result.setdefault(key, {"at": at, "step": step, "method": call.method, "url": str(call.url), "body": body})
    return list(result.values())


async def deliver(handle: WorkflowHandle[Any, Any], signal: str, message: Any) -> None:
    """Signal the enrollment (or cohort); an event after it ended reaches nobody, as in production."""
    try:
        await handle.signal(signal, message)
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise


async def member_status(env: WorkflowEnvironment, handle: WorkflowHandle[Any, None], enrollment_id: str) -> EnrollmentStatus:
    """The member's status in the last run of the cohort that had it: a member that ended is not carried into the runs
    after (continue-as-new), so those are asked from the first run on."""
    status = await handle.query(MEMBER_STATUS_QUERY, enrollment_id, result_type=EnrollmentStatus)
    run_id = handle.first_execution_run_id or handle.result_run_id
    while status is None and run_id is not None:
        run = env.client.get_workflow_handle(handle.id, run_id=run_id)
        status = await run.query(MEMBER_STATUS_QUERY, enrollment_id, result_type=EnrollmentStatus) or status
        last = (await run.fetch_history()).events[-1]
        run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id or None
        if status is not None and status.status == "running":
            status = None  # it went on in a later run
    if status is None:
        raise LookupError(f"no run of cohort {handle.id} knows member {enrollment_id}")
    return status


async def stop(handle: WorkflowHandle[Any, Any]) -> None:
    """End the run at the simulation's horizon (a cohort whose members all ended has ended already)."""
    description = await handle.describe()
    if description.status == WorkflowExecutionStatus.RUNNING:
        await handle.terminate("simulation horizon reached")


def scripted_happening(
    journey: ir.Journey,
    store: Store,
    customer_id: str,
    event: ScriptedEvent | None,
    number: int,
    start: datetime,
    at: datetime,
    *,
    entered: bool,
) -> EventMessage | tuple[Decision, ScriptedEvent | None] | None:
    """What one scripted happening of a customer does at `at` (None: the opening): an event for their enrollment once
    `entered`, else an entry decision with the event that would trigger it; None when it only changes the profile.
    `customer_id`: the one the simulation started with; an anonymous visitor's is the known customer's after the login."""
    if event is None:
        return decide_entry(journey, at_start(journey), profile_context(store, customer_id), at), None
    if event.name == IDENTIFY:
        cause, after = apply_identify(store, customer_id, event, number, at)
        if entered:
            return None
        return decide_entry(journey, cause, after, at), None
    if entered:
        return message_of(event, number, start)
    return decide_entry(journey, Tracked(event.name, event.properties), profile_context(store, customer_id), at), event


def timeline_of(
    journey: ir.Journey,
    store: Store,
    customer_id: str,
    enrollment_id: str,
    attempts: list[Attempt],
    calls: list[httpx.Request],
    outcome: dict[str, Any],
    status: EnrollmentStatus,
) -> Timeline:
    """The enrollment's timeline as the store, the sends and the webhook calls recorded it so far, and why it ended.

    Read under the customer `customer_id` is now: a visitor's rows became the known customer's when they logged in."""
    with store.session() as session:
        current = session.current_customer(customer_id)
        messages, skipped = sends_shown(attempts, session.messages_for(current), outcome["status"] != "waiting")
        problems = [p for p in session.problems_for(current) if p.enrollment_id == enrollment_id]
        indexed = session.enrollment(enrollment_id)
    if indexed is not None and indexed.end_reason is not None:
        outcome["reason"] = indexed.end_reason
    return Timeline(
        journey=journey.id,
        version=journey.version,
        steps=[{"step": t.step, "at": iso(datetime.fromisoformat(t.at))} for t in status.trail],
        messages=messages,
        outcome=outcome,
        webhooks=webhooks_of(calls, status.trail),
        skipped=skipped,
        problems=[{"at": iso(p.occurred_at), "step": p.step_id, "field": p.field, "problem": p.problem} for p in problems],
        awaited={step: event.as_scope() for step, event in status.awaited.items()},
        merges=merges_shown(store, customer_id),
    )
