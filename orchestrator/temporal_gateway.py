"""The Temporal side of routing: start an enrollment, signal one. Called from worker threads.

The API's handlers run in threads (they hold a database transaction while they
talk to Temporal), but the Temporal client lives on the event loop that
created it; each call is handed to that loop and awaited from the thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any, TypeVar

from temporalio.client import Client
from temporalio.common import TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from orchestrator import ir
from orchestrator.runtime.contracts import EVENT_SIGNAL, WORKFLOW_NAME, EnrollmentInput, EventMessage
from orchestrator.runtime.workflow import CURRENT_STEP, CUSTOMER_ID, JOURNEY_ID, JOURNEY_VERSION

T = TypeVar("T")


class TemporalUnavailable(RuntimeError):
    """Temporal did not confirm a call: the caller must not report the event as accepted."""


class LoopGateway:
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

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(self.timeout.total_seconds())
        except TimeoutError as exc:
            future.cancel()
            raise TemporalUnavailable("Temporal did not answer in time") from exc
        except RPCError as exc:
            raise TemporalUnavailable(f"Temporal refused the call: {exc}") from exc

    def start_enrollment(self, start: EnrollmentInput, journey: ir.Journey) -> None:
        start.upsert_search_attributes = self.search_attributes
        self._call(self._start(start, journey))

    async def _start(self, start: EnrollmentInput, journey: ir.Journey) -> None:
        attributes = (
            TypedSearchAttributes(
                [
                    JOURNEY_ID.value_set(journey.id),
                    JOURNEY_VERSION.value_set(journey.version),
                    CURRENT_STEP.value_set(journey.start),
                    CUSTOMER_ID.value_set(start.customer_id),
                ]
            )
            if self.search_attributes
            else TypedSearchAttributes.empty
        )
        try:
            await self.client.start_workflow(
                WORKFLOW_NAME,
                start,
                id=start.enrollment_id,
                task_queue=self.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=attributes,
            )
        except WorkflowAlreadyStartedError:
            pass  # a retried call: the enrollment exists already

    def signal(self, enrollment_id: str, event: EventMessage) -> bool:
        return self._call(self._signal(enrollment_id, event))

    async def _signal(self, enrollment_id: str, event: EventMessage) -> bool:
        try:
            await self.client.get_workflow_handle(enrollment_id).signal(EVENT_SIGNAL, event)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return False  # the enrollment ended between the index read and the signal
            raise
        return True
