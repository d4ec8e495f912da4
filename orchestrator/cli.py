"""The `journey` command line.

Exit codes: 0 success, 1 the journeys have errors, 2 the command was used wrongly
(missing path, bad option). Diagnostics go to stdout so CI can capture them;
summaries and hints go to stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

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


@main.command()
@click.argument("journey_file", type=click.Path(path_type=Path))
@click.option("--customer", "customer_file", required=True, type=click.Path(path_type=Path), help="JSON profile: id plus traits.")
@click.option("--events", "events_file", type=click.Path(path_type=Path), help="YAML list of {at, event, properties}.")
@click.option("--start", default=None, help="Start instant, ISO 8601 with offset. Default: now.")
@click.option("--until", "until", default="90d", show_default=True, help="How long after the last event to keep running.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def simulate(journey_file: Path, customer_file: Path, events_file: Path | None, start: str | None, until: str, fmt: str) -> None:
    """Run JOURNEY_FILE for one customer on the time-skipping server and print the timeline."""
    import asyncio
    import json
    from datetime import UTC, datetime, timedelta

    from orchestrator.journey_tests import offset_seconds, parse_instant, scripted_events
    from orchestrator.simulation import Simulator

    result = _compiled_or_exit(journey_file)
    assert result.journey is not None
    try:
        customer = json.loads(customer_file.read_text(encoding="utf-8"))
        events = scripted_events(_load_events(events_file)) if events_file else []
        begin = parse_instant(start) if start else datetime.now(UTC).replace(microsecond=0)
        horizon = timedelta(seconds=offset_seconds(until))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise click.UsageError(str(exc)) from exc
    if not isinstance(customer, dict):
        raise click.UsageError(f'{customer_file}: the customer is a JSON object such as {{"id": "c1", "email": ...}}')

    async def run() -> Any:
        async with Simulator.start() as simulator:
            return await simulator.run(result.journey, customer, events, begin, horizon)

    timeline = asyncio.run(run())
    click.echo(json.dumps(timeline.to_dict(), indent=2) if fmt == "json" else timeline.text())


def _load_events(path: Path) -> list[dict[str, Any]]:
    from orchestrator.compiler.yaml_loader import YamlSyntaxError, load_yaml

    try:
        items, _ = load_yaml(path.read_text(encoding="utf-8"))
    except YamlSyntaxError as exc:
        raise ValueError(f"{path}:{exc.problem.loc.line}:{exc.problem.loc.column}: {exc.problem.message}") from exc
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(i, dict) and "event" in i and "at" in i for i in items):
        raise ValueError(f"{path}: events are a list of {{at: <offset>, event: <name>, properties: {{...}}}}")
    return items


@main.command(name="test")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def test_command(paths: tuple[Path, ...]) -> None:
    """Run journey test cases (default: journeys/tests/) and report failures with a diff."""
    import asyncio

    from orchestrator.journey_tests import TestFileError, run_test_file, test_files
    from orchestrator.simulation import Simulator

    files = test_files(list(paths) or [Path("journeys")])
    missing = [p for p in files if not p.exists()]
    if missing or not files:
        raise click.UsageError(f"no test files: {', '.join(map(str, missing or paths or ('journeys/tests',)))}")

    async def run() -> tuple[int, int]:
        passed = failed = 0
        async with Simulator.start() as simulator:
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
                    for line in case.failures:
                        click.echo(f"  - {line}")
                    if case.timeline is not None:
                        click.echo("  what happened:")
                        click.echo("\n".join(f"    {line}" for line in case.timeline.text().splitlines()))
        return passed, failed

    passed, failed = asyncio.run(run())
    click.echo(f"{passed} passed, {failed} failed")
    sys.exit(EXIT_INVALID if failed else 0)
