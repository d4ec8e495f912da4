"""What the command-line modules share: exit codes, the settings check, compiling a journey file, the store's folder option,
the exit after Temporal."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from orchestrator.compiler import CompileResult, compile_file, format_diagnostics

EXIT_INVALID = 1
EXIT_USAGE = 2


@contextlib.contextmanager
def environment_checked() -> Iterator[None]:
    """A SettingsError (a variable read at start, or a database the store does not support) ends the command: every problem,
    exit 2. So does StartRefused (what the process depends on is missing or misconfigured: orchestrator/host/preflight.py)."""
    from orchestrator.host.preflight import StartRefused
    from orchestrator.host.settings import SettingsError

    try:
        yield
    except (SettingsError, StartRefused) as exc:
        error = click.ClickException(str(exc))
        error.exit_code = EXIT_USAGE  # a wrong use of the command, as a bad option is
        raise error from None


def exit_after_temporal(code: int) -> None:
    """Exit without interpreter teardown, during which the Temporal SDK's native threads can abort
    the process (temporalio/sdk-python#300). Only in a real process: under click's CliRunner it
    is an ordinary exit."""
    if sys.stdout is not sys.__stdout__:
        sys.exit(code)
    import os

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


data_dir_option = click.option(
    "--data-dir", default=".journey", show_default=True, type=click.Path(path_type=Path), help="The store without DATABASE_URL."
)


def compiled_or_exit(file: Path) -> CompileResult:
    """FILE compiled; its diagnostics (file, line, column) go to stderr, and a file with errors exits 1."""
    if not file.is_file():
        raise click.UsageError(f"{file}: no such file")
    result = compile_file(file)
    if result.diagnostics:
        click.echo(format_diagnostics(list(result.diagnostics), "text"), err=True)
    if result.journey is None:
        sys.exit(EXIT_INVALID)
    return result
