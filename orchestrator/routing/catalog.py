"""The journey catalog: the active journeys routing enrolls in, every version it has seen, the events they listen to and
the events they measure."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from orchestrator import ir
from orchestrator.routing.measurement import measured_events
from orchestrator.store import StoreSession


@dataclass(frozen=True)
class CatalogSnapshot:
    """The active journeys at one refresh, and every event name routing must look at."""

    active: tuple[ir.Journey, ...] = ()
    listened: frozenset[str] = frozenset()
    """Events some journey (of any version seen) listens to: a track of any other is only recorded, never sent to Temporal."""
    measured: dict[str, frozenset[str]] = field(default_factory=dict)
    """By event name, the journeys (ids) some version of which records a goal or an answer when it arrives
    (orchestrator/routing/measurement.py). A track of an event in no journey's goal or metrics costs nothing more."""

    def routed(self, event: str) -> bool:
        """Whether a track of `event` must be routed (under the customer's lease, reading their enrollments), not only recorded."""
        return event in self.listened or event in self.measured


class JourneyCatalog:
    """Active journeys and old versions, cached: an enrollment signals on behalf of the version it pinned.

    Thread-safe for readers: a refresh builds a new snapshot and swaps it in with one assignment,
    so a call routed during a refresh sees the old catalog or the new one, never a mix.
    """

    def __init__(self) -> None:
        self._versions: dict[tuple[str, str], ir.Journey] = {}
        self._encoded: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._snapshot = CatalogSnapshot()

    def refresh(self, session: StoreSession) -> None:
        active = tuple(session.active_journeys())
        with self._lock:
            for journey in active:
                self._versions.setdefault((journey.id, journey.version), journey)
            known = list(self._versions.values())
        # Versions no longer active may still have running enrollments waiting for their events,
        # so their events stay listened: the catalog knows every version this process has seen.
        listened = frozenset(name for journey in known for name in journey.events)
        measured: dict[str, set[str]] = {}
        for journey in known:
            for name in measured_events(journey):
                measured.setdefault(name, set()).add(journey.id)
        self._snapshot = CatalogSnapshot(active, listened, {name: frozenset(ids) for name, ids in measured.items()})

    @property
    def snapshot(self) -> CatalogSnapshot:
        return self._snapshot

    @property
    def active(self) -> list[ir.Journey]:
        return list(self._snapshot.active)

    def encoded(self, journey: ir.Journey) -> dict[str, Any]:
        """The journey as a workflow's input carries it, encoded once per version (the IR is frozen; never mutate the result)."""
        key = (journey.id, journey.version)
        found = self._encoded.get(key)
        if found is None:
            found = self._encoded.setdefault(key, journey.to_dict())
        return found

    def version(self, session: StoreSession, journey_id: str, version: str) -> ir.Journey | None:
        key = (journey_id, version)
        known = self._versions.get(key)
        if known is not None:
            return known
        found = session.journey_version(journey_id, version)
        if found is not None:
            with self._lock:
                self._versions.setdefault(key, found)
        return found
