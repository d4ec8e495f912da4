"""`journey backtest`: what a journey file would have done over the recorded history, offline, sending nothing.

It reads the store as `journey stats` does (DATABASE_URL, or the store of `journey dev` under --data-dir),
replays the journey over every customer's calls and profile in the window (orchestrator/simulation/backtest.py),
and prints the report (docs/backtest.md). With `--compare`, a second journey (a file, or `deployed`: the
version the store has active under the same id) is replayed over the same history and shown beside it.
"""

from __future__ import annotations

import json
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from orchestrator.cli_support import EXIT_INVALID, compiled_or_exit, data_dir_option, environment_checked

if TYPE_CHECKING:
    from orchestrator import ir
    from orchestrator.store import Store

DEPLOYED = "deployed"


@click.command()
@click.argument("journey_file", type=click.Path(path_type=Path))
@click.option("--from", "first", metavar="DATE", help="A UTC day (2026-03-01) or an instant with offset. Default: 30 days before --to.")
@click.option("--to", "last", metavar="DATE", help="A UTC day (included) or an instant with offset. Default: now.")
@click.option("--compare", "other", metavar="OTHER.yaml|deployed", help="Backtest this too over the same history, side by side.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option(
    "--sample",
    "samples",
    default=0,
    show_default=True,
    type=click.IntRange(0, 50),
    help="Show this many customers' timelines (personal data: ids, addresses, messages).",
)
@data_dir_option
def backtest(journey_file: Path, first: str | None, last: str | None, other: str | None, fmt: str, samples: int, data_dir: Path) -> None:
    """Replay JOURNEY_FILE over the recorded events and profiles from --from to --to, offline, sending nothing: who would have
    entered (and who was refused, by which rule), each step's reach, the messages per step and channel with those held or
    suppressed by the delivery gate, and the goal's conversions."""
    from orchestrator.analytics.backtest_report import BacktestComparison
    from orchestrator.analytics.backtest_views import backtest_markdown, backtest_text, comparison_markdown, comparison_text
    from orchestrator.host.settings import BacktestSettings, open_store
    from orchestrator.simulation.backtest import BacktestOptions
    from orchestrator.simulation.backtest_history import parse_window
    from orchestrator.simulation.backtest_run import backtest as run_backtest

    try:
        window = parse_window(first, last, datetime.now(UTC))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    journey = compiled_or_exit(journey_file).journey
    assert journey is not None
    compared = compiled_or_exit(Path(other)).journey if other not in (None, DEPLOYED) else None
    with environment_checked():
        settings = BacktestSettings.read()
        store = open_store(settings.database_url, data_dir)
    try:
        store.migrate()  # a store older than the profile history gets it (empty) rather than an error
        if other == DEPLOYED:
            compared = _deployed(store, journey.id)
        journeys = [journey] if compared is None else [journey, compared]
        reports = run_backtest(store, journeys, window, BacktestOptions(settings.policy), samples=samples)
    finally:
        store.dispose()
    if compared is None:
        [report] = reports
        if fmt == "json":
            click.echo(json.dumps(report.document(), indent=2, ensure_ascii=False))
        elif fmt == "markdown":
            click.echo(backtest_markdown(report), nl=False)
        else:
            click.echo(backtest_text(report, shutil.get_terminal_size().columns), nl=False)
        return
    label = DEPLOYED if other == DEPLOYED else Path(str(other)).name
    comparison = BacktestComparison(reports[0], reports[1], journey_file.name, label)
    if fmt == "json":
        click.echo(json.dumps(comparison.document(), indent=2, ensure_ascii=False))
    else:
        click.echo(comparison_markdown(comparison) if fmt == "markdown" else comparison_text(comparison), nl=False)


def _deployed(store: Store, journey_id: str) -> ir.Journey:
    """The version the store has active under `journey_id` (the newest, once stopped); exit 1 if it was never deployed."""
    with store.read() as session:
        found = session.deployed_journeys(journey_id)
    if not found:
        click.echo(f"journey {journey_id!r} has never been deployed to this store: nothing to compare with", err=True)
        sys.exit(EXIT_INVALID)
    return found[0].shown.journey
