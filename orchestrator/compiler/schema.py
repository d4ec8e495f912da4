"""JSON Schema validation of a loaded journey, with errors a marketer can act on.

jsonschema reports what failed in schema terms ("is not valid under any of the
given schemas"); this module turns each error into one finding at the right
node with a plain message. Subschemas tagged `x-rule` in the schema name the
rule id their failures report, so `channel: fax` is `unknown-channel`, not a
generic schema error.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema_rs

from orchestrator.compiler.steps import STEP_KINDS
from orchestrator.language.timeparse import parse_duration, parse_time_of_day

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

TRIGGER_KINDS = ("event", "segment", "schedule")


@dataclass(frozen=True)
class SchemaFinding:
    path: tuple[str | int, ...]
    on_key: bool
    rule: str
    message: str


def schema_path() -> Path:
    """The journey schema: packaged with the wheel, or at the repository root in a checkout."""
    packaged = resources.files("orchestrator").joinpath("_schemas/journey.schema.json")
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "schemas" / "journey.schema.json"


@cache
def journey_schema() -> dict[str, Any]:
    return json.loads(schema_path().read_text(encoding="utf-8"))


@cache
def _validator() -> Draft202012Validator:
    # Imported here: only invalid documents need python-jsonschema, and it is slow to import.
    from jsonschema import Draft202012Validator

    return Draft202012Validator(journey_schema())


@cache
def _fast_validator() -> Any:
    return jsonschema_rs.Draft202012Validator(journey_schema())


def validate_schema(document: Any) -> list[SchemaFinding]:
    """Every schema violation in `document`, explained.

    jsonschema-rs (compiled) decides whether the document is valid, which is
    the common case in CI; only an invalid document pays for python-jsonschema,
    whose structured errors the explanations are built from. Both implement
    draft 2020-12, and the property tests check that they agree.
    """
    fast = _fast_validator()
    if fast.is_valid(document):
        return []
    findings = [finding for error in _validator().iter_errors(document) for finding in _explain(error)]
    if not findings:
        # The validators disagree at an edge (python's `$` also matches before a final
        # newline); the stricter verdict stands, in jsonschema-rs's own words.
        findings = [SchemaFinding(tuple(e.instance_path), False, "schema", e.message) for e in fast.iter_errors(document)]
    return findings


def _explain(error: ValidationError) -> Iterator[SchemaFinding]:
    path = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    # An `x-rule` names what a subschema checks (a pattern, an enum, a choice of
    # forms); unknown and missing keys inside it are still plain schema errors.
    rule = "schema" if error.validator in ("additionalProperties", "required") else schema.get("x-rule", "schema")
    instance = error.instance

    if error.validator == "oneOf" and rule == "step-kind" and isinstance(instance, dict):
        kinds = [k for k in STEP_KINDS if k in instance]
        name = instance.get("id", "?")
        if kinds:
            message = f"step '{name}' has several kinds ({', '.join(kinds)}); a step does one thing, so split it"
        else:
            message = f"step '{name}' does nothing: add exactly one of {', '.join(STEP_KINDS)}"
        yield SchemaFinding(path, False, "step-kind", message)
        return
    if error.validator == "oneOf" and rule == "trigger-kind" and isinstance(instance, dict):
        kinds = [k for k in TRIGGER_KINDS if k in instance]
        if len(kinds) > 1:
            message = f"a trigger has exactly one kind, found {', '.join(kinds)}"
        elif not kinds:
            message = f"add one of {', '.join(TRIGGER_KINDS)}"
        else:
            message = "`where` goes only with an `event` trigger; put profile conditions in entry.audience"
        yield SchemaFinding(path, False, "trigger-kind", message)
        return
    if error.validator == "oneOf" and rule == "schedule-kind":
        message = "a schedule needs exactly one of `cron` (repeating) or `at` (once)"
        yield SchemaFinding(path, False, "schedule-kind", message)
        return
    if error.validator == "oneOf" and rule == "branch-item":
        message = "each branch item is {when: <expression>, next: <step>}, and the last one is {else: <step>}"
        yield SchemaFinding(path, False, "branch-item", message)
        return
    if error.validator == "oneOf" and rule == "re-entry":
        message = f"{instance!r} is not a re-entry rule; use never, always or {{after: <duration>}}"
        yield SchemaFinding(path, False, "re-entry", message)
        return
    if error.validator in ("oneOf", "anyOf") and error.context:
        for sub in _closest_branch(error):
            yield from _explain(sub)
        return

    if error.validator == "additionalProperties" and isinstance(instance, dict):
        allowed = list(schema.get("properties", {}))
        known = set(allowed)
        for key in instance:
            if key in known:
                continue
            hint = difflib.get_close_matches(str(key), allowed, n=1)
            suggestion = f"; did you mean '{hint[0]}'?" if hint else f"; allowed keys: {', '.join(allowed)}"
            yield SchemaFinding((*path, key), True, rule, f"unknown key '{key}'{suggestion}")
        return
    if error.validator == "required":
        yield SchemaFinding(path, False, rule, error.message.replace("is a required property", "is required"))
        return
    if rule == "invalid-duration" and isinstance(instance, str):
        yield SchemaFinding(path, False, rule, _reason(parse_duration, instance, signed="offset" in path))
        return
    if rule == "invalid-time-of-day" and isinstance(instance, str):
        yield SchemaFinding(path, False, rule, _reason(parse_time_of_day, instance))
        return
    if rule == "invalid-id" and isinstance(instance, str):
        message = f"'{instance}' is not a valid id; use snake_case: lowercase letters, digits and _, starting with a letter"
        yield SchemaFinding(path, False, rule, message)
        return
    if rule == "unknown-channel":
        hint = difflib.get_close_matches(str(instance), ["email", "sms", "push"], n=1)
        suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
        yield SchemaFinding(path, False, rule, f"unknown channel {instance!r}: use email, sms or push{suggestion}")
        return
    if rule == "unknown-metric-kind":
        kinds = [str(k) for k in error.validator_value] if error.validator == "enum" else []
        hint = difflib.get_close_matches(str(instance), kinds, n=1)
        suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
        message = f"unknown metric kind {instance!r}: use nps (0-10), csat (1-5), ces (1-7), mean or sum{suggestion}"
        yield SchemaFinding(path, False, rule, message)
        return
    if rule == "too-many-metrics" and isinstance(instance, list):
        message = f"{len(instance)} metrics, more than the {error.validator_value} a journey may declare; keep those its reports need"
        yield SchemaFinding(path, False, rule, message)
        return
    if rule == "split-weight":
        yield SchemaFinding(path, False, rule, f"weight {instance!r} must be a number greater than 0")
        return
    if error.validator == "type":
        yield SchemaFinding(path, False, rule, f"expected {_type_name(error.validator_value)}, got {_describe(instance)}")
        return
    if error.validator == "enum":
        choices = ", ".join(str(c) for c in error.validator_value)
        yield SchemaFinding(path, False, rule, f"{instance!r} is not one of: {choices}")
        return
    if error.validator == "const" and path and path[-1] == "exit":
        yield SchemaFinding(path, False, rule, "write `exit: true` or `exit: {reason: ...}`")
        return
    yield SchemaFinding(path, False, rule, error.message)


def _closest_branch(error: ValidationError) -> list[ValidationError]:
    """The failures of the alternative the author most likely meant.

    Alternatives of the wrong type are out (for `wait: 1y`, the mapping forms);
    then the one whose keys fit (no missing or unknown key at its top) wins, so
    `wait: {until: "25:00"}` is about the time, not a missing `until_date`.
    """
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context or ():
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)

    def top_level(errors: list[ValidationError], validators: tuple[str, ...]) -> bool:
        return any(e.validator in validators and not e.relative_path for e in errors)

    candidates = [errors for errors in branches.values() if not top_level(errors, ("type", "const", "enum"))]
    if not candidates:
        from jsonschema.exceptions import best_match

        return [best_match(list(error.context or ()))]
    candidates.sort(key=lambda errors: (top_level(errors, ("required", "additionalProperties")), len(errors)))
    return candidates[0]


def _reason(parse: Any, text: str, **kwargs: Any) -> str:
    try:
        parse(text, **kwargs)
    except ValueError as exc:
        return str(exc)
    return f"'{text}' is not valid here"


_TYPE_NAMES = {
    "object": "a mapping (key: value)",
    "array": "a list",
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "null": "nothing",
}


def _type_name(expected: Any) -> str:
    if isinstance(expected, list):
        return " or ".join(_TYPE_NAMES.get(t, t) for t in expected)
    return _TYPE_NAMES.get(expected, str(expected))


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return f"the number {value}"
    return f"the text {value!r}"
