"""Broadcast runs and their cohorts: what a firing of a scheduled journey has done so far, counted from recorded facts.

A run is one firing of a broadcast's schedule, named by its workflow id (`run_key`). Its page activity
(activities/broadcast_activity.py) writes the run's row when it reads the first page and moves its
cursor after each page; each page that admits anyone starts one cohort (one JourneyCohort workflow),
recorded in `broadcast_cohorts` in the transaction that indexes its members with the cohort's id
(orchestrator/routing/router.py, `enroll_page`).

A run's progress (`broadcast_progress`) is read from those rows and the journey facts, exactly, in one
transaction:
- `enrolled`: customers the run enrolled (the members of its cohorts);
- `sent`, `failed`, `suppressed` (by the gate's reason): its members' `message` facts with that status,
  one per member, send step and visit, as a journey's report counts messages (docs/analytics.md);
- `remaining`: members whose enrollment is still running, those the broadcast may still send to (for
  a one-send journey, those it has not sent to yet);
- `profiles_to_read`: profiles the paging has not read yet, all of which it will read (0 once it found
  no more, or the run was cancelled); the entry rules decide which of them it enrolls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Row, func, select, update

from orchestrator.store.journey_stats import UnknownJourney
from orchestrator.store.queries import Queries
from orchestrator.store.schema import broadcast_cohorts, broadcast_runs, enrollments, journey_facts, profiles, utc

if TYPE_CHECKING:
    from orchestrator.store import Store

RunState = Literal["paging", "running", "finished", "cancelled"]
COUNTED_MESSAGES = ("sent", "suppressed", "failed")
"""The `message` facts a run's progress counts (a `held` message is counted by what became of it)."""


class UnknownBroadcast(LookupError):
    """No broadcast run of that id has enrolled a page."""

    def __init__(self, run_key: str) -> None:
        super().__init__(f"no broadcast run {run_key!r}: `journey broadcast list JOURNEY` lists a journey's runs")
        self.run_key = run_key


@dataclass(frozen=True)
class BroadcastRun:
    """The row of one run: who it belongs to, how far its paging got, whether it was cancelled."""

    run_key: str
    journey_id: str
    version: str
    started_at: datetime
    profiles_at_start: int
    pages: int
    last_customer: str | None
    paged_at: datetime | None
    """When the paging found no more profiles; None while it pages, or when it was cancelled first."""
    cancelled_at: datetime | None


@dataclass(frozen=True)
class BroadcastProgress:
    """How far a run has got (the module's docstring defines each count)."""

    run: BroadcastRun
    cohorts: int
    enrolled: int
    sent: int
    failed: int
    suppressed: dict[str, int] = field(default_factory=dict)
    remaining: int = 0
    profiles_to_read: int = 0

    @property
    def state(self) -> RunState:
        """cancelled; paging (still enrolling pages); running (every page enrolled, members still running); finished."""
        if self.run.cancelled_at is not None:
            return "cancelled"
        if self.run.paged_at is None:
            return "paging"
        return "running" if self.remaining else "finished"

    def document(self) -> dict[str, Any]:
        """As `GET /v1/broadcasts/{run_id}` answers it and `journey broadcast status --format json` prints it."""
        run = self.run
        return {
            "run_id": run.run_key,
            "journey": run.journey_id,
            "version": run.version,
            "state": self.state,
            "started_at": run.started_at.isoformat(),
            "paged_at": run.paged_at.isoformat() if run.paged_at else None,
            "cancelled_at": run.cancelled_at.isoformat() if run.cancelled_at else None,
            "profiles_at_start": run.profiles_at_start,
            "pages": run.pages,
            "cohorts": self.cohorts,
            "enrolled": self.enrolled,
            "sent": self.sent,
            "suppressed": dict(sorted(self.suppressed.items())),
            "failed": self.failed,
            "remaining": self.remaining,
            "profiles_to_read": self.profiles_to_read,
        }


class BroadcastQueries(Queries):
    """The `broadcast_runs` and `broadcast_cohorts` tables, and the progress read from them."""

    def start_broadcast_run(self, run_key: str, journey_id: str, version: str, started_at: datetime) -> BroadcastRun:
        """The run's row, written (with the profiles there are now) by its first page; a retried page finds it."""
        values = {
            "run_key": run_key, "journey_id": journey_id, "version": version, "started_at": utc(started_at, "started_at"),
            "profiles_at_start": self._count(select(func.count()).select_from(profiles)), "pages": 0,
        }  # fmt: skip
        self._conn.execute(self._insert(broadcast_runs).values(values).on_conflict_do_nothing(index_elements=["run_key"]))
        found = self.broadcast_run(run_key)
        assert found is not None
        return found

    def broadcast_page_done(self, run_key: str, page: int, last_customer: str | None, at: datetime) -> None:
        """Page number `page` is enrolled and `last_customer` is the last id it read (None: there were no more
        profiles, the paging is done). A retried earlier page moves nothing back."""
        row = broadcast_runs.c
        changes: dict[str, Any] = {"pages": page + 1}
        if last_customer is None:
            changes["paged_at"] = utc(at, "at")
        else:
            changes["last_customer"] = last_customer
        self._conn.execute(update(broadcast_runs).where((row.run_key == run_key) & (row.pages <= page)).values(changes))

    def cancel_broadcast_run(self, run_key: str, at: datetime) -> BroadcastRun | None:
        """Note that the run is cancelled (the first cancel's time is kept); None: no such run."""
        row = broadcast_runs.c
        self._conn.execute(
            update(broadcast_runs).where((row.run_key == run_key) & row.cancelled_at.is_(None)).values(cancelled_at=utc(at, "at"))
        )
        return self.broadcast_run(run_key)

    def record_cohort(self, cohort_id: str, run_key: str, journey_id: str, version: str, page: int, members: int, at: datetime) -> None:
        """A cohort a page started, with its number of members; recording it again changes nothing."""
        values = {
            "cohort_id": cohort_id, "run_key": run_key, "journey_id": journey_id, "version": version, "page": page,
            "members": members, "started_at": utc(at, "at"),
        }  # fmt: skip
        self._conn.execute(self._insert(broadcast_cohorts).values(values).on_conflict_do_nothing(index_elements=["cohort_id"]))

    def broadcast_run(self, run_key: str) -> BroadcastRun | None:
        found = self._conn.execute(select(broadcast_runs).where(broadcast_runs.c.run_key == run_key)).one_or_none()
        return _run(found) if found is not None else None

    def broadcast_runs(self, journey_id: str) -> list[BroadcastRun]:
        """The journey's runs, newest first."""
        query = select(broadcast_runs).where(broadcast_runs.c.journey_id == journey_id)
        return [_run(row) for row in self._conn.execute(query.order_by(broadcast_runs.c.started_at.desc(), broadcast_runs.c.run_key))]

    def cohort_ids(self, run_key: str) -> list[str]:
        """The cohorts the run started, in page order."""
        query = select(broadcast_cohorts.c.cohort_id).where(broadcast_cohorts.c.run_key == run_key)
        return list(self._conn.execute(query.order_by(broadcast_cohorts.c.page)).scalars())

    def broadcast_progress(self, run_key: str) -> BroadcastProgress | None:
        """The run's progress as the recorded facts have it now; None: no such run."""
        run = self.broadcast_run(run_key)
        if run is None:
            return None
        cohort = broadcast_cohorts.c
        of_run = cohort.run_key == run_key
        cohorts, enrolled = self._conn.execute(select(func.count(), func.coalesce(func.sum(cohort.members), 0)).where(of_run)).one()
        members = enrollments.join(broadcast_cohorts, cohort.cohort_id == enrollments.c.cohort_id)
        remaining = self._count(select(func.count()).select_from(members).where(of_run & (enrollments.c.status == "running")))
        fact = journey_facts.c
        messages = (
            select(fact.status, fact.detail, func.count())
            .select_from(members.join(journey_facts, fact.enrollment_id == enrollments.c.enrollment_id))
            .where(of_run & (fact.kind == "message") & fact.status.in_(COUNTED_MESSAGES))
            .group_by(fact.status, fact.detail)
        )
        counted: dict[str, int] = {}
        suppressed: dict[str, int] = {}
        for status, detail, number in self._conn.execute(messages):
            counted[status] = counted.get(status, 0) + number
            if status == "suppressed":
                reason = detail or "unknown"
                suppressed[reason] = suppressed.get(reason, 0) + number
        to_read = 0
        if run.paged_at is None and run.cancelled_at is None:
            unread = select(func.count()).select_from(profiles)
            if run.last_customer is not None:
                unread = unread.where(profiles.c.customer_id > run.last_customer)
            to_read = self._count(unread)
        return BroadcastProgress(
            run, int(cohorts), int(enrolled), counted.get("sent", 0), counted.get("failed", 0), suppressed, remaining, to_read
        )

    def _count(self, query: Any) -> int:
        return int(self._conn.execute(query).scalar_one())


def read_progress(store: Store, run_key: str) -> BroadcastProgress:
    """The progress of the run `run_key` (what the API and `journey broadcast status` show); raises UnknownBroadcast."""
    with store.read() as session:
        progress = session.broadcast_progress(run_key)
    if progress is None:
        raise UnknownBroadcast(run_key)
    return progress


def read_journey_runs(store: Store, journey_id: str) -> list[BroadcastProgress]:
    """The progress of each run of the journey, newest first; raises UnknownJourney for a journey never deployed."""
    with store.read() as session:
        if not session.deployed_journeys(journey_id):
            raise UnknownJourney(journey_id)
        found = [session.broadcast_progress(run.run_key) for run in session.broadcast_runs(journey_id)]
    return [progress for progress in found if progress is not None]


def _run(row: Row[Any]) -> BroadcastRun:
    return BroadcastRun(
        row.run_key, row.journey_id, row.version, row.started_at, row.profiles_at_start, row.pages, row.last_customer, row.paged_at,
        row.cancelled_at,
    )  # fmt: skip
