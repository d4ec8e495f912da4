"""GET /v1/broadcasts/{run_id}, GET /v1/journeys/{id}/broadcasts, POST /v1/broadcasts/{run_id}/cancel, and what the
customer endpoints do for a cohort's member (where it is, its erasure).

The run's rows are written as the page activity writes them (the paging itself is tested in tests/host/test_broadcast.py);
the cohort the calls reach is the stand-in cohort workflow, on a worker of its own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from orchestrator.runtime.cohort_contracts import COHORT_WORKFLOW, CohortInput, CohortMember
from orchestrator.runtime.ids import cohort_id
from orchestrator.store import Enrollment, JourneyFact
from tests.api.support import Stack, compiled
from tests.host.fake_cohort import MEMBERS_STEP, SEEN_QUERY, FakeCohort, Seen

pytestmark = pytest.mark.asyncio(loop_scope="session")

STARTED = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
SALE = """
id: sale
name: Sale
trigger:
  schedule: {at: "2026-11-27T08:00:00", timezone: UTC}
entry: {audience: "true", re_entry: always}
steps:
  - id: announce
    send: {channel: email, subject: "Sale", body: "Today only."}
"""


def enroll_run(stack: Stack, run: str, started: datetime, customers: list[str]) -> str:
    """A run whose first page enrolled `customers` into one cohort, as the page activity records it."""
    cohort = cohort_id("sale", run, 0)
    members = [Enrollment(f"sale-{c}-{run}", "sale", "v1", c, "running", None, started, None, None, cohort) for c in customers]
    with stack.store.session() as session:
        for customer in customers:
            session.identify(customer, {}, started)
        session.start_broadcast_run(run, "sale", "v1", started)
        session.start_enrollments(members)
        session.record_cohort(cohort, run, "sale", "v1", 0, len(members), started)
        session.broadcast_page_done(run, 0, customers[-1], started)
    return cohort


@asynccontextmanager
async def running_cohort(stack: Stack, cohort: str, run: str, customers: list[str]) -> AsyncIterator[WorkflowHandle[FakeCohort, Seen]]:
    """The stand-in cohort `cohort` of `run`, running `customers` (as `enroll_run` indexed them), on a worker of its own;
    ended afterwards if it still runs (the dev server is the session's)."""
    queue = f"cohorts-{uuid.uuid4()}"
    async with Worker(stack.temporal, task_queue=queue, workflows=[FakeCohort], workflow_runner=UnsandboxedWorkflowRunner()):
        members = [CohortMember(c, f"sale-{c}-{run}") for c in customers]
        handle = await stack.temporal.start_workflow(
            COHORT_WORKFLOW, CohortInput({}, cohort, members, run_key=run), id=cohort, task_queue=queue, result_type=Seen
        )
        try:
            yield handle
        finally:
            if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                await handle.terminate()


async def test_a_runs_progress_counts_what_its_members_were_sent(stack: Stack) -> None:
    enroll_run(stack, "run-1", STARTED, ["ann", "bob", "cho"])
    sent = {"step_id": "announce", "visit": 1, "name": "email"}
    with stack.store.session() as session:
        session.record_facts(
            [
                JourneyFact("message", "sale", "v1", "sale-ann-run-1", "ann", "message:announce:1:sent", STARTED, status="sent", **sent),  # type: ignore[arg-type]
                JourneyFact("message", "sale", "v1", "sale-bob-run-1", "bob", "message:announce:1:suppressed", STARTED, status="suppressed", detail="no consent", **sent),  # type: ignore[arg-type]  # noqa: E501
            ]
        )
        session.finish_enrollment("sale-ann-run-1", "completed", "announce", STARTED)
        session.finish_enrollment("sale-bob-run-1", "completed", "announce", STARTED)

    answer = await stack.http.get("/v1/broadcasts/run-1")

    assert answer.status_code == 200
    body = answer.json()
    assert {key: body[key] for key in ("run_id", "journey", "state", "enrolled", "sent", "suppressed", "failed", "remaining")} == {
        "run_id": "run-1", "journey": "sale", "state": "paging", "enrolled": 3, "sent": 1, "suppressed": {"no consent": 1},
        "failed": 0, "remaining": 1,
    }  # fmt: skip
    assert (body["pages"], body["profiles_to_read"], body["cancelled_at"]) == (1, 0, None)


async def test_a_journeys_runs_are_listed_newest_first_and_unknown_ids_are_404(stack: Stack) -> None:
    with stack.store.session() as session:
        session.deploy(compiled(SALE), STARTED)
    enroll_run(stack, "run-old", STARTED - timedelta(days=7), ["ann"])
    enroll_run(stack, "run-new", STARTED, ["bob"])

    listed = await stack.http.get("/v1/journeys/sale/broadcasts")
    assert listed.status_code == 200
    assert [run["run_id"] for run in listed.json()["broadcasts"]] == ["run-new", "run-old"]

    for path in ("/v1/journeys/nope/broadcasts", "/v1/broadcasts/nope"):
        missing = await stack.http.get(path)
        assert missing.status_code == 404 and missing.json()["error"] == "not_found" and "nope" in missing.json()["message"]
    refused = await stack.http.post("/v1/broadcasts/nope/cancel")
    assert refused.status_code == 404 and refused.json()["error"] == "not_found"


async def test_cancel_stops_the_runs_cohorts_once_and_keeps_the_first_cancel(stack: Stack) -> None:
    cohort = enroll_run(stack, "run-1", STARTED, ["ann", "bob"])
    async with running_cohort(stack, cohort, "run-1", ["ann", "bob"]) as handle:
        first = await stack.http.post("/v1/broadcasts/run-1/cancel")
        seen = await handle.result()
        again = await stack.http.post("/v1/broadcasts/run-1/cancel")

    assert first.status_code == 200 and again.status_code == 200
    assert (first.json()["state"], first.json()["cohorts_cancelled"]) == ("cancelled", 1)
    assert seen.cancelled == ["broadcast cancelled"]
    assert again.json()["cohorts_cancelled"] == 0 and again.json()["cancelled_at"] == first.json()["cancelled_at"]


async def test_a_members_current_step_is_the_one_its_cohort_answers(stack: Stack) -> None:
    cohort = enroll_run(stack, "run-1", STARTED, ["ann", "bob"])
    async with running_cohort(stack, cohort, "run-1", ["ann", "bob"]):
        journeys = await stack.journeys("ann")

    assert [(j["enrollment_id"], j["status"], j["current_step"]) for j in journeys] == [("sale-ann-run-1", "running", MEMBERS_STEP)]


async def test_erasing_a_member_makes_its_cohort_forget_it_and_leaves_the_cohort_running_for_the_others(stack: Stack) -> None:
    cohort = enroll_run(stack, "run-1", STARTED, ["ann", "bob"])
    enroll_run(stack, "run-2", STARTED + timedelta(days=1), ["ann"])  # a later run, whose cohort is no longer there
    async with running_cohort(stack, cohort, "run-1", ["ann", "bob"]) as handle:
        erased = await stack.http.delete("/v1/customers/ann")
        seen = await handle.query(SEEN_QUERY, result_type=Seen)
        still = (await handle.describe()).status
        bob = await stack.journeys("bob")

    assert erased.status_code == 200, erased.text
    answer = erased.json()
    assert (answer["cohort_members_forgotten"], answer["enrollments_ended"], answer["histories_deleted"]) == (1, 0, 0)
    assert answer["removed"]["enrollments"] == 2
    assert seen.forgotten == ["sale-ann-run-1"] and still == WorkflowExecutionStatus.RUNNING
    assert [(j["enrollment_id"], j["current_step"]) for j in bob] == [("sale-bob-run-1", MEMBERS_STEP)]
