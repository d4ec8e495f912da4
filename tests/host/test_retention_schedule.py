"""`journey dev` prunes its store every hour, starting at once; the retention variables are read as durations or `none`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from orchestrator.host.retention import prune_every
from orchestrator.host.settings import DevSettings
from orchestrator.store import Store
from orchestrator.store.retention import RetentionPolicy
from orchestrator.store.schema import events
from tests.store.support import count_rows


def test_the_dev_stack_reads_its_retention_and_defaults_to_the_documented_periods() -> None:
    assert DevSettings.read({}).retention == RetentionPolicy(timedelta(days=400), timedelta(days=180), timedelta(days=400))
    read = DevSettings.read({"JOURNEY_RETENTION_EVENTS": "30d", "JOURNEY_RETENTION_MESSAGES": "none"}).retention
    assert read == RetentionPolicy(timedelta(days=30), None, timedelta(days=400))


async def test_the_schedule_prunes_at_once_and_goes_on(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'journey.db'}")
    store.migrate()
    old = datetime.now(UTC) - timedelta(days=31)
    with store.session() as session:
        session.record_event("old", "ann", "viewed", {}, old, old)
    schedule = asyncio.create_task(prune_every(store, RetentionPolicy(timedelta(days=30), None, None)))
    try:
        for _ in range(100):
            if count_rows(store, events) == 0:
                break
            await asyncio.sleep(0.05)
        assert count_rows(store, events) == 0
        assert not schedule.done()  # waiting for its next round
    finally:
        schedule.cancel()
        store.dispose()
