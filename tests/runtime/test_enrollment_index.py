"""An enrollment's index row is finished when it ends, by a local activity inside the workflow's last task."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from orchestrator.runtime.contracts import EVENT_SIGNAL, EventMessage
from orchestrator.store import Store
from tests.runtime.support import START, harness, journey
from tests.store.support import enrollment_row

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_the_index_row_is_finished_when_the_enrollment_ends_by_a_local_activity(env: WorkflowEnvironment, store: Store) -> None:
    flow = journey(
        """
        id: indexed
        name: Indexed
        trigger: {event: go}
        goal: {event: bought}
        steps:
          - id: nap
            wait: 1d
          - id: hello
            send: {channel: email, subject: "hello", body: "x"}
        """
    )
    async with harness(env, store) as h:
        h.identify("c-1", {"email": "ann@example.com"})
        with store.session() as session:
            session.start_enrollment("indexed-c1-1", flow.id, flow.version, "c-1", START)
        handle = await h.enroll(flow, "c-1", enrollment_id="indexed-c1-1")
        await env.sleep(timedelta(hours=1))
        await handle.signal(EVENT_SIGNAL, EventMessage("m-1", "bought"))
        result = await handle.result()
        history = await handle.fetch_history()

    assert (result.status, result.step) == ("converted", "nap")
    row = enrollment_row(store, "indexed-c1-1")
    assert row is not None
    assert (row.status, row.current_step, row.ended_at) == ("converted", "nap", datetime.fromisoformat(result.at))
    # A local activity leaves one marker and no activity task: nothing to schedule, match and complete on the server.
    events = history.events
    scheduled = [e.activity_task_scheduled_event_attributes.activity_type.name for e in events]  # "" for other events
    assert "finish_enrollment" not in scheduled
    markers = [e.marker_recorded_event_attributes.marker_name for e in events if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED]
    assert "core_local_activity" in markers
