"""`branch`: go to the `next` of the first item whose `when` holds, else to the final `else`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from orchestrator import ir
from orchestrator.compiler import values
from orchestrator.compiler.drawing import Arrow, Node, short
from orchestrator.compiler.source import JourneySource, Path_, mapping, text
from orchestrator.compiler.steps.kind import Edge, StepKind


def check(source: JourneySource, at: Path_, items: Any) -> None:
    if not isinstance(items, list):
        return
    else_at = [n for n, item in enumerate(items) if "else" in mapping(item)]
    for n, item in enumerate(items):
        values.expression(source, (*at, n, "when"), mapping(item).get("when"))
    if not else_at:
        source.report(at, "branch-without-else", "a branch needs a final `- else: <step>` for customers who match no condition")
    for n in else_at:
        if n != len(items) - 1:
            source.report((*at, n), "else-not-last", "`else` must be the last item: conditions after it can never match")


def edges(step_id: str, at: Path_, items: Any) -> Iterator[Edge]:
    if not isinstance(items, list):
        return
    for n, item in enumerate(items):
        item = mapping(item)
        for key in ("next", "else"):
            target = text(item.get(key))
            if target is not None:
                yield Edge(step_id, target, (*at, n, key))


def lower(source: JourneySource, step_id: str, items: Any, onward: str) -> ir.BranchStep:
    cases = tuple(ir.BranchCase(item["when"], item["next"]) for item in items if "when" in item)
    return ir.BranchStep(step_id, cases, items[-1]["else"])


def draw(step: ir.BranchStep) -> Node:
    return Node(step.id, f"🔀 {step.id}", "diamond")


def arrows(step: ir.BranchStep) -> Iterator[Arrow]:
    for case in step.cases:
        yield Arrow(step.id, case.next, short(case.when))
    yield Arrow(step.id, step.else_next, "else")


BRANCH = StepKind(
    name="branch",
    lowers_to=(ir.BranchStep,),
    goes_on=False,
    why_no_next="chooses where to go in its own `branch` items",
    check=check,
    edges=edges,
    lower=lower,
    draw=draw,
    arrows=arrows,
)
