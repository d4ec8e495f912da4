"""`journey broadcast status|list|cancel`: a broadcast's runs and their progress from the store, and cancelling one.

Status and list read the store directly, as `journey stats` does (DATABASE_URL, or the store of `journey dev`
under --data-dir); `--format json` prints what `GET /v1/broadcasts/{run_id}` and `GET /v1/journeys/{id}/broadcasts`
answer. Cancel also needs the Temporal of the environment: it signals the run and its cohorts through the code the
API uses (orchestrator/routing/broadcast_cancel.py). `journey stats JOURNEY` shows a scheduled journey's runs
below its report with `runs_table`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from orchestrator.analytics.report_format import count
from orchestrator.analytics.report_markdown import table as markdown_table
from orchestrator.analytics.report_text import table as text_table
from orchestrator.host.settings import CustomerSettings, StatsSettings, open_store
from orchestrator.routing.broadcast_cancel import cancel_run
from orchestrator.routing.gateway import LoopGateway
from orchestrator.store.broadcasts import BroadcastProgress, read_journey_runs, read_progress

Format = Literal["text", "json", "markdown"]


def status_from_cli(settings: StatsSettings, data_dir: Path, run_id: str, fmt: Format) -> str:
    """The run's progress in `fmt`; raises UnknownBroadcast."""
    store = open_store(settings.database_url, data_dir)
    try:
        store.migrate()
        progress = read_progress(store, run_id)
    finally:
        store.dispose()
    if fmt == "json":
        return json.dumps(progress.document(), indent=2, ensure_ascii=False) + "\n"
    return "\n".join(progress_lines(progress)) + "\n"


def list_from_cli(settings: StatsSettings, data_dir: Path, journey_id: str, fmt: Format) -> str:
    """The journey's runs, newest first, in `fmt`; raises UnknownJourney."""
    store = open_store(settings.database_url, data_dir)
    try:
        store.migrate()
        runs = read_journey_runs(store, journey_id)
    finally:
        store.dispose()
    if fmt == "json":
        return json.dumps({"journey": journey_id, "broadcasts": [run.document() for run in runs]}, indent=2, ensure_ascii=False) + "\n"
    if not runs:
        return f"{journey_id} has not been broadcast yet.\n"
    return "\n".join(runs_table(runs, markdown=fmt == "markdown")) + "\n"


async def cancel_from_cli(settings: CustomerSettings, data_dir: Path, run_id: str) -> str:
    """Cancel the run through the Temporal of the environment; its progress after. Raises UnknownBroadcast, TemporalUnavailable."""
    store = open_store(settings.database_url, data_dir, settings.hash_secret)
    try:
        await asyncio.to_thread(store.migrate)
        client = await settings.temporal.connect()
        temporal, loop = settings.temporal, asyncio.get_running_loop()
        gateway = LoopGateway(client, loop, task_queue=temporal.task_queue, search_attributes=temporal.search_attributes)
        stopped = await asyncio.to_thread(cancel_run, store, gateway, run_id, datetime.now(UTC))
        progress = await asyncio.to_thread(read_progress, store, run_id)
    finally:
        store.dispose()
    return "\n".join([*progress_lines(progress), f"cancelled  {count(stopped)} cohort(s) still running were told to stop"]) + "\n"


def progress_lines(progress: BroadcastProgress) -> list[str]:
    """One run's progress for a terminal."""
    run = progress.run
    suppressed = sum(progress.suppressed.values())
    reasons = ", ".join(f"{reason} {count(n)}" for reason, n in sorted(progress.suppressed.items()))
    why = f" ({reasons})" if reasons else ""
    lines = [
        f"broadcast  {run.run_key} ({run.journey_id} {run.version}): {progress.state}",
        f"started    {run.started_at:%Y-%m-%d %H:%M} UTC, {count(run.profiles_at_start)} profiles; {count(run.pages)} page(s) read,"
        f" {count(progress.profiles_to_read)} profile(s) still to read",
        f"enrolled   {count(progress.enrolled)} in {count(progress.cohorts)} cohort(s); {count(progress.remaining)} still running",
        f"messages   {count(progress.sent)} sent, {count(suppressed)} suppressed{why}, {count(progress.failed)} failed",
    ]
    if run.cancelled_at is not None:
        lines.append(f"cancelled  {run.cancelled_at:%Y-%m-%d %H:%M:%S} UTC")
    return lines


def runs_table(runs: Sequence[BroadcastProgress], *, markdown: bool) -> list[str]:
    """A journey's runs in one table, newest first."""
    headers = ["run", "started", "state", "enrolled", "sent", "suppressed", "failed", "remaining"]
    rows = [
        [
            f"`{p.run.run_key}`" if markdown else p.run.run_key,
            f"{p.run.started_at:%Y-%m-%d %H:%M}",
            p.state,
            count(p.enrolled),
            count(p.sent),
            count(sum(p.suppressed.values())),
            count(p.failed),
            count(p.remaining),
        ]
        for p in runs
    ]
    return markdown_table(headers, rows) if markdown else text_table(headers, rows, indent="")
