"""The values a journey writes (expressions, templates, durations, times of day, zones): checked where they are
written, and converted for the IR.

The checks read leniently: a value of the wrong type was already reported by the
schema, so they look only at text and stay silent otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from orchestrator.compiler.source import JourneySource, Path_
from orchestrator.language.templating import JOURNEY_FIELDS, SCOPE, TemplateProblem, check_expression, check_template
from orchestrator.language.timeparse import is_timezone, parse_duration, parse_time_of_day

# --- checks -----------------------------------------------------------------


def expression(
    source: JourneySource, at: Path_, value: Any, *, scope: tuple[str, ...] = SCOPE, journey_fields: tuple[str, ...] = JOURNEY_FIELDS
) -> None:
    """`scope` and `journey_fields`: the names, and what `journey` holds, where the expression is read
    (templating.ENTRY_SCOPE and ENTRY_JOURNEY_FIELDS before any step)."""
    if isinstance(value, str):
        check = partial(check_expression, scope=scope, journey_fields=journey_fields)
        _report_text_problems(source, at, check(value), check)


def template(source: JourneySource, at: Path_, value: Any, scope: tuple[str, ...]) -> None:
    if isinstance(value, str):
        _report_text_problems(source, at, check_template(value, scope), lambda raw: check_template(raw, scope))


def _report_text_problems(
    source: JourneySource,
    at: Path_,
    problems: tuple[TemplateProblem, ...],
    recheck: Callable[[str], tuple[TemplateProblem, ...]],
) -> None:
    if problems:
        unfolded = source.folded_block_lines(at)
        if unfolded is not None:
            problems = recheck(unfolded) or problems
    for problem in problems:
        source.report(at, problem.rule, problem.message, inner_line=problem.lineno)


def duration(source: JourneySource, at: Path_, value: Any, *, signed: bool = False) -> None:
    if isinstance(value, str):
        try:
            parse_duration(value, signed=signed)
        except ValueError as exc:
            source.report(at, "invalid-duration", str(exc))


def time_of_day(source: JourneySource, at: Path_, value: Any) -> Any:
    if isinstance(value, str):
        try:
            return parse_time_of_day(value)
        except ValueError as exc:
            source.report(at, "invalid-time-of-day", str(exc))
    return None


def timezone(source: JourneySource, at: Path_, zone: str | None) -> None:
    if zone is not None and not is_timezone(zone):
        source.report(at, "invalid-timezone", f"'{zone}' is not an IANA time zone; write e.g. Europe/Paris or America/New_York")


# --- conversions for the IR (of values the checks accepted) ---------------------------------


def seconds(value: str | None, *, signed: bool = False) -> int | None:
    return None if value is None else parse_duration(value, signed=signed)


def hhmm(value: str) -> str:
    hours, minutes = value.strip().split(":")
    return f"{int(hours):02d}:{minutes}"


def plain(value: Any) -> Any:
    """Drop the location-tracking containers so the IR holds only plain JSON values."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
