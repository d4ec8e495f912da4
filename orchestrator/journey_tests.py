"""`journey test`: run test-case files through the simulator and compare with what they expect.

A test file (journeys/tests/*.yaml, schema in schemas/journey-test.schema.json)
names a journey and lists cases: a customer, timed events and the expected
messages, steps and outcome. Only the fields a case lists are compared, so a
case says exactly what it cares about.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from orchestrator.compiler import Diagnostic, Severity, compile_file, format_diagnostics
from orchestrator.compiler.schema import schema_path
from orchestrator.compiler.yaml_loader import YamlSyntaxError, load_yaml, locate
from orchestrator.simulation import DEFAULT_HORIZON, ScriptedEvent, Simulator, Timeline
from orchestrator.timeparse import parse_duration


class TestFileError(Exception):
    """A test file that cannot be run; carries located diagnostics."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__(format_diagnostics(diagnostics, "text"))
        self.diagnostics = diagnostics


@dataclass
class CaseResult:
    file: str
    name: str
    failures: list[str] = field(default_factory=list)
    timeline: Timeline | None = None

    @property
    def passed(self) -> bool:
        return not self.failures


def offset_seconds(value: Any) -> int:
    """`0`, a number of seconds, or a duration (`2h`, `PT30M`)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"{value} is negative; offsets count from the start")
        return value
    if isinstance(value, str) and value.strip() in ("0", "0s"):
        return 0
    if isinstance(value, str):
        return parse_duration(value)
    raise ValueError(f"{value!r} is not an offset; write 0 or a duration like 2h")


def scripted_events(items: list[dict[str, Any]]) -> list[ScriptedEvent]:
    return [ScriptedEvent(offset_seconds(item["at"]), item["event"], dict(item.get("properties") or {})) for item in items]


def parse_instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"'{text}' has no time zone; add Z or an offset such as +01:00")
    return moment


@cache
def _test_validator() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(json.loads((schema_path().parent / "journey-test.schema.json").read_text(encoding="utf-8")))


def load_test_file(path: Path) -> dict[str, Any]:
    """The test file as data, or TestFileError with every problem located."""
    file = str(path)
    try:
        document, problems = load_yaml(path.read_text(encoding="utf-8"))
    except YamlSyntaxError as exc:
        p = exc.problem
        raise TestFileError([Diagnostic(file, p.loc.line, p.loc.column, Severity.ERROR, p.rule, p.message)]) from exc
    found = [Diagnostic(file, p.loc.line, p.loc.column, Severity.ERROR, p.rule, p.message) for p in problems]
    if not isinstance(document, dict):
        raise TestFileError(
            [Diagnostic(file, 1, 1, Severity.ERROR, "not-a-mapping", "a test file is a mapping with `journey:` and `cases:`")]
        )
    for error in _test_validator().iter_errors(document):
        where = tuple(error.absolute_path)
        loc = locate(document, where)
        line, column = (loc.line, loc.column) if loc else (1, 1)
        field_name = ".".join(str(p) for p in where) or "file"
        found.append(Diagnostic(file, line, column, Severity.ERROR, "test-schema", f"{field_name}: {error.message}"))
    for n, case in enumerate(document.get("cases") or []):
        for key, check in (("start", parse_instant), ("until", offset_seconds)):
            if isinstance(case, dict) and key in case:
                _check_value(found, file, document, ("cases", n, key), case[key], check)
        for m, event in enumerate(case.get("events") or [] if isinstance(case, dict) else []):
            if isinstance(event, dict) and "at" in event:
                _check_value(found, file, document, ("cases", n, "events", m, "at"), event["at"], offset_seconds)
    if "start" in document:
        _check_value(found, file, document, ("start",), document["start"], parse_instant)
    if found:
        raise TestFileError(found)
    return document


def _check_value(found: list[Diagnostic], file: str, document: Any, at: tuple[str | int, ...], value: Any, check: Any) -> None:
    try:
        check(value)
    except (ValueError, TypeError, AttributeError) as exc:
        loc = locate(document, at)
        line, column = (loc.line, loc.column) if loc else (1, 1)
        found.append(Diagnostic(file, line, column, Severity.ERROR, "test-value", f"{'.'.join(map(str, at))}: {exc}"))


def test_files(paths: list[Path]) -> list[Path]:
    """Test files named directly, or every .yaml/.yml in a `tests` folder below a named folder."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            folders = [path] if path.name == "tests" else sorted(p for p in path.rglob("tests") if p.is_dir())
            for folder in folders:
                found.extend(sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml")))
        else:
            found.append(path)
    return found


async def run_test_file(simulator: Simulator, path: Path) -> list[CaseResult]:
    document = load_test_file(path)
    journey_path = (path.parent / document["journey"]).resolve()
    compiled = compile_file(journey_path)
    if compiled.journey is None:
        raise TestFileError(
            list(compiled.diagnostics) or [Diagnostic(str(path), 1, 1, Severity.ERROR, "test-journey", "journey does not compile")]
        )
    results: list[CaseResult] = []
    for case in document["cases"]:
        customer = dict(case.get("customer") or document.get("customer") or {})
        start = parse_instant(case.get("start") or document.get("start") or "2026-01-05T09:00:00Z")
        horizon = timedelta(seconds=offset_seconds(case["until"])) if "until" in case else DEFAULT_HORIZON
        timeline = await simulator.run(compiled.journey, customer, scripted_events(case.get("events") or []), start, horizon)
        results.append(CaseResult(str(path), case["name"], compare(case["expect"], timeline), timeline))
    return results


def compare(expect: dict[str, Any], timeline: Timeline) -> list[str]:
    """Every difference between what a case expects and what happened, as readable lines."""
    failures: list[str] = []
    if "messages" in expect:
        wanted, got = expect["messages"], timeline.messages
        if len(wanted) != len(got):
            failures.append(f"messages: expected {len(wanted)}, got {len(got)}: {_summary(got)}")
        for n, (want, have) in enumerate(zip(wanted, got, strict=False), start=1):
            for key, value in want.items():
                if key.endswith("_contains"):
                    actual = have.get(key.removesuffix("_contains")) or ""
                    if value not in actual:
                        failures.append(
                            f"message {n} ({have['step']}): {key.removesuffix('_contains')} does not contain {value!r}: {actual!r}"
                        )
                elif have.get(key) != value:
                    failures.append(f"message {n} ({have['step']}): {key} expected {value!r}, got {have.get(key)!r}")
    if "steps" in expect:
        visited = [s["step"] for s in timeline.steps]
        if visited != expect["steps"]:
            failures.append(f"steps: expected {' -> '.join(expect['steps'])}, got {' -> '.join(visited) or '(none)'}")
    for key, value in (expect.get("outcome") or {}).items():
        if timeline.outcome.get(key) != value:
            failures.append(f"outcome: {key} expected {value!r}, got {timeline.outcome.get(key)!r}")
    return failures


def _summary(messages: list[dict[str, Any]]) -> str:
    return ", ".join(f"{m['step']} ({m['channel']}) at {m['at']}" for m in messages) or "none"
