"""A scheduled broadcast on the production worker (`build_worker`): the audience gets its message once, through real
cohorts; an event reaches a member through its cohort, a cancel ends the others, and the run's progress says so."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import Client

from orchestrator.host.deployment import deploy
from orchestrator.host.worker import build_worker
from orchestrator.routing.broadcast_cancel import cancel_run
from orchestrator.routing.calls import TrackCall
from orchestrator.routing.gateway import LoopGateway
from orchestrator.routing.router import Router
from orchestrator.store import Store
from orchestrator.store.broadcasts import BroadcastProgress
from tests.host.test_broadcast import AUDIENCE, CUSTOMERS, broadcast_at, identify_all
from tests.keys import HASH_SECRET


def received(store: Store) -> dict[str, list[str]]:
    with store.read() as session:
        return {c: [m.subject or "" for m in session.messages_for(c)] for c in CUSTOMERS}


def progress_of(store: Store) -> BroadcastProgress | None:
    with store.read() as session:
        runs = session.broadcast_runs("flash_sale")
        return session.broadcast_progress(runs[0].run_key) if runs else None


async def eventually(check: Callable[[], bool], what: str, seconds: float = 30) -> None:
    """Read the store off the event loop: the worker's activities hold the store while they wait on this loop."""
    deadline = time.monotonic() + seconds
    while not await asyncio.to_thread(check):
        assert time.monotonic() < deadline, f"never: {what}"
        await asyncio.sleep(0.2)


async def test_a_broadcast_sends_once_through_cohorts_an_event_reaches_a_member_and_a_cancel_ends_the_rest(
    tmp_path: Path, store: Store, temporal: Client
) -> None:
    identify_all(store)
    fire_at = (datetime.now(UTC) + timedelta(seconds=2)).replace(microsecond=0)
    queue = f"broadcast-{uuid.uuid4()}"
    await deploy(store, temporal, [broadcast_at(fire_at, tmp_path)], task_queue=queue)
    # In Temporal's sandbox, as `journey dev` does not run it: a non-deterministic call in any workflow fails here.
    async with build_worker(temporal, store, hash_secret=HASH_SECRET, task_queue=queue, sandboxed=True):
        await eventually(lambda: sum(map(len, received(store).values())) == len(AUDIENCE), "every message of the audience")
        await eventually(lambda: (p := progress_of(store)) is not None and p.sent == 3, "the sends counted")
        progress = progress_of(store)
        assert progress is not None and (progress.cohorts, progress.enrolled, progress.remaining) == (1, 3, 3)

        router = Router(store, LoopGateway(temporal, asyncio.get_running_loop(), task_queue=queue), hash_secret=HASH_SECRET)
        opened = TrackCall("c-ann", "email_opened", {}, "m-open-ann", datetime.now(UTC), datetime.now(UTC))
        outcome = await asyncio.to_thread(router.track, opened)
        assert len(outcome.signalled) == 1
        await eventually(lambda: (p := progress_of(store)) is not None and p.remaining == 2, "ann's enrollment completed")

        await asyncio.to_thread(cancel_run, store, router.gateway, progress.run.run_key, datetime.now(UTC))
        await eventually(lambda: (p := progress_of(store)) is not None and p.remaining == 0, "the others ended by the cancel")
        await asyncio.sleep(1)  # anything extra would show up now

    messages = received(store)
    assert {c for c, subjects in messages.items() if subjects} == AUDIENCE
    assert messages["c-ann"] == ["Flash sale, Ann"] and all(len(s) == 1 for s in messages.values() if s)
    with store.read() as session:
        ended = {c: [(e.status, e.end_reason) for e in session.enrollments_for(c)] for c in AUDIENCE}
    cancelled = [("exited", "broadcast cancelled")]
    assert ended == {"c-ann": [("completed", None)], "c-bob": cancelled, "c-dee": cancelled}
    final = progress_of(store)
    assert final is not None and final.state == "cancelled" and final.sent == 3
