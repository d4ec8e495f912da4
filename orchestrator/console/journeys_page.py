"""/console: every deployed journey in one sortable table, with its counts (docs/console.md, "Journeys").

Where each number comes from (no count is made here from rows):

- name, active version, deploy time, waiting now: `read_journey_list` (what GET /v1/journeys lists);
- conversion rate, converted and matured: `read_journey_stats` over all time (GET /v1/journeys/{id}/stats);
- entered in the last 7 UTC days: `read_journey_stats` from 6 days ago to today (`?from=...&to=...`);
- entered today and the chart: the daily series of the all-time report, its `entered` per UTC day over
  the last 30 days (a day the series does not list had no entries).

The trigger is read from the shown version's compiled journey (the active one; the newest once deactivated).

Hooks for the browser tests (`data-testid`): `journeys-table`, `journeys-empty`, and on each row
(`data-journey="<id>"`) `journey-link`, `trigger`, `version`, `deployed-at`, `entered-today`,
`entered-7d`, `conversion-rate`, `converted`, `matured`, `waiting`, `yaml-link`, `daily-entries`
(the chart's figure: the bars, and a hidden table that lists each day's entries); sort links are `sort-<column>`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, assert_never

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from orchestrator import ir
from orchestrator.console.rendering import console_store, render
from orchestrator.console.sparkline import daily_bars_svg
from orchestrator.store import Store
from orchestrator.store.journey_stats import StatsRequest, read_journey_list, read_journey_stats

router = APIRouter()
CHART_DAYS = 30
WEEK_DAYS = 7


@dataclass(frozen=True)
class JourneyRow:
    """One journey as the table shows it."""

    journey_id: str
    name: str
    trigger: str
    active_version: str | None
    deployed_at: datetime
    entered_today: int
    entered_7d: int
    conversion_rate: float | None
    converted: int
    matured: int
    waiting: int
    daily_entries: tuple[tuple[date, int], ...]
    """The last CHART_DAYS UTC days, oldest first, with their entries."""
    yaml_url: str | None

    @property
    def daily_chart(self) -> str:
        """The daily entries as a small bar chart (SVG, escaped: safe in the page as is)."""
        return daily_bars_svg([(day.isoformat(), entered) for day, entered in self.daily_entries], label="entries per day")


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    order: Callable[[JourneyRow], Any]
    numeric: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("name", "Journey", lambda row: (row.name.lower(), row.journey_id)),
    Column("trigger", "Trigger", lambda row: row.trigger.lower()),
    Column("version", "Active version", lambda row: (row.active_version is None, row.active_version or "")),
    Column("deployed_at", "Deployed", lambda row: row.deployed_at),
    Column("entered_today", "Entered today", lambda row: row.entered_today, numeric=True),
    Column("entered_7d", "Entered, 7 days", lambda row: row.entered_7d, numeric=True),
    # A journey with nothing matured has no rate: it sorts as lower than every rate.
    Column("conversion", "Conversion", lambda row: (row.conversion_rate is not None, row.conversion_rate or 0.0), numeric=True),
    Column("waiting", "Waiting now", lambda row: row.waiting, numeric=True),
)
BY_KEY = {column.key: column for column in COLUMNS}


def journey_rows(store: Store, now: datetime, repo_url: str | None) -> list[JourneyRow]:
    """Every journey ever deployed, by id, with the counts of the module docstring."""
    today = now.astimezone(UTC).date()
    with store.read() as session:
        deployed = {journey.journey_id: journey for journey in session.deployed_journeys()}
    rows = []
    for summary in read_journey_list(store, now):
        all_time = read_journey_stats(store, StatsRequest(summary.journey_id), now)
        week = read_journey_stats(store, StatsRequest(summary.journey_id, today - timedelta(days=WEEK_DAYS - 1), today), now)
        entries = {day.day: day.entered for day in all_time.daily}
        chart = tuple((day, entries.get(day, 0)) for day in (today - timedelta(days=n) for n in reversed(range(CHART_DAYS))))
        rows.append(
            JourneyRow(
                journey_id=summary.journey_id,
                name=summary.name,
                trigger=trigger_text(deployed[summary.journey_id].shown.journey.trigger),
                active_version=summary.active_version,
                deployed_at=summary.deployed_at,
                entered_today=entries.get(today, 0),
                entered_7d=week.totals.entered,
                conversion_rate=all_time.conversion.rate,
                converted=all_time.conversion.converted,
                matured=all_time.conversion.matured,
                waiting=summary.waiting,
                daily_entries=chart,
                yaml_url=yaml_url(repo_url, summary.journey_id),
            )
        )
    return rows


def trigger_text(trigger: ir.Trigger) -> str:
    """What starts the journey, in words: `event checkout_started`, `segment customer.vip`, `schedule 0 9 * * MON (UTC)`."""
    match trigger:
        case ir.EventTrigger(event=event):
            return f"event {event}"
        case ir.SegmentTrigger(condition=condition):
            return f"segment {condition}"
        case ir.ScheduleTrigger(cron=cron, at=at, timezone=timezone):
            return f"schedule {cron} ({timezone})" if cron is not None else f"once at {at}"
        case _:
            assert_never(trigger)


def yaml_url(repo_url: str | None, journey_id: str) -> str | None:
    """`{repo_url}/{journey_id}.yaml`: JOURNEY_REPO_URL is the journeys folder as the host shows its files (docs/console.md)."""
    return f"{repo_url.rstrip('/')}/{journey_id}.yaml" if repo_url else None


def sorted_rows(rows: list[JourneyRow], sort: str | None, order: str | None) -> tuple[list[JourneyRow], str, str]:
    """The rows by `sort` (a column key; else by name) in `order` (`asc` or `desc`; else asc), and the key and order used."""
    column = BY_KEY.get(sort or "", BY_KEY["name"])
    direction = "desc" if order == "desc" else "asc"
    ordered = sorted(rows, key=lambda row: (column.order(row), row.journey_id), reverse=direction == "desc")
    return ordered, column.key, direction


@router.get("/console", response_class=HTMLResponse)
def journeys(
    request: Request, store: Annotated[Store, Depends(console_store)], sort: str | None = None, order: str | None = None
) -> HTMLResponse:
    now = datetime.now(UTC)
    rows, sort_key, direction = sorted_rows(journey_rows(store, now, getattr(request.state, "repo_url", None)), sort, order)
    context = {
        "nav_current": "journeys",
        "rows": rows,
        "columns": COLUMNS,
        "sort": sort_key,
        "order": direction,
        "as_of": now,
        "chart_days": CHART_DAYS,
    }
    return render(request, "journeys.html", context)
