"""Cancelling a broadcast run: noted in the store first, then every cohort it started is signalled `cancel`.

Three callers, one order. `POST /v1/broadcasts/{run_id}/cancel` and `journey broadcast cancel` note the
run cancelled, signal the broadcast workflow (it stops paging after the page in flight) and signal each
cohort started so far (their members end as "broadcast cancelled": nothing more is sent). The broadcast
workflow, once it has stopped paging, runs the same steps in its `cancel_broadcast_cohorts` activity, which
reaches a cohort its last page started after the caller read the list. A page that reads the run's
record as cancelled enrolls nobody (activities/broadcast_activity.py). Every step is idempotent: the
first cancel's time is kept, a cohort signalled twice ends its members once, and a cohort (or broadcast)
that has ended already is simply not running.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from orchestrator.store import Store
from orchestrator.store.broadcasts import UnknownBroadcast


class CohortSignals(Protocol):
    """The Temporal calls a cancel makes (orchestrator/routing/gateway.py); each raises TemporalUnavailable."""

    def cancel_broadcast(self, run_key: str, cohort_ids: Sequence[str]) -> tuple[bool, int]:
        """Signal the broadcast workflow, then the cohorts: (whether it was still paging, cohorts still running)."""
        ...

    def cancel_cohorts(self, cohort_ids: Sequence[str]) -> int:
        """Signal the cohorts: how many were still running."""
        ...


def cancel_run(store: Store, signals: CohortSignals, run_key: str, at: datetime, *, signal_broadcast: bool = True) -> int:
    """Cancel the run `run_key` at `at`: how many of its cohorts were still running. Raises UnknownBroadcast, and
    TemporalUnavailable when a signal was not confirmed (the run is noted cancelled: call again to finish)."""
    with store.session() as session:
        run = session.cancel_broadcast_run(run_key, at)
        cohorts = session.cohort_ids(run_key)
    if run is None:
        raise UnknownBroadcast(run_key)
    if signal_broadcast:
        return signals.cancel_broadcast(run_key, cohorts)[1]
    return signals.cancel_cohorts(cohorts)
