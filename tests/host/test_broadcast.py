"""Broadcast journeys: a Temporal Schedule fires, every profile in the audience is enrolled once."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import Client
from temporalio.testing import ActivityEnvironment

from activities.broadcast_activity import BroadcastActivities
from orchestrator import ir
from orchestrator.compiler import compile_text
from orchestrator.host.deployment import deploy
from orchestrator.host.worker import build_worker
from orchestrator.routing.gateway import LoopGateway
from orchestrator.routing.router import Router
from orchestrator.runtime.broadcast import BroadcastPage
from orchestrator.store import Store
from tests.keys import HASH_SECRET

BROADCAST = """\
id: flash_sale
name: Flash sale
trigger:
  schedule: {{at: "{at}", timezone: UTC}}
entry: {{audience: "customer.country == 'US'", re_entry: always}}
steps:
  - id: announce
    send: {{channel: email, category: transactional, subject: "Flash sale, {{{{ customer.first_name }}}}", body: "Today only."}}
"""

CUSTOMERS = {
    "c-ann": {"first_name": "Ann", "country": "US", "email": "ann@example.com"},
    "c-bob": {"first_name": "Bob", "country": "US", "email": "bob@example.com"},
    "c-cho": {"first_name": "Cho", "country": "KR", "email": "cho@example.com"},
    "c-dee": {"first_name": "Dee", "country": "US", "email": "dee@example.com"},
    "c-eve": {"first_name": "Eve", "country": "FR", "email": "eve@example.com"},
}
AUDIENCE = {"c-ann", "c-bob", "c-dee"}


def broadcast_at(moment: datetime, tmp_path: Path) -> ir.Journey:
    result = compile_text(BROADCAST.format(at=moment.strftime("%Y-%m-%dT%H:%M:%S")), file="flash_sale.yaml", directory=tmp_path)
    assert result.journey is not None, result.diagnostics
    return result.journey


def identify_all(store: Store) -> None:
    with store.session() as session:
        for customer_id, traits in CUSTOMERS.items():
            session.identify(customer_id, traits, datetime.now(UTC))


def received(store: Store) -> dict[str, list[str]]:
    with store.session() as session:
        return {c: [m.subject or "" for m in session.messages_for(c)] for c in CUSTOMERS}


async def test_scheduled_broadcast_reaches_exactly_its_audience_once(tmp_path: Path, store: Store, temporal: Client) -> None:
    identify_all(store)
    fire_at = (datetime.now(UTC) + timedelta(seconds=3)).replace(microsecond=0)
    queue = f"broadcast-{uuid.uuid4()}"
    await deploy(store, temporal, [broadcast_at(fire_at, tmp_path)], task_queue=queue)
    # In Temporal's sandbox, as `journey dev` does not run it: a non-deterministic call in either workflow fails here.
    async with build_worker(temporal, store, hash_secret=HASH_SECRET, task_queue=queue, sandboxed=True):
        deadline = time.monotonic() + 30
        # Read the store off the event loop: the worker's enrollments hold the store while they wait on this loop.
        while time.monotonic() < deadline and sum(map(len, (await asyncio.to_thread(received, store)).values())) < len(AUDIENCE):
            await asyncio.sleep(0.2)
        await asyncio.sleep(1)  # anything extra would show up now
    messages = received(store)
    assert {c for c, subjects in messages.items() if subjects} == AUDIENCE
    assert messages["c-ann"] == ["Flash sale, Ann"]
    assert all(len(subjects) == 1 for subjects in messages.values() if subjects)
    with store.session() as session:
        assert all(len(session.enrollments_for(c)) == (1 if c in AUDIENCE else 0) for c in CUSTOMERS)


async def test_a_retried_broadcast_page_enrolls_nobody_twice(tmp_path: Path, store: Store, temporal: Client) -> None:
    identify_all(store)
    journey = broadcast_at(datetime.now(UTC) + timedelta(days=30), tmp_path)
    queue = f"broadcast-{uuid.uuid4()}"
    await deploy(store, None, [journey], task_queue=queue)
    router = Router(store, LoopGateway(temporal, asyncio.get_running_loop(), task_queue=queue), hash_secret=HASH_SECRET)
    page = BroadcastPage("flash_sale", "run-1", None, 500, datetime.now(UTC).isoformat())
    pages = BroadcastActivities(router)
    env = ActivityEnvironment()
    first = await asyncio.to_thread(env.run, pages.enroll_audience_page, page)
    assert first.enrolled == len(AUDIENCE) and first.last == max(CUSTOMERS)
    retried = await asyncio.to_thread(env.run, pages.enroll_audience_page, page)
    assert retried.enrolled == 0
    next_run = await asyncio.to_thread(env.run, pages.enroll_audience_page, BroadcastPage("flash_sale", "run-2", None, 2, page.at))
    # A later firing is a new broadcast; re_entry: always lets it in, but the first enrollments are still running.
    assert next_run.last == "c-bob" and next_run.enrolled == 0
    with store.session() as session:
        assert sum(len(session.enrollments_for(c)) for c in CUSTOMERS) == len(AUDIENCE)
