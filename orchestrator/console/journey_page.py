"""/console/journeys/{id}: one journey's report as a page, its graph with counts, and its versions (docs/console.md).

Every number is the stats API's: the page reads `read_journey_stats` for the same journey, range and
version as `GET /v1/journeys/{id}/stats?from=&to=&version=` and shows its `JourneyReport`, formatted
by the report's own formatting rules (orchestrator/analytics/report_format.py, as `journey stats`
writes them). The graph is the version the range is read with (the one asked for, else the active
one, else the newest), with each step's `reached` and `waiting`, a split's arms and holdout on their
arrows (`assigned`) and a branch's ways on its arrows (`ways`).

A broadcast (a journey with a `schedule` trigger in any of its versions) also shows its runs, newest first,
with the numbers of `read_journey_runs` (`GET /v1/journeys/{id}/broadcasts`, `journey broadcast list`): every
run, whatever range the form picks, since a run is watched as a whole. Other journeys show no such section.
The page only watches a run: cancelling one stays `journey broadcast cancel RUN` (or the API), which the
section says.

`/console/journeys/{id}/live` answers the part of the page that moves while you look at it (a broadcast's
runs, the graph and the funnel with their waiting counts); the page asks for it again every LIVE_SECONDS (htmx).

Hooks for the browser tests (`data-testid`): `journey-name`, `range-form`, `total-<name>` for each of
the report's totals, `conversion-rate` (with `data-value`, the rate as the API gives it),
`converted`, `matured`, `maturing`, `journey-graph`, `funnel`, rows `step-<id>` with cells
`reached`, `waiting`, `sent`, `delivered`, `opened`, `clicked`; `split-<step>` tables with rows
`arm-<name>` and `verdict`; `metric-<id>`; `revenue`; `channel-<name>`; `daily`; `versions`; a broadcast's
`broadcast-runs` table (or `broadcast-runs-empty`) with rows `run-<run id>` and cells `started`, `state`,
`pages`, `enrolled`, `sent`, `suppressed` (each reason's count in a `data-reason` span), `failed`,
`remaining`, `to-read`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from orchestrator import ir
from orchestrator.analytics.report import JourneyReport
from orchestrator.compiler.version_diff import version_changes
from orchestrator.console.graph import EdgeKey, GraphCounts, StepCounts, edge_keys, journey_svg
from orchestrator.console.journeys_page import trigger_text, yaml_url
from orchestrator.console.rendering import console_store, render
from orchestrator.console.sparkline import daily_bars_svg
from orchestrator.store import Store
from orchestrator.store.broadcasts import BroadcastProgress, read_journey_runs
from orchestrator.store.journey_stats import StatsRequest, StatsRequestError, UnknownJourney, read_journey_stats
from orchestrator.store.journeys import DeployedJourney

router = APIRouter()
LIVE_SECONDS = 15
"""How often the page asks for its waiting counts again."""


@dataclass(frozen=True)
class Range:
    """The query as the form shows it back: the text typed, so a wrong value is shown with its error."""

    first_day: str
    last_day: str
    version: str


@dataclass(frozen=True)
class VersionRow:
    version: str
    deployed_at: datetime
    active: bool
    changes: tuple[str, ...]
    """What changed from the version before it, in words (orchestrator.compiler.version_diff.py); empty for the first."""


def asked_range(
    first_day: Annotated[str | None, Query(alias="from", description="First UTC day of entry, YYYY-MM-DD.")] = None,
    last_day: Annotated[str | None, Query(alias="to", description="Last UTC day of entry, YYYY-MM-DD, inclusive.")] = None,
    version: Annotated[str | None, Query(description="One version; default every version.")] = None,
) -> Range:
    """The page's query, as the stats API takes it (`?from=&to=&version=`)."""
    return Range(first_day or "", last_day or "", version or "")


Asked = Annotated[Range, Depends(asked_range)]
Console = Annotated[Store, Depends(console_store)]


@router.get("/console/journeys/{journey_id}", response_class=HTMLResponse)
def journey_page(request: Request, journey_id: str, store: Console, asked: Asked) -> HTMLResponse:
    return _answer(request, store, journey_id, asked, "journey.html")


@router.get("/console/journeys/{journey_id}/live", response_class=HTMLResponse)
def journey_live(request: Request, journey_id: str, store: Console, asked: Asked) -> HTMLResponse:
    return _answer(request, store, journey_id, asked, "journey_live.html")


def _answer(request: Request, store: Store, journey_id: str, asked: Range, template: str) -> HTMLResponse:
    with store.read() as session:
        found = session.deployed_journeys(journey_id)
    if not found:
        context = {"journey_id": journey_id, "nav_current": "journeys"}
        return render(request, "journey_unknown.html", context, status=404)
    deployed = found[0]
    try:
        stats = StatsRequest.parse(journey_id, asked.first_day or None, asked.last_day or None, asked.version or None)
        report = read_journey_stats(store, stats, datetime.now(UTC))
        runs: list[BroadcastProgress] | None = read_journey_runs(store, journey_id) if is_broadcast(deployed) else None
    except UnknownJourney:  # undeployed between the reads: as if it never was
        return render(request, "journey_unknown.html", {"journey_id": journey_id, "nav_current": "journeys"}, status=404)
    except StatsRequestError as problem:
        context = {"deployed": deployed, "shown": _shown(deployed, None), "asked": asked, "problem": problem, "nav_current": "journeys"}
        return render(request, "journey_bad_range.html", context, status=422)
    shown = _shown(deployed, stats.version)
    context = {
        "nav_current": "journeys",
        "deployed": deployed,
        "shown": shown,
        "asked": asked,
        "query": request.url.query,
        "report": report,
        "graph": journey_svg(shown, graph_counts(shown, report)),
        "daily_chart": daily_bars_svg([(day.day.isoformat(), day.entered) for day in report.daily], label="entries per day"),
        "versions": version_rows(deployed),
        "broadcast_runs": runs,
        "live_seconds": LIVE_SECONDS,
        "trigger": trigger_text(shown.trigger),
        "yaml_link": yaml_url(getattr(request.state, "repo_url", None), journey_id),
    }
    return render(request, template, context)


def _shown(deployed: DeployedJourney, version: str | None) -> ir.Journey:
    """The version drawn: the one asked for, else the active one, else (deactivated) the newest."""
    wanted = version or deployed.active_version
    return next((v.journey for v in deployed.versions if v.journey.version == wanted), deployed.versions[-1].journey)


def is_broadcast(deployed: DeployedJourney) -> bool:
    """A journey whose runs the page shows: one scheduled in any version, so runs of an earlier version stay in sight."""
    return any(isinstance(version.journey.trigger, ir.ScheduleTrigger) for version in deployed.versions)


def graph_counts(journey: ir.Journey, report: JourneyReport) -> GraphCounts:
    """The report's numbers where the graph draws them: per step, and on the arrows where enrollments divide."""
    steps = {step.step: StepCounts(step.reached, step.waiting) for step in report.steps}
    ways = {step.step: step.ways for step in report.steps}
    assigned = {split.step: {arm.arm: arm.assigned for arm in split.arms} for split in report.splits}
    edges: dict[EdgeKey, int] = {}
    for step in journey.steps:
        keys = edge_keys(step)
        if isinstance(step, ir.SplitStep):
            names = [path.name for path in step.paths] + (["holdout"] if step.holdout_weight > 0 else [])
            for key, name in zip(keys, names, strict=False):
                if name in assigned.get(step.id, {}):
                    edges[key] = assigned[step.id][name]
        elif isinstance(step, ir.BranchStep):
            targets = [key.target for key in keys]
            for key in keys:
                # Ways are counted by the step they lead to: two cases to one step share it, so neither is labelled.
                if targets.count(key.target) == 1 and key.target in ways.get(step.id, {}):
                    edges[key] = ways[step.id][key.target]
    return GraphCounts(steps, edges)


def version_rows(deployed: DeployedJourney) -> list[VersionRow]:
    """Every version, newest first, with what changed from the one before it."""
    rows = []
    previous: ir.Journey | None = None
    for version in deployed.versions:
        changes = tuple(version_changes(previous, version.journey)) if previous is not None else ()
        rows.append(VersionRow(version.journey.version, version.deployed_at, version.journey.version == deployed.active_version, changes))
        previous = version.journey
    return list(reversed(rows))
