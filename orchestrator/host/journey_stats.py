"""`journey stats`: a journey's report, or the list of journeys, from the store, as text, JSON or Markdown.

It reads the store directly, as `journey customers export` does: no running API, no key, only the
DATABASE_URL the other processes have (or the store of `journey dev` under --data-dir). The request
is checked and the report built by the code the API uses (orchestrator/store/journey_stats.py), so
`--format json` prints exactly what `GET /v1/journeys/{id}/stats` answers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from orchestrator.analytics.report_format import count
from orchestrator.analytics.report_markdown import render_markdown
from orchestrator.analytics.report_markdown import table as markdown_table
from orchestrator.analytics.report_text import render_text
from orchestrator.analytics.report_text import table as text_table
from orchestrator.host.broadcasts import runs_table
from orchestrator.host.settings import StatsSettings, open_store
from orchestrator.store.broadcasts import read_journey_runs
from orchestrator.store.journey_stats import JourneySummary, StatsRequest, read_journey_list, read_journey_stats

Format = Literal["text", "json", "markdown"]


def stats_from_cli(settings: StatsSettings, data_dir: Path, request: StatsRequest | None, fmt: Format, width: int) -> str:
    """The report of `request` (None: the list of journeys) in `fmt`; raises UnknownJourney or StatsRequestError."""
    store = open_store(settings.database_url, data_dir)
    try:
        store.migrate()  # a store older than the journey facts gets them (empty) rather than an error
        now = datetime.now(UTC)
        if request is None:
            return render_list(read_journey_list(store, now), fmt)
        report = read_journey_stats(store, request, now)
        runs = read_journey_runs(store, request.journey_id) if fmt != "json" else []
    finally:
        store.dispose()
    if fmt == "json":
        return json.dumps(report.document(), indent=2, ensure_ascii=False) + "\n"
    rendered = render_markdown(report) if fmt == "markdown" else render_text(report, width)
    if not runs:
        return rendered
    # A scheduled journey's runs (`journey broadcast list` prints the same table; the JSON stays the API's report).
    title = ["", "## Broadcast runs", ""] if fmt == "markdown" else ["", "Broadcast runs"]
    return rendered + "\n".join([*title, *runs_table(runs, markdown=fmt == "markdown")]) + "\n"


def render_list(summaries: Sequence[JourneySummary], fmt: Format) -> str:
    """Every journey in one table; JSON as `GET /v1/journeys` answers it."""
    if fmt == "json":
        return json.dumps({"journeys": [summary.document() for summary in summaries]}, indent=2, ensure_ascii=False) + "\n"
    if not summaries:
        return "No journey has been deployed (`journey deploy` one first).\n"
    headers = ["journey", "name", "active version", "deployed", "versions", "entered", "converted", "waiting"]
    rows = [
        [
            summary.journey_id,
            summary.name,
            summary.active_version or "(deactivated)",
            f"{summary.deployed_at:%Y-%m-%d %H:%M}",
            count(summary.versions),
            count(summary.entered),
            count(summary.converted),
            count(summary.waiting),
        ]
        for summary in summaries
    ]
    if fmt == "markdown":
        return "\n".join(markdown_table(headers, [[f"`{row[0]}`", *row[1:]] for row in rows])) + "\n"
    return "\n".join(text_table(headers, rows, indent="")) + "\n"
