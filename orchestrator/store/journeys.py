"""Deployed journeys: every version ever deployed (running enrollments may be on an old one), and the active one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from orchestrator.ir import Journey
from orchestrator.store.queries import Queries
from orchestrator.store.schema import journey_versions, journeys, utc


@dataclass(frozen=True)
class DeployedVersion:
    journey: Journey
    deployed_at: datetime
    """When this version was first deployed."""


@dataclass(frozen=True)
class DeployedJourney:
    """A journey and every version of it ever deployed, oldest first; `active_version` None once deactivated."""

    journey_id: str
    active_version: str | None
    versions: tuple[DeployedVersion, ...]

    @property
    def shown(self) -> DeployedVersion:
        """The version that stands for the journey in lists: the active one, or the newest once deactivated."""
        return next((v for v in self.versions if v.journey.version == self.active_version), self.versions[-1])


class JourneyQueries(Queries):
    """The `journeys` table (the active version of each) and `journey_versions` (each version's IR)."""

    def deploy(self, journey: Journey, at: datetime) -> bool:
        """Store this version (once) and make it the active one; True if the active version changed."""
        at = utc(at, "at")
        self._conn.execute(
            self._insert(journeys).values(journey_id=journey.id, active_version=None, updated_at=at).on_conflict_do_nothing()
        )
        self._conn.execute(
            self._insert(journey_versions)
            .values(journey_id=journey.id, version=journey.version, ir=journey.to_json(), deployed_at=at)
            .on_conflict_do_nothing()
        )
        # FOR UPDATE: two concurrent deploys of one journey agree on which of them changed it.
        active = self._conn.execute(
            select(journeys.c.active_version).where(journeys.c.journey_id == journey.id).with_for_update()
        ).scalar_one()
        if active == journey.version:
            return False
        self._conn.execute(
            update(journeys).where(journeys.c.journey_id == journey.id).values(active_version=journey.version, updated_at=at)
        )
        return True

    def deactivate(self, journey_id: str) -> None:
        """No new enrollments; running ones continue on their version. Deploying again reactivates."""
        self._conn.execute(update(journeys).where(journeys.c.journey_id == journey_id).values(active_version=None))

    def active_journeys(self) -> list[Journey]:
        query = (
            select(journey_versions.c.ir)
            .join(
                journeys,
                (journeys.c.journey_id == journey_versions.c.journey_id) & (journeys.c.active_version == journey_versions.c.version),
            )
            .order_by(journeys.c.journey_id)
        )
        return [_journey(ir) for ir in self._conn.execute(query).scalars()]

    def journey_version(self, journey_id: str, version: str) -> Journey | None:
        """Any version ever deployed, active or not (running enrollments may be on an old one)."""
        ir = self._conn.execute(
            select(journey_versions.c.ir).where((journey_versions.c.journey_id == journey_id) & (journey_versions.c.version == version))
        ).scalar_one_or_none()
        return _journey(ir) if ir is not None else None

    def deployed_journeys(self, journey_id: str | None = None) -> list[DeployedJourney]:
        """Every journey ever deployed (or only `journey_id`), by id, with all its versions: what analytics reports on."""
        query = (
            select(journeys.c.journey_id, journeys.c.active_version, journey_versions.c.ir, journey_versions.c.deployed_at)
            .join(journey_versions, journey_versions.c.journey_id == journeys.c.journey_id)
            .order_by(journeys.c.journey_id, journey_versions.c.deployed_at, journey_versions.c.version)
        )
        if journey_id is not None:
            query = query.where(journeys.c.journey_id == journey_id)
        found: dict[str, tuple[str | None, list[DeployedVersion]]] = {}
        for row in self._conn.execute(query):
            found.setdefault(row.journey_id, (row.active_version, []))[1].append(DeployedVersion(_journey(row.ir), row.deployed_at))
        return [DeployedJourney(key, active, tuple(versions)) for key, (active, versions) in found.items()]


def _journey(ir: str) -> Journey:
    return Journey.from_dict(json.loads(ir))
