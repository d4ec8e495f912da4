"""The `journey` command line.

Exit codes: 0 success, 1 the journeys have errors, 2 the command was used wrongly
(missing path, bad option, an environment variable it cannot use). Diagnostics go
to stdout so CI can capture them; summaries and hints go to stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

from orchestrator import __version__
from orchestrator.cli_backtest import backtest
from orchestrator.cli_broadcast import broadcast
from orchestrator.cli_customers import customers
from orchestrator.cli_send import send
from orchestrator.cli_support import EXIT_INVALID, compiled_or_exit, data_dir_option, environment_checked, exit_after_temporal
from orchestrator.compiler import (
    Severity,
    UsageError,
    compile_paths,
    format_diagnostics,
    has_errors,
)
from orchestrator.compiler.diagram import to_dot, to_mermaid

if TYPE_CHECKING:
    from orchestrator.host.migration import Migration


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="journey")
def main() -> None:
    """Journey Orchestrator: validate, draw and run customer journeys written in YAML."""


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="text for people, json for tools, github for GitHub Actions annotations.",
)
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
def validate(paths: tuple[Path, ...], fmt: str, strict: bool) -> None:
    """Check journey files and folders (tests/ and templates/ folders are skipped)."""
    try:
        project = compile_paths(paths)
    except UsageError as exc:
        raise click.UsageError(str(exc)) from exc
    if not project.results:
        raise click.UsageError(f"no journey files (.yaml, .yml) in {', '.join(map(str, paths))}")
    diagnostics = list(project.diagnostics)
    output = format_diagnostics(diagnostics, fmt)
    if output or fmt == "json":
        click.echo(output)
    failed = has_errors(diagnostics) or (strict and bool(diagnostics))
    if fmt == "text":
        errors = sum(d.severity is Severity.ERROR for d in diagnostics)
        warnings = len(diagnostics) - errors
        bad_files = len({d.file for d in diagnostics if d.severity is Severity.ERROR})
        summary = f"{len(project.results)} journey file(s) checked: {errors} error(s), {warnings} warning(s)"
        if bad_files:
            summary += f" in {bad_files} file(s)"
        click.echo(summary, err=True)
    sys.exit(EXIT_INVALID if failed else 0)


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
def compile(file: Path) -> None:
    """Print the compiled journey graph (IR) of FILE as JSON."""
    result = compiled_or_exit(file)
    assert result.journey is not None
    click.echo(result.journey.to_json(indent=2))


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid", show_default=True)
def graph(file: Path, fmt: str) -> None:
    """Draw FILE as a Mermaid flowchart (paste it into a pull request) or Graphviz DOT."""
    result = compiled_or_exit(file)
    assert result.journey is not None
    click.echo(to_mermaid(result.journey) if fmt == "mermaid" else to_dot(result.journey), nl=False)


@main.command()
@click.argument("journey_file", type=click.Path(path_type=Path))
@click.option(
    "--customer", "customer_file", required=True, type=click.Path(path_type=Path),
    help="JSON profile: id (or an anonymous visitor's anonymous_id) plus traits.",
)
@click.option(
    "--events", "events_file", type=click.Path(path_type=Path),
    help="YAML list of {at, event, properties}; event `identify` sets traits, and with `user_id` logs the visitor in.",
)
@click.option("--start", default=None, help="Start instant, ISO 8601 with offset. Default: now.")
@click.option("--until", "until", default="90d", show_default=True, help="How long after the last event to keep running.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def simulate(journey_file: Path, customer_file: Path, events_file: Path | None, start: str | None, until: str, fmt: str) -> None:
    """Run JOURNEY_FILE for one customer on the time-skipping server and print the timeline."""
    import asyncio
    import json
    from datetime import UTC, datetime, timedelta

    from orchestrator.host.settings import SimulationSettings
    from orchestrator.simulation.journey_tests import offset_seconds, parse_instant
    from orchestrator.simulation.script_files import read_script
    from orchestrator.simulation.simulator import Simulator
    from orchestrator.store import ProfileFieldError

    with environment_checked():
        settings = SimulationSettings.read()
    result = compiled_or_exit(journey_file)
    assert result.journey is not None
    try:
        customer, events = read_script(customer_file, events_file)
        begin = parse_instant(start) if start else datetime.now(UTC).replace(microsecond=0)
        horizon = timedelta(seconds=offset_seconds(until))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise click.UsageError(str(exc)) from exc

    async def run() -> Any:
        async with Simulator.start(settings) as simulator:
            return await simulator.run(result.journey, customer, events, begin, horizon)

    try:
        timeline = asyncio.run(run())
    except ProfileFieldError as exc:  # from the customer file or an identify event
        raise click.UsageError(f"the profile refuses a trait: {exc}") from exc
    click.echo(json.dumps(timeline.to_dict(), indent=2) if fmt == "json" else timeline.text())
    exit_after_temporal(0)


@main.command(name="test")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def test_command(paths: tuple[Path, ...]) -> None:
    """Run journey test cases (default: journeys/tests/) and report failures with a diff."""
    import asyncio

    from orchestrator.host.settings import SimulationSettings
    from orchestrator.simulation.journey_tests import TestFileError, run_test_file, test_files
    from orchestrator.simulation.simulator import Simulator

    with environment_checked():
        settings = SimulationSettings.read()
    files = test_files(list(paths) or [Path("journeys")])
    missing = [p for p in files if not p.exists()]
    if missing or not files:
        raise click.UsageError(f"no test files: {', '.join(map(str, missing or paths or ('journeys/tests',)))}")

    async def run() -> tuple[int, int]:
        passed = failed = 0
        async with Simulator.start(settings) as simulator:
            for path in files:
                try:
                    results = await run_test_file(simulator, path)
                except TestFileError as exc:
                    click.echo(format_diagnostics(exc.diagnostics, "text"))
                    failed += 1
                    continue
                for case in results:
                    if case.passed:
                        passed += 1
                        click.echo(f"PASS {case.file}: {case.name}")
                        continue
                    failed += 1
                    click.echo(f"FAIL {case.file}: {case.name}")
                    for failure in case.failures:
                        first, *rest = failure.splitlines()
                        click.echo(f"  - {first}")
                        click.echo("".join(f"      {line}\n" for line in rest), nl=False)
                    if case.timeline is not None:
                        click.echo("  what happened:")
                        click.echo("\n".join(f"    {line}" for line in case.timeline.text().splitlines()))
        return passed, failed

    passed, failed = asyncio.run(run())
    click.echo(f"{passed} passed, {failed} failed")
    exit_after_temporal(EXIT_INVALID if failed else 0)


def _refused(exc: Exception, outcome: str = "nothing deployed") -> None:
    """Print why a deploy (or its plan) was refused (every diagnostic) and exit 1."""
    from orchestrator.host.deployment import DeployRefused

    assert isinstance(exc, DeployRefused)
    click.echo(format_diagnostics(exc.diagnostics, "text"))
    click.echo(f"{outcome}: fix the errors above", err=True)
    sys.exit(EXIT_INVALID)


@main.command()
@click.argument("folder", default="journeys", type=click.Path(path_type=Path, exists=True))
@click.option("--data-dir", default=".journey", show_default=True, type=click.Path(path_type=Path), help="Where all state is kept.")
@click.option("--port", "api_port", default=8080, show_default=True, help="API port (on 127.0.0.1).")
@click.option("--temporal-port", default=7233, show_default=True, help="Temporal frontend port; the UI listens on this plus 1000.")
@click.option("--headless", is_flag=True, help="No Temporal web UI.")
def dev(folder: Path, data_dir: Path, api_port: int, temporal_port: int, headless: bool) -> None:
    """Run the whole stack locally: Temporal dev server, worker, API; deploy every journey in FOLDER."""
    import asyncio
    import logging

    from activities.providers import ProviderSettingsError
    from orchestrator.host.deployment import DeployRefused
    from orchestrator.host.devserver import DevServerError
    from orchestrator.host.devstack import DevOptions, DevStackInfo, run_dev
    from orchestrator.host.logs import configure_logging
    from orchestrator.host.settings import DevSettings

    def announce(info: DevStackInfo) -> None:
        click.echo("\n".join(info.lines()))

    options = DevOptions(
        [folder], data_dir, api_port=api_port, temporal_port=temporal_port, ui_port=None if headless else temporal_port + 1000
    )
    try:
        with environment_checked():
            settings = DevSettings.read(api_url=f"http://{options.host}:{options.api_port}")
            configure_logging(settings.log_format, logging.WARNING)  # the stack's own lines are its announcements
            asyncio.run(run_dev(options, settings, announce, click.echo))
    except DeployRefused as exc:
        _refused(exc)
    except (DevServerError, ProviderSettingsError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("stopped")


create_search_attributes_option = click.option(
    "--create-search-attributes",
    is_flag=True,
    help="Register the enrollments' search attributes in the namespace if they are missing, instead of refusing to start.",
)


@main.command()
@click.option("--task-queue", default=None, help="Default: TEMPORAL_TASK_QUEUE or `journeys`.")
@create_search_attributes_option
def worker(task_queue: str | None, create_search_attributes: bool) -> None:
    """Run a worker against the Temporal cluster and database of the environment (TEMPORAL_ADDRESS, DATABASE_URL...)."""
    import asyncio

    from activities.providers import ProviderSettingsError
    from orchestrator.host.devstack import run_worker
    from orchestrator.host.logs import configure_logging
    from orchestrator.host.settings import WorkerSettings

    try:
        with environment_checked():
            settings = WorkerSettings.read()
            configure_logging(settings.log_format)
            asyncio.run(run_worker(settings, task_queue, create_search_attributes=create_search_attributes))
    except KeyboardInterrupt:  # Ctrl-C before the worker was up (still waiting for Temporal)
        pass
    except ProviderSettingsError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("stopped", err=True)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@click.option("--prune", is_flag=True, help="Stop journeys that are active but not in PATHS (deploying a whole folder).")
@click.option(
    "--migrate",
    "migrate_journey",
    default=None,
    metavar="JOURNEY_ID",
    help="Then move JOURNEY_ID's enrollments waiting at a step the new version keeps onto it, deadlines kept (docs/deploy.md).",
)
@click.option("--map", "mapping", multiple=True, metavar="OLD=NEW", help="With --migrate: those waiting at step OLD move to step NEW.")
@create_search_attributes_option
def deploy(
    paths: tuple[Path, ...], prune: bool, migrate_journey: str | None, mapping: tuple[str, ...], create_search_attributes: bool
) -> None:
    """Compile PATHS and make them the active journey versions (all or nothing). Running enrollments keep their version,
    unless --migrate moves those of one journey that wait at a step the new version keeps."""
    import asyncio

    from orchestrator.host.deployment import DeployRefused
    from orchestrator.host.devstack import run_deploy
    from orchestrator.host.migration import MigrationRefused
    from orchestrator.host.settings import DeploySettings

    migration = _migration(migrate_journey, mapping)
    try:
        with environment_checked():
            settings = DeploySettings.read()
            report = asyncio.run(
                run_deploy(paths, settings, prune=prune, migration=migration, create_search_attributes=create_search_attributes)
            )
    except DeployRefused as exc:
        _refused(exc)
        return
    except MigrationRefused as exc:
        click.echo(str(exc), err=True)
        click.echo("nothing deployed: fix --migrate or --map", err=True)
        sys.exit(EXIT_INVALID)
    if report.warnings:
        click.echo(format_diagnostics(report.warnings, "text"))
    click.echo("\n".join(report.lines()))


def _migration(journey: str | None, mapping: tuple[str, ...]) -> Migration | None:
    """`--migrate JOURNEY_ID` and its `--map OLD=NEW` options (deploy and plan), or a usage error."""
    from orchestrator.host.migration import Migration
    from orchestrator.runtime.migration import parse_mapping

    if mapping and journey is None:
        raise click.UsageError("--map goes with --migrate JOURNEY_ID")
    try:
        return Migration(journey, parse_mapping(mapping)) if journey is not None else None
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on (0.0.0.0: all).")
@click.option("--port", default=8080, show_default=True, type=int)
@create_search_attributes_option
def api(host: str, port: int, create_search_attributes: bool) -> None:
    """Serve the event-ingestion HTTP API (docs/api.md).

    Database from DATABASE_URL (migrated on start), Temporal from TEMPORAL_*, API keys from
    JOURNEY_API_KEYS (comma-separated; required).
    """
    from orchestrator.host.devstack import run_api
    from orchestrator.host.logs import configure_logging
    from orchestrator.host.settings import ApiServerSettings

    with environment_checked():
        settings = ApiServerSettings.read()
        configure_logging(settings.log_format)
        run_api(settings, host, port, create_search_attributes=create_search_attributes)


@main.command()
@data_dir_option
def prune(data_dir: Path) -> None:
    """Delete events, message contents and ended enrollments older than JOURNEY_RETENTION_* (docs/privacy.md), keeping daily counts."""
    from orchestrator.host.retention import prune_from_cli
    from orchestrator.host.settings import PruneSettings

    with environment_checked():
        pruned = prune_from_cli(PruneSettings.read(), data_dir)
    click.echo(", ".join(f"{count} {kind}" for kind, count in pruned.items()) + " pruned")


@main.command()
@click.argument("journey_id", required=False)
@click.option("--from", "first_day", default=None, metavar="YYYY-MM-DD", help="First UTC day of entry. Default: the first.")
@click.option("--to", "last_day", default=None, metavar="YYYY-MM-DD", help="Last UTC day of entry, inclusive. Default: today.")
@click.option("--version", default=None, help="One version. Default: every version deployed.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@data_dir_option
def stats(journey_id: str | None, first_day: str | None, last_day: str | None, version: str | None, fmt: str, data_dir: Path) -> None:
    """How JOURNEY_ID performs (docs/analytics.md): funnel, delivery, splits and their verdict, metrics. Without it, every journey."""
    import shutil

    from orchestrator.host.journey_stats import Format, stats_from_cli
    from orchestrator.host.settings import StatsSettings
    from orchestrator.store.journey_stats import StatsRequest, StatsRequestError, UnknownJourney

    try:
        request = StatsRequest.parse(journey_id, first_day, last_day, version) if journey_id else None
        with environment_checked():
            printed = stats_from_cli(StatsSettings.read(), data_dir, request, cast("Format", fmt), shutil.get_terminal_size().columns)
    except (UnknownJourney, StatsRequestError) as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_INVALID)
    click.echo(printed, nl=False)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("--migrate", "migrate_journey", default=None, metavar="JOURNEY_ID", help="Plan `journey deploy --migrate JOURNEY_ID`.")
@click.option("--map", "mapping", multiple=True, metavar="OLD=NEW", help="With --migrate: those waiting at step OLD move to step NEW.")
@click.option("--window", default="30d", show_default=True, help="Backtest each changed journey over this much history; none: no backtest.")
@data_dir_option
def plan(paths: tuple[Path, ...], fmt: str, migrate_journey: str | None, mapping: tuple[str, ...], window: str, data_dir: Path) -> None:
    """What deploying PATHS would change: each journey new, changed (in words), unchanged or stopped, and the customers
    waiting in its running versions, step by step, and what becomes of them (--migrate: who moves, who stays and why),
    and each change backtested against the deployed version over the last --window (docs/backtest.md).
    Reads the store only (DATABASE_URL); deploys nothing."""
    from datetime import timedelta

    from orchestrator.host.deployment import DeployRefused
    from orchestrator.host.migration import MigrationRefused
    from orchestrator.host.plan import Format, plan_from_cli
    from orchestrator.host.settings import BacktestSettings, StatsSettings
    from orchestrator.language.timeparse import parse_duration
    from orchestrator.simulation.backtest_run import backtester

    migration = _migration(migrate_journey, mapping)
    try:
        history = timedelta(seconds=0 if window.strip() in ("0", "none") else parse_duration(window))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--window") from exc
    try:
        with environment_checked():
            settings = BacktestSettings.read()
            replay = backtester(settings.policy) if history else None
            printed = plan_from_cli(StatsSettings(settings.database_url), data_dir, paths, cast("Format", fmt), migration, replay, history)
    except DeployRefused as exc:
        _refused(exc, "no plan")
        return
    except MigrationRefused as exc:
        click.echo(str(exc), err=True)
        click.echo("no plan: fix --migrate or --map", err=True)
        sys.exit(EXIT_INVALID)
    click.echo(printed, nl=False)


main.add_command(customers)
main.add_command(send)
main.add_command(backtest)
main.add_command(broadcast)
