"""`journey deploy`: compile journeys, make them the active versions, and schedule the broadcasts.

All or nothing: if any file has an error, nothing is deployed. Deploying a new
version never touches running enrollments (each pinned its IR when it started);
new enrollments get the new version. `--migrate` then asks the waiting ones of one
journey to move onto it (orchestrator/host/migration.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from temporalio.client import Client

from orchestrator import ir
from orchestrator.compiler import Diagnostic, compile_paths, has_errors
from orchestrator.host.migration import MigrationReport
from orchestrator.host.schedules import sync_schedules
from orchestrator.store import Store


class DeployRefused(Exception):
    """The journeys have errors; nothing was deployed."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__(f"{len(diagnostics)} problems; nothing deployed")
        self.diagnostics = diagnostics


@dataclass
class DeployReport:
    deployed: list[ir.Journey] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    """Ids of journeys whose active version changed (new, or a new version)."""
    deactivated: list[str] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    migration: MigrationReport | None = None
    """With `--migrate`: what came of asking the waiting enrollments to move."""

    def lines(self) -> list[str]:
        out = []
        for journey in self.deployed:
            state = "deployed" if journey.id in self.changed else "unchanged"
            broadcast = "  (broadcast, scheduled)" if isinstance(journey.trigger, ir.ScheduleTrigger) else ""
            out.append(f"{state:<10} {journey.id} {journey.version}{broadcast}")
        out += [f"{'stopped':<10} {journey_id} (no longer in the folder: no new enrollments)" for journey_id in self.deactivated]
        if self.migration is not None:
            out += self.migration.lines()
        return out


def compile_for_deploy(paths: Iterable[Path | str]) -> tuple[list[ir.Journey], list[Diagnostic]]:
    """The compiled journeys, or DeployRefused with every error."""
    project = compile_paths(paths)
    diagnostics = list(project.diagnostics)
    if has_errors(diagnostics):
        raise DeployRefused(diagnostics)
    return [r.journey for r in project.results if r.journey is not None], diagnostics


async def deploy(
    store: Store,
    client: Client | None,
    journeys: list[ir.Journey],
    *,
    task_queue: str,
    prune: bool = False,
    at: datetime | None = None,
) -> DeployReport:
    """Activate `journeys` in one transaction, then create their broadcast schedules.

    `prune`: journeys active now but not in `journeys` stop taking new enrollments
    (a folder deploy: the folder is the whole truth, as in Git).
    """
    at = at or datetime.now(UTC)
    report = DeployReport(deployed=list(journeys))
    names = {j.id for j in journeys}
    with store.session() as session:
        for journey in journeys:
            if session.deploy(journey, at):
                report.changed.append(journey.id)
        if prune:
            for active in session.active_journeys():
                if active.id not in names:
                    session.deactivate(active.id)
                    report.deactivated.append(active.id)
    if client is not None:
        await sync_schedules(client, journeys, task_queue, prune=prune)
    return report
