"""`journey prune`, and `journey dev`'s hourly schedule of it: apply the retention policy to the store.

It folds the journey facts recorded since the last fold into the journeys' counts first
(orchestrator/store/fold.py). Each kind of row is deleted in batches of `PRUNE_BATCH`, one short transaction each
(an ended enrollment's facts go with it, folded first: orchestrator/store/retention.py; a customer's profile
changes older than the events' window are folded into one baseline change: orchestrator/store/profile_history.py),
so that a first prune of a large store never holds the database for long: the API and the
workers go on between batches.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from orchestrator.host.settings import PruneSettings, open_store
from orchestrator.store import Store, StoreSession
from orchestrator.store.retention import RetentionPolicy

log = logging.getLogger(__name__)

PRUNE_BATCH = 1000
"""Rows per transaction."""
DEV_PRUNE_EVERY = timedelta(hours=1)
"""How often `journey dev` prunes its store."""


def prune(store: Store, policy: RetentionPolicy, now: datetime) -> dict[str, int]:
    """Fold the journey facts, then delete what `policy` no longer keeps as of `now`; rows deleted per kind
    (events, messages, enrollments), and customers whose profile history older than the events' window was folded
    into a baseline (profile_histories)."""
    # The fold's backlog first, in transactions of bounded size: a report then folds only what came since.
    store.fold_journey_facts()
    kinds: dict[str, tuple[timedelta | None, Callable[[StoreSession, datetime, int], int]]] = {
        "events": (policy.events, StoreSession.prune_events),
        "messages": (policy.messages, StoreSession.prune_messages),
        "enrollments": (policy.enrollments, StoreSession.prune_enrollments),
        # The profile history follows the events: a backtest replays both over the same window. Its old changes
        # are folded into one baseline per customer, never dropped, so the profile at the window's start stays known.
        "profile_histories": (policy.events, StoreSession.prune_profile_changes),
    }
    pruned: dict[str, int] = {}
    for kind, (kept_for, prune_batch) in kinds.items():
        pruned[kind] = 0
        if kept_for is None:
            continue
        while True:
            with store.session() as session:
                deleted = prune_batch(session, now - kept_for, PRUNE_BATCH)
            pruned[kind] += deleted
            if deleted < PRUNE_BATCH:
                break
    return pruned


def prune_from_cli(settings: PruneSettings, data_dir: Path) -> dict[str, int]:
    store = open_store(settings.database_url, data_dir)
    try:
        store.migrate()
        return prune(store, settings.retention, datetime.now(UTC))
    finally:
        store.dispose()


async def prune_every(store: Store, policy: RetentionPolicy, every: timedelta = DEV_PRUNE_EVERY) -> None:
    """Prune now and every `every` (in a thread: it writes the store); a failed round is logged and tried at the next."""
    while True:
        try:
            pruned = await asyncio.to_thread(prune, store, policy, datetime.now(UTC))
            if any(pruned.values()):
                log.info("retention: pruned %s", ", ".join(f"{count} {kind}" for kind, count in pruned.items()))
        except Exception:
            log.exception("pruning the store failed; trying again in %s", every)
        await asyncio.sleep(every.total_seconds())
