"""`journey deploy --migrate`: whom it asks, what it reports, and a deploy killed half-way that a rerun finishes."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any, cast

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from orchestrator.host.deployment import deploy
from orchestrator.host.migration import migrate
from orchestrator.store import Store
from tests.runtime.moving import V1, V2, enrolled, index_version, waiting_at
from tests.runtime.support import START, harness

pytestmark = pytest.mark.asyncio(loop_scope="session")


class Killed(BaseException):
    """The deploy process dies: nothing after it runs, nothing catches it."""


class DyingClient:
    """A Temporal client in a process that dies as it is about to send its `survives + 1`th signal."""

    def __init__(self, client: Client, survives: int) -> None:
        self.client = client
        self.survives = survives
        self.signalled: list[str] = []

    def get_workflow_handle(self, workflow_id: str) -> DyingClient.Handle:
        return DyingClient.Handle(self, self.client.get_workflow_handle(workflow_id))

    class Handle:
        def __init__(self, owner: DyingClient, handle: WorkflowHandle[Any, Any]) -> None:
            self.owner = owner
            self.handle = handle

        async def signal(self, name: str, argument: Any) -> None:
            if len(self.owner.signalled) == self.owner.survives:
                raise Killed
            self.owner.signalled.append(self.handle.id)
            await self.handle.signal(name, argument)


async def test_a_migration_killed_half_way_is_finished_by_a_rerun_without_a_lost_or_doubled_message(
    env: WorkflowEnvironment, store: Store
) -> None:
    await deploy(store, None, [V1], task_queue="unused")
    async with harness(env, store) as h:
        # Two customers are a day in: at last_call, which v2 drops. Six have just entered: at nap, which v2 keeps.
        staying = [await enrolled(h, f"s-{n}") for n in range(2)]
        await env.sleep(timedelta(days=1, minutes=1))
        for handle in staying:
            await waiting_at(handle, "last_call")
        moving = [await enrolled(h, f"m-{n}", start=START + timedelta(days=1)) for n in range(6)]
        for handle in moving:
            await waiting_at(handle, "nap")
        await deploy(store, None, [V2], task_queue="unused")

        dying = DyingClient(env.client, survives=3)
        with pytest.raises(Killed):
            await migrate(store, cast(Client, dying), V2, {})
        assert len(dying.signalled) == 3

        rerun = await migrate(store, env.client, V2, {}, settle_seconds=20)
        again = await migrate(store, env.client, V2, {}, settle_seconds=20)
        for handle in staying + moving:
            await handle.result()

    # The rerun asked those not moved yet (at least the three never signalled), and all moved; the two at last_call stay.
    assert 3 <= rerun.asked <= 6 and rerun.moved == rerun.asked and rerun.not_moved_yet == 0
    assert rerun.stay == Counter({f"last_call is not in version {V2.version}": 2})
    assert rerun.lines()[1:] == [f"           2 stay on the version they started: last_call is not in version {V2.version}"]
    assert (again.asked, again.moved) == (0, 0)  # everyone who could move has: nothing left to ask
    for n in range(6):
        messages = [(m.subject, m.sent_at.replace(microsecond=0)) for m in h.messages(f"m-{n}")]
        # Each message once, v2's, at the deadline they had on v1 (entry + 1 day, not v2's 2 days).
        assert messages == [("v2: your cart is waiting", START + timedelta(days=2)), ("v2: last call", START + timedelta(days=5))]
        assert index_version(store, f"cart-m-{n}") == V2.version
    for n in range(2):
        assert [m.subject for m in h.messages(f"s-{n}")] == ["v1: your cart", "v1: last call"]
        assert index_version(store, f"cart-s-{n}") == V1.version


async def test_the_report_says_who_moved_and_why_the_others_stay(env: WorkflowEnvironment, store: Store) -> None:
    await deploy(store, None, [V1], task_queue="unused")
    async with harness(env, store) as h:
        at_last_call = await enrolled(h, "r-1")
        await env.sleep(timedelta(days=1, minutes=1))
        await waiting_at(at_last_call, "last_call")
        at_nap = await enrolled(h, "r-2", start=START + timedelta(days=1))
        await waiting_at(at_nap, "nap")
        await deploy(store, None, [V2], task_queue="unused")
        report = await migrate(store, env.client, V2, {"last_call": "final_call"}, settle_seconds=20)
        for handle in (at_last_call, at_nap):
            await handle.result()
    assert (report.asked, report.moved, report.ended, report.between_steps) == (2, 2, 0, 0)
    assert report.lines() == [f"migrate    cart -> {V2.version}: 2 asked to move, 2 moved"]
    assert [m.subject for m in h.messages("r-1")] == ["v1: your cart", "v2: last call"]
