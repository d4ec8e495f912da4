"""`journey deploy --migrate JOURNEY`: after the deploy, ask the enrollments waiting in older versions to move onto the new one.

The default policy stays: running enrollments finish on the version they started. With `--migrate`
the deploy then reads who waits where (the enrollment index for the version, the folded journey facts
for the step: what `journey plan` counted), and signals `move` to each enrollment the one rule
(orchestrator/runtime/migration.py) lets move. The enrollment decides for itself, by the same rule,
when the request reaches it: it may have moved on meanwhile (it then moves at its next wait, if that
step can move), or ended. Those whose step cannot move are not asked; they stay, and the report says
why, step by step. Members of a broadcast cohort (orchestrator/store/broadcasts.py) are never asked: the cohort runs
one version for all of them, so they stay, and the report says so.

Safe to rerun, and after a crash in the middle: an enrollment that moved is on the new version in the
index and is not picked again; one that was asked and has not moved yet is asked again, and a request
the enrollment cannot act on (already on that version) is ignored. Nothing is sent by the move itself:
the message after the wait is sent once, by whichever version the enrollment is on when the wait ends.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from orchestrator import ir
from orchestrator.analytics.report_format import count
from orchestrator.runtime.contracts import MOVE_SIGNAL, MoveRequest
from orchestrator.runtime.migration import Moves, destination, mapping_problems
from orchestrator.store import Enrollment, Store
from orchestrator.store.values import RunningEnrollment

SETTLE_SECONDS = 30.0
"""How long the deploy watches the index for the asked enrollments to move before it reports (they move as workers
take the requests; those still on their version then are reported as not moved yet)."""
IN_COHORT = "it runs in a broadcast cohort, whose members finish on the version they started"
"""Why a cohort member is never asked to move: a cohort runs one version for all its members (docs/deploy.md)."""
SIGNALS_AT_ONCE = 32
"""Signals in flight at a time: each is one round trip to Temporal."""


class MigrationRefused(Exception):
    """The migration cannot be done as asked (no such journey in the deploy, a mapping that names no step); nothing was deployed."""


@dataclass(frozen=True)
class Migration:
    """What `--migrate` was asked to do: move `journey`'s waiting enrollments onto its new version, with `mapping`."""

    journey: str
    mapping: Mapping[str, str] = field(default_factory=dict)


@dataclass
class MigrationReport:
    journey: str
    version: str
    """The version they were asked to move onto."""
    asked: int = 0
    moved: int = 0
    """Of those asked, how many were on the new version when the deploy stopped watching."""
    ended: int = 0
    """Of those asked, how many had ended (before the signal reached them, or since)."""
    stay: Counter[str] = field(default_factory=Counter)
    """Not asked, by why (in words): their step cannot move."""
    between_steps: int = 0
    """Running in an older version but resting at no step now (or not folded yet): not asked; a rerun later may move them."""

    @property
    def not_moved_yet(self) -> int:
        return self.asked - self.moved - self.ended

    def lines(self) -> list[str]:
        lines = [f"migrate    {self.journey} -> {self.version}: {count(self.asked)} asked to move, {count(self.moved)} moved"]
        if self.ended:
            lines.append(f"           {count(self.ended)} ended before they could move")
        if self.not_moved_yet:
            lines.append(
                f"           {count(self.not_moved_yet)} not moved yet: they move when a worker takes the request, at a wait the new"
                " version keeps (run it again to see)"
            )
        for why, stays in sorted(self.stay.items(), key=lambda item: (-item[1], item[0])):
            lines.append(f"           {count(stays)} stay on the version they started: {why}")
        if self.between_steps:
            lines.append(f"           {count(self.between_steps)} between steps now, not asked: run it again later to move those that wait")
        return lines


def check_migration(store: Store, journeys: Sequence[ir.Journey], migration: Migration) -> ir.Journey:
    """The new version `migration` moves onto, from the journeys about to be deployed; MigrationRefused says what is wrong."""
    new = next((journey for journey in journeys if journey.id == migration.journey), None)
    if new is None:
        raise MigrationRefused(f"--migrate {migration.journey}: no such journey among those deployed (ids: {_ids(journeys)})")
    problems = mapping_problems(_older_versions(store, new), new, migration.mapping)
    if problems:
        raise MigrationRefused("\n".join(problems))
    return new


async def migrate(
    store: Store,
    client: Client,
    new: ir.Journey,
    mapping: Mapping[str, str],
    *,
    settle_seconds: float = SETTLE_SECONDS,
) -> MigrationReport:
    """Ask the enrollments of `new`'s older versions that wait at a step they can move at to move onto `new`; report what came of it."""
    olds = {journey.version: journey for journey in _older_versions(store, new)}
    await asyncio.to_thread(store.fold_journey_facts)  # the steps they rest at, up to now
    with store.read() as session:
        running = session.running_enrollments(new.id, list(olds))
    report = MigrationReport(new.id, new.version)
    ask: list[RunningEnrollment] = []
    for enrollment in running:
        if enrollment.cohort_id is not None:
            report.stay[IN_COHORT] += 1  # never signalled `move`: its workflow is the cohort's, on the cohort's version
            continue
        where = destination(olds[enrollment.version], new, enrollment.step, mapping) if enrollment.step is not None else None
        if where is None:
            report.between_steps += 1
        elif isinstance(where, Moves):
            ask.append(enrollment)
        else:
            report.stay[where.explain(new.version)] += 1
    request = MoveRequest(new.to_dict(), new.version, dict(mapping))
    gone = await _ask_all(client, [enrollment.enrollment_id for enrollment in ask], request)
    report.asked = len(ask)
    report.moved, report.ended = await _watch(store, new, [e.enrollment_id for e in ask], gone, settle_seconds)
    return report


async def _ask_all(client: Client, enrollment_ids: list[str], request: MoveRequest) -> set[str]:
    """Signal `move` to each enrollment (its workflow id); the ids whose workflow had already ended."""
    gone: set[str] = set()
    turns = asyncio.Semaphore(SIGNALS_AT_ONCE)

    async def ask(enrollment_id: str) -> None:
        async with turns:
            try:
                await client.get_workflow_handle(enrollment_id).signal(MOVE_SIGNAL, request)
            except RPCError as error:
                if error.status != RPCStatusCode.NOT_FOUND:
                    raise
                gone.add(enrollment_id)  # ended (and its index row says so, or will once its last activity writes it)

    await asyncio.gather(*(ask(enrollment_id) for enrollment_id in enrollment_ids))
    return gone


async def _watch(store: Store, new: ir.Journey, asked: list[str], gone: set[str], settle_seconds: float) -> tuple[int, int]:
    """(moved, ended) among `asked`, once all have moved or ended or `settle_seconds` have passed."""
    deadline = time.monotonic() + settle_seconds
    while True:
        with store.read() as session:
            rows = session.enrollments_by_id(asked)
        outcomes = Counter(_outcome(rows.get(enrollment_id), enrollment_id in gone, new.version) for enrollment_id in asked)
        if outcomes["waiting"] == 0 or time.monotonic() >= deadline:
            return outcomes["moved"], outcomes["ended"]
        await asyncio.sleep(0.2)


def _outcome(row: Enrollment | None, gone: bool, version: str) -> str:
    """What became of one enrollment asked to move onto `version`: moved (and maybe ended since), ended, or waiting still."""
    if row is not None and row.version == version:
        return "moved"
    if gone or row is None or row.status != "running":
        return "ended"
    return "waiting"


def _older_versions(store: Store, new: ir.Journey) -> list[ir.Journey]:
    with store.read() as session:
        deployed = session.deployed_journeys(new.id)
    return [version.journey for found in deployed for version in found.versions if version.journey.version != new.version]


def _ids(journeys: Sequence[ir.Journey]) -> str:
    return ", ".join(journey.id for journey in journeys) or "none"
