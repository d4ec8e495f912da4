"""`journey plan --migrate` and `journey deploy --migrate` leave broadcast cohort members on their version, and say why."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from orchestrator.host.migration import IN_COHORT, migrate
from orchestrator.store import Enrollment, JourneyFact, Store
from tests.api.support import compiled
from tests.host.test_plan import CART
from tests.host.test_plan_migrate import CART_NEXT, plan
from tests.keys import HASH_SECRET


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """Three cart enrollments wait at wait_a_bit (a step the next version keeps): two of them in a broadcast cohort."""
    store = Store(f"sqlite:///{tmp_path / 'journey.db'}", HASH_SECRET)
    store.migrate()
    at = datetime.now(UTC) - timedelta(hours=5)
    cart = compiled(CART)
    with store.session() as session:
        session.deploy(cart, at - timedelta(days=3))
        for n, cohort in enumerate(["cohort-0", "cohort-0", None]):
            base = {"journey_id": "cart", "version": cart.version, "enrollment_id": f"e{n}", "customer_id": f"c{n}"}
            session.start_enrollments([Enrollment(f"e{n}", "cart", cart.version, f"c{n}", "running", None, at, None, None, cohort)])
            session.record_facts(
                [
                    JourneyFact("entered", fact_key="entered", occurred_at=at, **base),
                    JourneyFact("rested", fact_key="rested:wait_a_bit:1", occurred_at=at, step_id="wait_a_bit", visit=1, **base),
                ]
            )
    yield store
    store.dispose()


def test_the_plan_says_cohort_members_stay_on_their_version(store: Store, tmp_path: Path) -> None:
    old, new = compiled(CART).version, compiled(CART_NEXT).version
    text = plan(store, tmp_path, "--migrate", "cart", "--window", "none")
    assert text.exit_code == 0, text.output
    assert f"    - 2 stay on version {old}: {IN_COHORT}" in text.output
    assert f"    - 1 moves to version {new} at wait_a_bit" in text.output


class SignalRecorder:
    """Stands in for the Temporal client: records which workflows were signalled."""

    def __init__(self) -> None:
        self.signalled: list[str] = []

    def get_workflow_handle(self, workflow_id: str) -> Any:
        recorder = self

        class Handle:
            async def signal(self, *_: Any) -> None:
                recorder.signalled.append(workflow_id)

        return Handle()


def test_the_deploy_never_asks_a_cohort_member_to_move(store: Store) -> None:
    client = SignalRecorder()
    report = asyncio.run(migrate(store, client, compiled(CART_NEXT), {}, settle_seconds=0))  # type: ignore[arg-type]
    assert client.signalled == ["e2"]
    assert (report.asked, report.stay[IN_COHORT]) == (1, 2)
    assert f"2 stay on the version they started: {IN_COHORT}" in "\n".join(report.lines())
