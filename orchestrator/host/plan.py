"""`journey plan`: what deploying a folder would change, journey by journey, and what it means for the customers inside.

It compiles the folder as `journey deploy` does (all or nothing: a folder with errors has no plan) and
compares it with the store's deployed journeys, reading the store only (DATABASE_URL, or the store of
`journey dev` under --data-dir): no Temporal, nothing written. For each journey: new, changed (with
what changed in words, `compiler/version_diff.py`, the same list the console's version history shows),
unchanged, or stopped (deployed, no longer in the folder: a folder deploy, `--prune`, stops its new
enrollments). For every version that still has enrollments running, how many, and at which steps they
wait now (the journey facts, folded: the numbers `journey stats --version` gives), and what happens to
them under the policy chosen (plan_policy.py): by default running enrollments finish on the version
they started, so a change reaches only customers who enter after the deploy; with `--migrate JOURNEY`
those waiting at a step the new version keeps move onto it, step by step as the deploy would ask them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from orchestrator import ir
from orchestrator.analytics.report_format import count
from orchestrator.compiler.version_diff import version_changes
from orchestrator.host.deployment import compile_for_deploy
from orchestrator.host.migration import Migration, check_migration
from orchestrator.host.plan_backtest import DEFAULT_WINDOW, Backtester, backtest_changes, backtests_document, render_backtests
from orchestrator.host.plan_policy import MigrateOutcome, migrate_outcomes, migrated_sentence, moving, policy_lines
from orchestrator.host.settings import StatsSettings, open_store
from orchestrator.store import Store
from orchestrator.store.journeys import DeployedJourney

Format = Literal["text", "json", "markdown"]
Change = Literal["new", "changed", "unchanged", "stopped"]


@dataclass(frozen=True)
class WaitingAt:
    step: str
    waiting: int
    in_new_version: bool
    """The step (by id) is in the version the folder would deploy: what moving its enrollments onto it would need."""


@dataclass(frozen=True)
class RunningVersion:
    version: str
    running: int
    """Enrollments of this version that have not ended."""
    waiting: tuple[WaitingAt, ...]
    """The steps they rest at now, most first (the rest are between steps, or older than the step facts)."""
    migrate: tuple[MigrateOutcome, ...] = ()
    """What `--migrate` does to those waiting at each step (empty: no new version to move onto)."""


@dataclass(frozen=True)
class JourneyPlan:
    journey: str
    name: str
    change: Change
    deployed_version: str | None
    """The active version now (None: new, or stopped)."""
    new_version: str | None
    """The version the folder would make active (None: stopped)."""
    changes: tuple[str, ...]
    """What changed from the active version (or, for a stopped journey's return, the newest), in words."""
    running: tuple[RunningVersion, ...]
    migrating: bool = False
    """The plan is `--migrate`'s for this journey: its waiting enrollments move where they can."""

    @property
    def outcome(self) -> str:
        """What the deploy does to the customers inside, in a sentence."""
        running = sum(version.running for version in self.running)
        keep = f"{count(running)} running enrollment{'s' if running != 1 else ''} finish on the version they started"
        match self.change:
            case "new":
                return f"Customers who enter from now on get version {self.new_version}."
            case "unchanged":
                return f"Nothing changes: {keep}." if running else "Nothing changes."
            case "changed" if self.migrating:
                return migrated_sentence(self.new_version, running, sum(moving(version.migrate) for version in self.running))
            case "changed":
                return f"New entries get version {self.new_version}; {keep}."
            case "stopped":
                return f"With --prune it takes no new enrollments; {keep}." if running else "With --prune it takes no new enrollments."


@dataclass(frozen=True)
class Plan:
    journeys: tuple[JourneyPlan, ...]
    as_of: datetime

    def document(self) -> dict[str, object]:
        return {
            "as_of": self.as_of.isoformat(),
            "journeys": [{**asdict(journey), "outcome": journey.outcome} for journey in self.journeys],
        }


def make_plan(store: Store, folder: Sequence[ir.Journey], now: datetime, migration: Migration | None = None) -> Plan:
    """Compare `folder` (compiled) with what `store` has deployed; `migration`: under `--migrate` for that journey."""
    with store.read() as session:
        deployed = {found.journey_id: found for found in session.deployed_journeys()}
    plans = [_journey_plan(store, journey, deployed.get(journey.id), now, migration) for journey in folder]
    in_folder = {journey.id for journey in folder}
    for journey_id, found in sorted(deployed.items()):
        if journey_id not in in_folder and found.active_version is not None:
            plans.append(_stopped_plan(store, found, now))
    return Plan(tuple(plans), now)


def _journey_plan(
    store: Store, journey: ir.Journey, found: DeployedJourney | None, now: datetime, migration: Migration | None
) -> JourneyPlan:
    if found is None:
        return JourneyPlan(journey.id, journey.name, "new", None, journey.version, (), ())
    before = found.shown.journey
    change: Change = "unchanged" if found.active_version == journey.version else "changed"
    changes = tuple(version_changes(before, journey)) if change == "changed" else ()
    if change == "changed" and not changes and found.active_version is None:
        changes = ("it takes new enrollments again: it had stopped when it left the folder",)
    migrating = migration is not None and migration.journey == journey.id
    running = _running(store, found, journey, now, migration.mapping if migration is not None and migrating else {})
    return JourneyPlan(journey.id, journey.name, change, found.active_version, journey.version, changes, running, migrating)


def _stopped_plan(store: Store, found: DeployedJourney, now: datetime) -> JourneyPlan:
    shown = found.shown.journey
    return JourneyPlan(shown.id, shown.name, "stopped", found.active_version, None, (), _running(store, found, None, now, {}))


def _running(
    store: Store, found: DeployedJourney, new: ir.Journey | None, now: datetime, mapping: dict[str, str]
) -> tuple[RunningVersion, ...]:
    """Every version with enrollments running, newest first, with the steps they wait at."""
    steps_of_new = {step.id for step in new.steps} if new is not None else set()
    versions = []
    for deployed in reversed(found.versions):
        counts = store.journey_counts([deployed.journey], first_day=None, last_day=None, now=now)
        if counts.waiting == 0:
            continue
        waiting = sorted((step for step in counts.steps if step.waiting), key=lambda step: (-step.waiting, step.step))
        at = tuple(WaitingAt(step.step, step.waiting, step.step in steps_of_new) for step in waiting)
        in_cohorts = _cohort_members_waiting(store, deployed.journey) if new is not None else {}
        migrate = migrate_outcomes(deployed.journey, new, [(step.step, step.waiting) for step in at], mapping, in_cohorts)
        versions.append(RunningVersion(deployed.journey.version, counts.waiting, at, migrate))
    return tuple(versions)


def _cohort_members_waiting(store: Store, journey: ir.Journey) -> Counter[str]:
    """Of the version's running enrollments, how many run in a broadcast cohort, by the step they rest at (folded already)."""
    with store.read() as session:
        running = session.running_enrollments(journey.id, [journey.version])
    return Counter(e.step for e in running if e.cohort_id is not None and e.step is not None)


def plan_from_cli(
    settings: StatsSettings,
    data_dir: Path,
    paths: Iterable[Path],
    fmt: Format,
    migration: Migration | None = None,
    backtester: Backtester | None = None,
    window: timedelta = DEFAULT_WINDOW,
) -> str:
    """The plan of deploying `paths` onto the store of `settings`, in `fmt` (`migration`: with `--migrate`); raises
    DeployRefused for a folder with errors, MigrationRefused for a `--migrate` or `--map` that names no journey or step.
    With `backtester`, each changed journey is also backtested against its deployed version over the last `window`."""
    folder, _warnings = compile_for_deploy(paths)
    store = open_store(settings.database_url, data_dir)
    try:
        store.migrate()  # a store older than the journey facts gets them (empty) rather than an error
        if migration is not None:
            check_migration(store, folder, migration)
        plan = make_plan(store, folder, datetime.now(UTC), migration)
        changed = [journey.journey for journey in plan.journeys if journey.change == "changed"]
        backtests = backtest_changes(store, changed, folder, backtester, window, plan.as_of) if backtester is not None else {}
    finally:
        store.dispose()
    if fmt == "json":
        return json.dumps({**plan.document(), **backtests_document(backtests, window)}, indent=2, ensure_ascii=False) + "\n"
    return render_plan(plan, markdown=fmt == "markdown") + render_backtests(backtests, window, markdown=fmt == "markdown")


def render_plan(plan: Plan, *, markdown: bool) -> str:
    """The plan for a terminal, or as Markdown for a pull-request comment."""
    changing = [journey for journey in plan.journeys if journey.change != "unchanged"]
    lines = ["## What this deploy changes" if markdown else "What this deploy changes", ""]
    if not changing:
        lines.append("Nothing: every journey in the folder is deployed as it is.")
    for journey in changing:
        lines += _journey_lines(journey, markdown)
    unchanged = [journey.journey for journey in plan.journeys if journey.change == "unchanged"]
    if unchanged:
        names = ", ".join(f"`{journey}`" if markdown else journey for journey in unchanged)
        if lines[-1]:
            lines.append("")
        lines += [f"Unchanged: {names}.", ""]
    if lines[-1]:
        lines.append("")
    lines.append(f"Counts as of {plan.as_of:%Y-%m-%d %H:%M} UTC, from the store's journey facts.")
    return "\n".join(lines) + "\n"


def _journey_lines(journey: JourneyPlan, markdown: bool) -> list[str]:
    code = (lambda text: f"`{text}`") if markdown else (lambda text: text)
    versions = " -> ".join(code(v) for v in (journey.deployed_version, journey.new_version) if v)
    title = f"{journey.change}: {code(journey.journey)} ({journey.name}) {versions}".rstrip()
    lines = [f"### {title}" if markdown else title]
    bullet = "- " if markdown else "  - "
    lines += [f"{bullet}{change}" for change in journey.changes]
    lines.append(f"{bullet}{journey.outcome}")
    for running in journey.running:
        gone = " (not in the new version)"
        at = ", ".join(
            f"{code(step.step)} {count(step.waiting)}{'' if step.in_new_version or journey.new_version is None else gone}"
            for step in running.waiting
        )
        waiting = f", waiting at {at}" if at else ""
        lines.append(f"{bullet}version {code(running.version)}: {count(running.running)} running{waiting}")
        lines += policy_lines(
            running.migrate,
            version=running.version,
            new_version=journey.new_version,
            running=running.running,
            migrating=journey.migrating,
            journey=journey.journey,
            bullet="  " + bullet,
            code=code,
        )
    lines.append("")
    return lines
