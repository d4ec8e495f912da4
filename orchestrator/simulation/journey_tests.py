"""`journey test`: run test-case files through the simulator and compare with what they expect.

A test file (journeys/tests/*.yaml, schema in schemas/journey-test.schema.json)
names a journey and lists cases: a customer, timed events and the expected
messages, skipped sends, webhooks, steps and outcome. Only the fields a case lists are
compared, so a case says exactly what it cares about. An event named
`identify` updates the profile (its properties are traits) instead of being
tracked, as an identify call from a sign-up form would; a customer with an
`anonymous_id` is an anonymous visitor, whom an identify with a `user_id` logs
in (script.py; the rules in script_checks.py).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from orchestrator.compiler import Diagnostic, Severity, compile_file, format_diagnostics
from orchestrator.compiler.schema import schema_path
from orchestrator.compiler.yaml_loader import YamlSyntaxError, load_yaml, locate
from orchestrator.language.timeparse import parse_duration
from orchestrator.simulation.script_checks import ScriptProblem, script_problems
from orchestrator.simulation.simulator import DEFAULT_HORIZON, ScriptedEvent, Simulator
from orchestrator.simulation.timeline import Timeline, one_line
from orchestrator.store import ProfileFieldError

DEFAULT_START = "2026-01-05T09:00:00Z"
"""When a case starts if neither it nor its file says (a Monday)."""


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
    """The events of an events file or a case, checked by script_checks.py first."""
    return [
        ScriptedEvent(offset_seconds(item["at"]), item["event"], dict(item.get("properties") or {}), item.get("user_id")) for item in items
    ]


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
    schema_errors: set[tuple[str | int, ...]] = set()
    for error in _test_validator().iter_errors(document):
        where = tuple(error.absolute_path)
        schema_errors.add(where)
        loc = locate(document, where)
        line, column = (loc.line, loc.column) if loc else (1, 1)
        field_name = ".".join(str(p) for p in where) or "file"
        found.append(Diagnostic(file, line, column, Severity.ERROR, "test-schema", f"{field_name}: {error.message}"))
    for where, message in _identity_problems(document):
        if where not in schema_errors:  # a value of the wrong type is the schema's to say
            found.append(_located(file, document, where, "test-identity", message))
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
        found.append(_located(file, document, at, "test-value", str(exc)))


def _located(file: str, document: Any, at: tuple[str | int, ...], rule: str, message: str) -> Diagnostic:
    loc = locate(document, at)
    line, column = (loc.line, loc.column) if loc else (1, 1)
    return Diagnostic(file, line, column, Severity.ERROR, rule, f"{'.'.join(map(str, at))}: {message}")


def _identity_problems(document: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """script_checks.py's problems of each case (its customer merged over the file's), located in the file, each once
    (a problem of the file's customer would otherwise be said for every case)."""
    found: dict[tuple[str | int, ...], str] = {}
    shared = document.get("customer") if isinstance(document.get("customer"), dict) else {}
    for n, case in enumerate(document.get("cases") or []):
        if not isinstance(case, dict):
            continue
        own = case.get("customer") if isinstance(case.get("customer"), dict) else {}
        events = case.get("events") if isinstance(case.get("events"), list) else []
        for problem in script_problems({**shared, **own}, events):
            found.setdefault(_where_in_file(problem, n, own), problem.message)
    return list(found.items())


def _where_in_file(problem: ScriptProblem, case: int, own: dict[str, Any]) -> tuple[str | int, ...]:
    """Where a problem of case `case` is in the test file: in its events, its own customer, or the file's customer."""
    if problem.where[0] == "events":
        return ("cases", case, *problem.where)
    key = problem.where[1]
    return ("cases", case, "customer", key) if key in own else ("customer", key)


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
        # A case's customer is merged over the file's: list only what differs (null removes a trait).
        customer = {**(document.get("customer") or {}), **(case.get("customer") or {})}
        start = parse_instant(case.get("start") or document.get("start") or DEFAULT_START)
        horizon = timedelta(seconds=offset_seconds(case["until"])) if "until" in case else DEFAULT_HORIZON
        try:
            timeline = await simulator.run(compiled.journey, customer, scripted_events(case.get("events") or []), start, horizon)
        except ProfileFieldError as exc:
            results.append(CaseResult(str(path), case["name"], [f"the profile refuses a trait: {exc}"]))
            continue
        results.append(CaseResult(str(path), case["name"], compare(case["expect"], timeline), timeline))
    return results


MESSAGE_FIELDS = ("at", "step", "channel", "to", "subject", "body")
WEBHOOK_FIELDS = ("at", "step", "method", "url", "body")
SKIPPED_FIELDS = ("at", "step", "channel", "reason")


def compare(expect: dict[str, Any], timeline: Timeline) -> list[str]:
    """Every difference between what a case expects and what happened; lists as a diff (- expected, + actual)."""
    failures: list[str] = []
    if "messages" in expect:
        failures += _compare_items("messages", expect["messages"], timeline.messages, MESSAGE_FIELDS)
    if "skipped" in expect:
        failures += _compare_items("skipped", expect["skipped"], timeline.skipped, SKIPPED_FIELDS)
    if "webhooks" in expect:
        failures += _compare_items("webhooks", expect["webhooks"], timeline.webhooks, WEBHOOK_FIELDS)
    if "steps" in expect:
        visited = [s["step"] for s in timeline.steps]
        if visited != expect["steps"]:
            failures.append(_diff("steps", expect["steps"], visited))
    for key, value in (expect.get("outcome") or {}).items():
        if timeline.outcome.get(key) != value:
            failures.append(f"outcome.{key}: expected {value!r}, got {timeline.outcome.get(key)!r}")
    return failures


def _compare_items(what: str, wanted: list[dict[str, Any]], got: list[dict[str, Any]], fields: tuple[str, ...]) -> list[str]:
    """Each item as one line of the fields the expectation lists; a difference shows as a diff of those lines."""
    expected_lines = [_expected_line(item, fields) for item in wanted]
    actual_lines = [_actual_line(item, wanted[n] if n < len(wanted) else None, fields) for n, item in enumerate(got)]
    return [] if expected_lines == actual_lines else [_diff(what, expected_lines, actual_lines)]


def _ordered_keys(item: dict[str, Any], fields: tuple[str, ...]) -> list[str]:
    return sorted(item, key=lambda k: fields.index(k.removesuffix("_contains")) if k.removesuffix("_contains") in fields else len(fields))


def _expected_line(item: dict[str, Any], fields: tuple[str, ...]) -> str:
    parts = []
    for key in _ordered_keys(item, fields):
        base = key.removesuffix("_contains")
        parts.append(f"{base} contains {item[key]!r}" if key.endswith("_contains") else f"{key}={item[key]!r}")
    return " ".join(parts)


def _actual_line(item: dict[str, Any], expected: dict[str, Any] | None, fields: tuple[str, ...]) -> str:
    """`item` described with the keys `expected` lists (an unexpected extra item: when, where, what)."""
    keys = _ordered_keys(expected, fields) if expected else [k for k in ("at", "step", "channel", "method", "url") if k in item]
    parts = []
    for key in keys:
        base = key.removesuffix("_contains")
        actual = item.get(base)
        if key.endswith("_contains"):
            wanted = expected[key] if expected else ""
            parts.append(f"{base} contains {wanted!r}" if wanted in (actual or "") else f"{base}={one_line(str(actual), 100)!r}")
        else:
            parts.append(f"{key}={actual!r}")
    return " ".join(parts)


def _diff(what: str, expected: list[str], actual: list[str]) -> str:
    lines = list(difflib.unified_diff(expected, actual, lineterm="", n=max(len(expected), len(actual))))[3:]
    return "\n".join([f"{what} differ (- expected, + actual):", *lines])
