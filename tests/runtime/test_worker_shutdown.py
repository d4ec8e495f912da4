"""A worker shut down in the middle of a send: the send finishes and its ledger row says so.

Temporal cancels a shutting-down worker's running activities, and in a synchronous activity it
does so by raising CancelledError inside the activity's thread, wherever it happens to be: in a
provider call after the message left, or in the middle of a database statement (on PostgreSQL
that leaves a pooled connection busy, "another command is already in progress"). Our activities
are short and idempotent, so they are declared to finish what they started instead.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.journey_activities import JourneyActivities
from activities.messages import Message
from activities.providers import ChannelProviders, ProviderResult
from orchestrator.runtime.contracts import INTERPRETER_REVISION, WORKFLOW_NAME, EnrollmentInput
from orchestrator.runtime.workflow import JourneyWorkflow
from orchestrator.store import Store
from tests.keys import CUSTOMER_KEYS
from tests.runtime.support import START, journey

pytestmark = pytest.mark.asyncio(loop_scope="session")

ONE_EMAIL = """
    id: once
    name: Once
    trigger: {event: go}
    steps:
      - id: hello
        send: {channel: email, subject: "hello", body: "<p>hi</p>"}
    """


class HeldProvider:
    """Accepts each message only once `release` is set, polling so that an exception raised into its thread lands."""

    name = "held"

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.accepted: list[str] = []

    def describe(self) -> str:
        return "held (test)"

    def send(self, message: Message, delivery_key: str, recipients: Sequence[str] = ()) -> ProviderResult:
        self.entered.set()
        while not self.release.wait(0.01):
            pass
        self.accepted.append(delivery_key)
        return ProviderResult(f"held-{len(self.accepted)}")


async def test_a_send_running_when_the_worker_shuts_down_completes_and_is_recorded(env: WorkflowEnvironment, store: Store) -> None:
    provider = HeldProvider()
    activities = JourneyActivities(store, providers=ChannelProviders({"email": provider}))
    with store.session() as session:
        session.identify("c1", {"email": "ann@example.com"}, START)
    flow = journey(ONE_EMAIL)
    queue = f"shutdown-{uuid.uuid4()}"
    with ThreadPoolExecutor(2) as executor:
        worker = Worker(
            env.client,
            task_queue=queue,
            workflows=[JourneyWorkflow],
            activities=activities.activities(),
            activity_executor=executor,
            graceful_shutdown_timeout=timedelta(0),  # cancel running activities at once
        )
        running = asyncio.create_task(worker.run())
        new_id = CUSTOMER_KEYS.enrollment_id(flow.id, "c1", 1)
        start = EnrollmentInput(flow.to_dict(), "c1", new_id, None, upsert_search_attributes=False, revision=INTERPRETER_REVISION)
        await env.client.start_workflow(WORKFLOW_NAME, start, id=new_id, task_queue=queue)
        assert await asyncio.to_thread(provider.entered.wait, 30)
        stopping = asyncio.create_task(worker.shutdown())
        await asyncio.sleep(0.5)  # the cancellation reaches the activity while the provider holds the message
        provider.release.set()
        await stopping
        await running
    with store.session() as session:
        [delivery] = session.deliveries_for("c1")
    assert provider.accepted and delivery.status == "sent" and delivery.provider_message_id == "held-1"
