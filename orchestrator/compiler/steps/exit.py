"""`exit`: end the enrollment as `exited` (`exit: true`, or `exit: {reason: ...}` for reports)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from orchestrator import ir
from orchestrator.compiler.drawing import Arrow, Node, short
from orchestrator.compiler.source import JourneySource
from orchestrator.compiler.steps.kind import StepKind


def lower(source: JourneySource, step_id: str, body: Any, onward: str) -> ir.ExitStep:
    reason = body.get("reason") if isinstance(body, dict) else None
    return ir.ExitStep(step_id, reason)


def draw(step: ir.ExitStep) -> Node:
    return Node(step.id, f"⏹ {step.id}\nexit" + (f": {short(step.reason)}" if step.reason else ""), "stadium")


def arrows(step: ir.ExitStep) -> Iterator[Arrow]:
    yield from ()


EXIT = StepKind(
    name="exit",
    lowers_to=(ir.ExitStep,),
    goes_on=False,
    why_no_next="ends the enrollment",
    lower=lower,
    draw=draw,
    arrows=arrows,
)
