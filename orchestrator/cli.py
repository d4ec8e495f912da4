"""The `journey` command line.

Exit codes: 0 success, 1 the journeys have errors, 2 the command was used wrongly
(missing path, bad option). Diagnostics go to stdout so CI can capture them;
summaries and hints go to stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from orchestrator import __version__
from orchestrator.compiler import (
    CompileResult,
    Severity,
    UsageError,
    compile_file,
    compile_paths,
    format_diagnostics,
    has_errors,
)
from orchestrator.diagram import to_dot, to_mermaid

EXIT_INVALID = 1


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


def _compiled_or_exit(file: Path) -> CompileResult:
    if not file.is_file():
        raise click.UsageError(f"{file}: no such file")
    result = compile_file(file)
    if result.diagnostics:
        click.echo(format_diagnostics(list(result.diagnostics), "text"), err=True)
    if result.journey is None:
        sys.exit(EXIT_INVALID)
    return result


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
def compile(file: Path) -> None:
    """Print the compiled journey graph (IR) of FILE as JSON."""
    result = _compiled_or_exit(file)
    assert result.journey is not None
    click.echo(result.journey.to_json(indent=2))


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid", show_default=True)
def graph(file: Path, fmt: str) -> None:
    """Draw FILE as a Mermaid flowchart (paste it into a pull request) or Graphviz DOT."""
    result = _compiled_or_exit(file)
    assert result.journey is not None
    click.echo(to_mermaid(result.journey) if fmt == "mermaid" else to_dot(result.journey), nl=False)
