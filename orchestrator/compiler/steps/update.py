"""`update`: write profile traits (literal `set` values, `compute` expressions) and remove `unset` ones."""

from __future__ import annotations

from typing import Any

from orchestrator import ir
from orchestrator.compiler import values
from orchestrator.compiler.drawing import Node, arrow_to_next, short
from orchestrator.compiler.source import JourneySource, Path_, mapping
from orchestrator.compiler.steps.kind import StepKind


def check(source: JourneySource, at: Path_, body: Any) -> None:
    if not isinstance(body, dict):
        return
    for key, value in mapping(body.get("compute")).items():
        values.expression(source, (*at, "compute", key), value)


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
