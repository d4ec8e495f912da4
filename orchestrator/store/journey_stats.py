"""A journey's stats and the list of journeys, read in one transaction: what `GET /v1/journeys[/{id}/stats]` and `journey stats` show.

The request is checked here, once, for the API (which answers 404 and 422 with these messages) and
the command line (which prints them): an unknown journey, a day that is not YYYY-MM-DD, `from` after
`to`, a version never deployed. The counts come from `journey_counts` (the journey facts folded), the
figures from orchestrator/analytics/report.py.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from orchestrator.analytics.report import JourneyReport, journey_report
from orchestrator.store.journeys import DeployedJourney

if TYPE_CHECKING:
    from orchestrator.store import Store
    from orchestrator.store.session import StoreSession


class UnknownJourney(LookupError):
    """No journey of that id was ever deployed."""

    def __init__(self, journey_id: str) -> None:
        super().__init__(f"no journey {journey_id!r} has been deployed (`journey deploy` it first)")
        self.journey_id = journey_id


class StatsRequestError(ValueError):
    """A value of the request that cannot be answered; `field` names it as the request does (from, to, version)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class StatsRequest:
    """Which enrollments to report on: those of `version` (None: every version) that entered in [first_day, last_day] (None: no bound)."""

    journey_id: str
    first_day: date | None = None
    last_day: date | None = None
    version: str | None = None

    @classmethod
    def parse(cls, journey_id: str, first_day: str | None, last_day: str | None, version: str | None) -> StatsRequest:
        """From the text of a query string or command line; raises StatsRequestError naming the field at fault."""
        request = cls(journey_id, _day("from", first_day), _day("to", last_day), version or None)
        if request.first_day is not None and request.last_day is not None and request.first_day > request.last_day:
            raise StatsRequestError("from", f"{request.first_day} is after to ({request.last_day}): the range would be empty")
        return request


@dataclass(frozen=True)
class JourneySummary:
    """One line of the list of journeys: all its enrollments, every version."""

    journey_id: str
    name: str
    active_version: str | None
    """None: deactivated (no new enrollments)."""
    deployed_at: datetime
    """When the active version (deactivated: the newest version) was first deployed."""
    versions: int
    entered: int
    converted: int
    waiting: int

    def document(self) -> dict[str, Any]:
        """As `GET /v1/journeys` lists it and `journey stats --format json` prints it."""
        return {
            "id": self.journey_id,
            "name": self.name,
            "active_version": self.active_version,
            "deployed_at": self.deployed_at.isoformat(),
            "versions": self.versions,
            "entered": self.entered,
            "converted": self.converted,
            "waiting": self.waiting,
        }


def read_journey_stats(store: Store, request: StatsRequest, now: datetime) -> JourneyReport:
    """The report of `request`; raises UnknownJourney, or StatsRequestError for a version never deployed."""
    with store.read() as session:
        deployed = _deployed(session, request.journey_id)
    journeys = [version.journey for version in deployed.versions]
    if request.version is not None:
        journeys = [journey for journey in journeys if journey.version == request.version]
        if not journeys:
            known = ", ".join(version.journey.version for version in deployed.versions)
            raise StatsRequestError("version", f"{request.journey_id!r} has no version {request.version!r}; deployed: {known}")
    counts = store.journey_counts(journeys, first_day=request.first_day, last_day=request.last_day, now=now)
    return journey_report(counts, journeys, now)


def read_journey_list(store: Store, now: datetime) -> list[JourneySummary]:
    """Every journey ever deployed, by id, with its all-time entered, converted and waiting counts."""
    summaries = []
    with store.read() as session:
        every = session.deployed_journeys()
    for deployed in every:
        journeys = [version.journey for version in deployed.versions]
        counts = store.journey_counts(journeys, first_day=None, last_day=None, now=now)
        shown = deployed.shown
        summaries.append(
            JourneySummary(
                journey_id=deployed.journey_id,
                name=shown.journey.name,
                active_version=deployed.active_version,
                deployed_at=shown.deployed_at,
                versions=len(deployed.versions),
                entered=counts.entered,
                converted=counts.converted,
                waiting=counts.waiting,
            )
        )
    return summaries


def _deployed(session: StoreSession, journey_id: str) -> DeployedJourney:
    found = session.deployed_journeys(journey_id)
    if not found:
        raise UnknownJourney(journey_id)
    return found[0]


def _day(field: str, text: str | None) -> date | None:
    """A UTC day written YYYY-MM-DD (only that form: 20260301 would parse too, and read as a typo)."""
    if not text:
        return None
    if len(text) == 10:
        with contextlib.suppress(ValueError):
            return date.fromisoformat(text)
    raise StatsRequestError(field, f"{text!r} is not a day: write it YYYY-MM-DD, like 2026-03-01 (UTC)")
