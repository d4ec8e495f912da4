"""The Temporal side of routing and of the API: start and signal enrollments, ask them where they are.

The API's handlers run in threads (they hold their customers' leases, but no
database transaction, while they talk to Temporal: orchestrator/routing/router.py),
and so does the broadcast's page activity, but the Temporal client is driven by an
event loop; each call is handed to that loop with `run_coroutine_threadsafe` and
awaited from the thread. The loop must not be blocked by the thread that waits on
it: in the API it is uvicorn's loop, free while the handler runs in the thread
pool; in the worker, the worker's loop, free while the activity runs in an
activity thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from datetime import timedelta
from typing import Any, TypeVar, assert_never

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from orchestrator import ir
from orchestrator.routing.calls import (
    CohortStartCall,
    EndCall,
    SignalCall,
    StartCall,
    TemporalCall,
    TemporalMisconfigured,
    TemporalUnavailable,
)
from orchestrator.routing.namespace_check import check_temporal
from orchestrator.routing.outage import Outage
from orchestrator.runtime.broadcast import BROADCAST_CANCEL_SIGNAL
from orchestrator.runtime.cohort_contracts import (
    COHORT_CANCEL_SIGNAL,
    COHORT_WORKFLOW,
    FORGET_MEMBER_SIGNAL,
    MEMBER_EVENT_SIGNAL,
    MEMBER_STATUS_QUERY,
    CohortCancel,
    CohortInput,
    ForgetMember,
    MemberEvent,
)
from orchestrator.runtime.contracts import (
    EVENT_SIGNAL,
    STATUS_QUERY,
    WORKFLOW_NAME,
    EnrollmentInput,
    EnrollmentStatus,
    EventMessage,
)
from orchestrator.runtime.search_attributes import JOURNEY_ID, JOURNEY_VERSION, enrollment_search_attributes
from orchestrator.store import Enrollment

log = logging.getLogger(__name__)

__all__ = ["LoopGateway", "TemporalUnavailable"]

T = TypeVar("T")

MAX_CONCURRENT_CUSTOMERS = 32
"""Customers whose calls run at once in one `execute`: a batch's customers are independent of each other."""


class LoopGateway:
    """`orchestrator.routing.calls.TemporalGateway` over a client driven by `loop`; call its methods from other threads."""

    def __init__(
        self,
        client: Client,
        loop: asyncio.AbstractEventLoop,
        *,
        task_queue: str,
        search_attributes: bool = True,
        timeout: timedelta = timedelta(seconds=10),
    ) -> None:
        self.client = client
        self.loop = loop
        self.task_queue = task_queue
        self.search_attributes = search_attributes
        self.timeout = timeout
        """How long one Temporal call may take before the event is refused (503)."""
        self.outage = Outage(client, loop, client.service_client.config.target_host)

    # --- routing --------------------------------------------------------------------

    def execute(self, calls: Sequence[TemporalCall]) -> list[bool]:
        chains: dict[str, list[int]] = {}
        for index, call in enumerate(calls):
            chains.setdefault(call.customer_id, []).append(index)
        longest = max((len(chain) for chain in chains.values()), default=0)
        waves = -(-len(chains) // MAX_CONCURRENT_CUSTOMERS)
        # Each call has its own deadline; this bound only guards against a loop that never runs them.
        bound = self.timeout * (longest * waves + 1)
        lasted = self.outage.seconds()
        if lasted is not None:
            # Fail fast while Temporal is known to be down (orchestrator/routing/outage.py).
            raise TemporalUnavailable(f"Temporal has been unreachable for {lasted:.0f} s")
        try:
            return self._call(self._execute(calls, list(chains.values())), bound)
        except TemporalUnavailable as exc:
            if _means_unreachable(exc.__cause__):
                self.outage.began()
            raise

    async def _execute(self, calls: Sequence[TemporalCall], chains: list[list[int]]) -> list[bool]:
        results = [False] * len(calls)
        slots = asyncio.Semaphore(MAX_CONCURRENT_CUSTOMERS)

        async def run_chain(chain: list[int]) -> None:
            async with slots:
                for index in chain:  # one customer's calls: strictly in order
                    results[index] = await self._one(calls[index])

        try:
            async with asyncio.TaskGroup() as group:
                for chain in chains:
                    group.create_task(run_chain(chain))
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from None
        return results

    async def _one(self, call: TemporalCall) -> bool:
        match call:
            case StartCall():
                await self._start(call.start, call.journey, call.customer_key)
                return True
            case CohortStartCall():
                await self._start_cohort(call.start, call.journey)
                return True
            case SignalCall() if call.cohort_id is not None:
                return await self._signal_workflow(call.cohort_id, MEMBER_EVENT_SIGNAL, MemberEvent(call.enrollment_id, call.event))
            case SignalCall():
                return await self._signal_workflow(call.enrollment_id, EVENT_SIGNAL, call.event)
            case EndCall() if call.cohort_id is not None:
                return await self._signal_workflow(call.cohort_id, FORGET_MEMBER_SIGNAL, ForgetMember(call.enrollment_id))
            case EndCall():
                return await self._terminate(call.enrollment_id, "merged: the customer's older enrollment in this journey continues")
            case _:
                assert_never(call)

    async def _start(self, start: EnrollmentInput, journey: ir.Journey, customer_key: str) -> None:
        start.upsert_search_attributes = self.search_attributes
        attributes = enrollment_search_attributes(journey, customer_key) if self.search_attributes else TypedSearchAttributes.empty
        await self._start_once(WORKFLOW_NAME, start, start.enrollment_id, attributes)

    async def _start_cohort(self, start: CohortInput, journey: ir.Journey) -> None:
        start.upsert_search_attributes = self.search_attributes
        attributes = cohort_search_attributes(journey) if self.search_attributes else TypedSearchAttributes.empty
        await self._start_once(COHORT_WORKFLOW, start, start.cohort_id, attributes)

    async def _start_once(
        self, workflow: str, start: EnrollmentInput | CohortInput, workflow_id: str, attributes: TypedSearchAttributes
    ) -> None:
        """Start `workflow` under `workflow_id` unless it was started before (a retried call or page: it runs already)."""
        try:
            await self.client.start_workflow(
                workflow,
                start,
                id=workflow_id,
                task_queue=self.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=attributes,
                rpc_timeout=self.timeout,
            )
        except WorkflowAlreadyStartedError:
            pass

    async def _signal_workflow(
        self, workflow_id: str, signal: str, payload: EventMessage | MemberEvent | CohortCancel | ForgetMember | None
    ) -> bool:
        """Signal a workflow; False when it has ended (or never started): nothing to deliver."""
        handle = self.client.get_workflow_handle(workflow_id)
        try:
            if payload is None:
                await handle.signal(signal, rpc_timeout=self.timeout)
            else:
                await handle.signal(signal, payload, rpc_timeout=self.timeout)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return False  # the enrollment ended between the index read and the signal
            raise
        return True

    async def _terminate(self, workflow_id: str, reason: str) -> bool:
        """Terminate a running workflow: it runs nothing more. False when it had ended on its own (or never started)."""
        try:
            await self.client.get_workflow_handle(workflow_id).terminate(reason=reason, rpc_timeout=self.timeout)
        except RPCError as exc:
            if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                return False
            raise
        return True

    # --- broadcasts -------------------------------------------------------------------

    def cancel_broadcast(self, run_key: str, cohort_ids: Sequence[str]) -> tuple[bool, int]:
        """Signal `cancel` to the broadcast workflow `run_key` (it stops paging), then to each of its cohorts:
        (whether the broadcast was still paging, how many cohorts were running). Raises TemporalUnavailable."""

        async def cancel() -> tuple[bool, int]:
            paging = await self._signal_workflow(run_key, BROADCAST_CANCEL_SIGNAL, None)
            return paging, await self._cancel_cohorts(cohort_ids)

        return self._call(cancel(), self.timeout * (len(cohort_ids) // MAX_CONCURRENT_CUSTOMERS + 2))

    def cancel_cohorts(self, cohort_ids: Sequence[str]) -> int:
        """Signal `cancel` to each cohort; how many were running. Raises TemporalUnavailable."""
        return self._call(self._cancel_cohorts(cohort_ids), self.timeout * (len(cohort_ids) // MAX_CONCURRENT_CUSTOMERS + 2))

    async def _cancel_cohorts(self, cohort_ids: Sequence[str]) -> int:
        slots = asyncio.Semaphore(MAX_CONCURRENT_CUSTOMERS)

        async def cancel(cohort_id: str) -> bool:
            async with slots:
                return await self._signal_workflow(cohort_id, COHORT_CANCEL_SIGNAL, CohortCancel())

        return sum(await asyncio.gather(*map(cancel, cohort_ids)))

    # --- reads for the API ----------------------------------------------------------

    def query_status(self, enrollments: Sequence[Enrollment], timeout: timedelta) -> dict[str, EnrollmentStatus | None]:
        """Where each enrollment is, by its id: a lone one's `status` query, a broadcast cohort member's through its
        cohort's `member_status` query; None for one that did not answer within `timeout` (or that its cohort no
        longer runs).

        Never raises: where an enrollment is shown, an unknown step is better than an error.
        """
        if not enrollments:
            return {}

        async def ask(enrollment: Enrollment) -> EnrollmentStatus | None:
            if enrollment.cohort_id is not None:
                handle = self.client.get_workflow_handle(enrollment.cohort_id)
                asked = handle.query(MEMBER_STATUS_QUERY, enrollment.enrollment_id, result_type=EnrollmentStatus, rpc_timeout=timeout)
            else:
                handle = self.client.get_workflow_handle(enrollment.enrollment_id)
                asked = handle.query(STATUS_QUERY, result_type=EnrollmentStatus, rpc_timeout=timeout)
            try:
                answer: EnrollmentStatus | None = await asyncio.wait_for(asked, timeout.total_seconds())
                return answer
            except Exception:  # unreachable, no worker polling, or a query the workflow rejected
                return None

        async def ask_all() -> dict[str, EnrollmentStatus | None]:
            answers = await asyncio.gather(*map(ask, enrollments))
            return {enrollment.enrollment_id: answer for enrollment, answer in zip(enrollments, answers, strict=True)}

        try:
            return self._call(ask_all(), timeout * 2)
        except TemporalUnavailable:
            return {enrollment.enrollment_id: None for enrollment in enrollments}

    # --- erasure -------------------------------------------------------------------

    def forget_members(self, members: Sequence[Enrollment]) -> int:
        """Signal `forget_member` to the cohort of each of `members` (enrollments with a `cohort_id`): the cohort drops
        the member at once, and no further command of it is carried out. How many cohorts took the signal; a cohort
        that is gone or closed already runs nothing of the member. Raises TemporalUnavailable."""
        slots = asyncio.Semaphore(MAX_CONCURRENT_CUSTOMERS)

        async def forget(member: Enrollment) -> bool:
            assert member.cohort_id is not None, "a lone enrollment has no cohort to forget it"
            async with slots:
                return await self._signal_workflow(member.cohort_id, FORGET_MEMBER_SIGNAL, ForgetMember(member.enrollment_id))

        async def forget_all() -> int:
            return sum(await asyncio.gather(*map(forget, members)))

        return self._call(forget_all(), self.timeout * (len(members) // MAX_CONCURRENT_CUSTOMERS + 2))

    def end_and_delete(self, enrollment_ids: Sequence[str], customer_keys: Sequence[str]) -> tuple[int, int]:
        """End the enrollments still running and delete every run's history: (ended, runs deleted).

        The runs are those of `enrollment_ids` (the index's) and, where search attributes are on, every workflow
        whose `CustomerId` is one of `customer_keys` (an enrollment started but never indexed). Ended by
        termination: the workflow runs nothing more, and an activity of it still running can no longer report.
        Each run of a workflow that continued as new is deleted, not only the last one. Raises TemporalUnavailable.
        """
        bound = self.timeout * (len(enrollment_ids) + len(customer_keys) + 3)
        return self._call(self._end_and_delete(list(enrollment_ids), list(customer_keys)), bound)

    async def _end_and_delete(self, enrollment_ids: list[str], customer_keys: list[str]) -> tuple[int, int]:
        slots = asyncio.Semaphore(MAX_CONCURRENT_CUSTOMERS)
        queries = [f"WorkflowId = '{_quoted(i)}'" for i in enrollment_ids]
        if self.search_attributes:
            queries += [f"CustomerId = '{_quoted(key)}'" for key in customer_keys]

        async def runs_of(query: str) -> list[tuple[str, str, bool]]:
            async with slots:
                return [
                    (run.id, run.run_id, run.status == WorkflowExecutionStatus.RUNNING)
                    async for run in self.client.list_workflows(query, rpc_timeout=self.timeout)
                ]

        found = {run for runs in await asyncio.gather(*map(runs_of, queries)) for run in runs}
        running = sorted({workflow_id for workflow_id, _, is_running in found if is_running})
        # A run visibility has not listed yet (it lags a little) is reached by its workflow id alone: the latest run.
        targets = sorted({(workflow_id, run_id) for workflow_id, run_id, _ in found} | {(i, "") for i in enrollment_ids})

        async def end(workflow_id: str) -> bool:
            async with slots:
                return await self._terminate(workflow_id, "customer erased")

        async def delete(workflow_id: str, run_id: str) -> bool:
            request = DeleteWorkflowExecutionRequest(
                namespace=self.client.namespace, workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id)
            )
            async with slots:
                try:
                    await self.client.workflow_service.delete_workflow_execution(request, timeout=self.timeout)
                except RPCError as exc:
                    if exc.status == RPCStatusCode.NOT_FOUND:
                        return False  # deleted already (an erasure tried again), or never started
                    raise
                return True

        ended = sum(await asyncio.gather(*map(end, running)))
        deleted = sum(await asyncio.gather(*(delete(w, r) for w, r in targets if r or not any(f[0] == w for f in found))))
        return ended, deleted

    def reachable(self, timeout: timedelta) -> bool:
        """Whether the Temporal frontend answers a health check within `timeout`."""

        async def check() -> bool:
            try:
                return await self.client.service_client.check_health(timeout=timeout)
            except Exception:
                return False

        try:
            return self._call(check(), timeout * 2)
        except TemporalUnavailable:
            return False

    def namespace_problems(self, timeout: timedelta) -> list[str]:
        """What `check_temporal` finds wrong with the namespace and its search attributes (raises TemporalUnavailable)."""
        return self._call(check_temporal(self.client, search_attributes=self.search_attributes), timeout).problems

    # --- plumbing ---------------------------------------------------------------

    def _call(self, coroutine: Coroutine[Any, Any, T], timeout: timedelta) -> T:
        try:
            future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        except RuntimeError as exc:  # the loop is closed: the process is shutting down
            coroutine.close()
            raise TemporalUnavailable(f"the Temporal client's event loop is not running: {exc}") from exc
        try:
            return future.result(timeout.total_seconds())
        except TimeoutError as exc:
            future.cancel()
            raise TemporalUnavailable("Temporal did not answer in time") from exc
        except RPCError as exc:
            if exc.status in _MISCONFIGURED:
                log.error("Temporal refused a call as misconfigured (%s): %s", exc.status.name, exc.message)
                raise TemporalMisconfigured(f"Temporal refused the call: {exc.message or exc.status.name}") from exc
            raise TemporalUnavailable(f"Temporal refused the call: {exc.message or exc.status}") from exc
        except RuntimeError as exc:
            # The client's connection itself failed ("Failed client connect: ...").
            raise TemporalUnavailable(f"Temporal is unreachable: {exc}") from exc


def cohort_search_attributes(journey: ir.Journey) -> TypedSearchAttributes:
    """What a cohort starts with: its journey and version. No `CustomerId` nor `CurrentStep`: it runs many customers,
    each at a step of their own (the enrollment index is the per-customer truth)."""
    return TypedSearchAttributes([SearchAttributePair(JOURNEY_ID, journey.id), SearchAttributePair(JOURNEY_VERSION, journey.version)])


def _quoted(value: str) -> str:
    """`value` inside a single-quoted string of a visibility query."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


_MISCONFIGURED = (RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.PERMISSION_DENIED, RPCStatusCode.UNAUTHENTICATED)
"""What Temporal answers a call the deployment's configuration dooms (an unregistered search attribute is INVALID_ARGUMENT)."""


def _means_unreachable(cause: BaseException | None) -> bool:
    """A timeout or a connection failure, as opposed to Temporal answering with an error."""
    if isinstance(cause, RPCError):
        return cause.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED)
    return isinstance(cause, TimeoutError | RuntimeError)
