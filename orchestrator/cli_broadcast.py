"""`journey broadcast`: a scheduled journey's runs, how far each has got, and cancelling one (docs/deploy.md, "Broadcasts")."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import cast

import click

from orchestrator.cli_support import EXIT_INVALID, data_dir_option, environment_checked, exit_after_temporal

_FORMAT = click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)


@click.group()
def broadcast() -> None:
    """A broadcast's runs (each firing of a scheduled journey): their progress, and cancelling one."""


@broadcast.command(name="status")
@click.argument("run_id")
@_FORMAT
@data_dir_option
def broadcast_status(run_id: str, fmt: str, data_dir: Path) -> None:
    """How far RUN_ID has got: enrolled, sent, suppressed by reason, failed, still running, profiles still to read."""
    from orchestrator.host.broadcasts import Format, status_from_cli
    from orchestrator.host.settings import StatsSettings
    from orchestrator.store.broadcasts import UnknownBroadcast

    try:
        with environment_checked():
            printed = status_from_cli(StatsSettings.read(), data_dir, run_id, cast("Format", fmt))
    except UnknownBroadcast as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_INVALID)
    click.echo(printed, nl=False)


@broadcast.command(name="list")
@click.argument("journey_id")
@_FORMAT
@data_dir_option
def broadcast_list(journey_id: str, fmt: str, data_dir: Path) -> None:
    """JOURNEY_ID's runs, newest first, with their progress."""
    from orchestrator.host.broadcasts import Format, list_from_cli
    from orchestrator.host.settings import StatsSettings
    from orchestrator.store.journey_stats import UnknownJourney

    try:
        with environment_checked():
            printed = list_from_cli(StatsSettings.read(), data_dir, journey_id, cast("Format", fmt))
    except UnknownJourney as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_INVALID)
    click.echo(printed, nl=False)


@broadcast.command(name="cancel")
@click.argument("run_id")
@data_dir_option
def broadcast_cancel(run_id: str, data_dir: Path) -> None:
    """Stop RUN_ID: no further page is enrolled and its cohorts send nothing more (their members end "broadcast cancelled")."""
    import asyncio

    from orchestrator.host.broadcasts import cancel_from_cli
    from orchestrator.host.settings import CustomerSettings
    from orchestrator.routing.calls import TemporalUnavailable
    from orchestrator.store.broadcasts import UnknownBroadcast

    try:
        with environment_checked():
            printed = asyncio.run(cancel_from_cli(CustomerSettings.read(), data_dir, run_id))
    except UnknownBroadcast as exc:
        click.echo(str(exc), err=True)
        exit_after_temporal(EXIT_INVALID)
        return
    except (TemporalUnavailable, RuntimeError) as exc:  # RuntimeError: the client could not connect
        click.echo(f"not fully cancelled: {exc}; the run is noted cancelled, run the command again to reach its cohorts", err=True)
        exit_after_temporal(EXIT_INVALID)
        return
    click.echo(printed, nl=False)
    exit_after_temporal(0)
