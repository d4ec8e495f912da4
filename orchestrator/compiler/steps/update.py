"""`update`: write profile traits (literal `set` values, `compute` expressions) and remove `unset` ones."""

from __future__ import annotations

from typing import Any

from orchestrator import ir
from orchestrator.compiler import values
from orchestrator.compiler.drawing import Node, arrow_to_next, short
from orchestrator.compiler.source import JourneySource, Path_, mapping
from orchestrator.compiler.steps.kind import StepKind
from orchestrator.language import traits


def check(source: JourneySource, at: Path_, body: Any) -> None:
    if not isinstance(body, dict):
        return
    written = mapping(body.get("set"))
    for key, value in written.items():
        if not _protected(source, (*at, "set", key), key):
            _check_literal(source, (*at, "set", key), key, value, written.get("country"))
    for key, value in mapping(body.get("compute")).items():
        if not _protected(source, (*at, "compute", key), key):
            values.expression(source, (*at, "compute", key), value)
    unset = body.get("unset")
    for n, key in enumerate(unset if isinstance(unset, list) else ()):
        if isinstance(key, str):
            _protected(source, (*at, "unset", n), key)


def _protected(source: JourneySource, at: Path_, key: str) -> bool:
    why = traits.why_journeys_cannot_write(key)
    if why is not None:
        source.report(at, "protected-trait", f"a journey cannot write `{key}`: {why}; remove it from this update", on_key=at[-2] != "unset")
    return why is not None


def _check_literal(source: JourneySource, at: Path_, key: str, value: Any, country: Any) -> None:
    """A reserved trait's literal value, checked as identify checks it; null removes the trait and is always fine."""
    if value is None or key not in traits.FIELD_VALIDATORS:
        return
    if key == "phone" and isinstance(value, str) and not value.strip().startswith("+") and country is None:
        return  # read in the customer's stored `country`, known only at run time
    validate = (lambda v: traits.phone(v, country)) if key == "phone" else traits.FIELD_VALIDATORS[key]
    try:
        validate(value)
    except traits.ProfileFieldError as exc:
        source.report(at, "invalid-trait-value", f"{exc.message}; at run time it would be dropped for every customer")


def lower(source: JourneySource, step_id: str, body: Any, onward: str) -> ir.UpdateStep:
    return ir.UpdateStep(
        step_id,
        onward,
        set=values.plain(body["set"]) if "set" in body else None,
        compute=values.plain(body["compute"]) if "compute" in body else None,
        unset=tuple(body.get("unset", ())),
    )


def draw(step: ir.UpdateStep) -> Node:
    keys = [*(step.set or {}), *(step.compute or {}), *(f"-{k}" for k in step.unset)]
    return Node(step.id, f"✎ {step.id}\nupdate {short(', '.join(keys))}", "box")


UPDATE = StepKind(
    name="update",
    lowers_to=(ir.UpdateStep,),
    goes_on=True,
    check=check,
    lower=lower,
    draw=draw,
    arrows=arrow_to_next,
)
