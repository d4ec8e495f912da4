"""`split`: a weighted random path per customer (A/B/n tests), with an optional holdout that leaves the journey."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from orchestrator import ir
from orchestrator.compiler.drawing import Arrow, Node
from orchestrator.compiler.source import JourneySource, Path_, mapping, text
from orchestrator.compiler.steps.kind import Edge, StepKind


def check(source: JourneySource, at: Path_, body: Any) -> None:
    if not isinstance(body, dict):
        return
    names: set[str] = set()
    for n, path in enumerate(body.get("paths") or []):
        name = text(mapping(path).get("name"))
        if name is not None and name in names:
            source.report(
                (*at, "paths", n, "name"),
                "duplicate-split-path",
                f"split path '{name}' is named twice; reports need distinct names",
            )
        names.add(name or "")


def edges(step_id: str, at: Path_, body: Any) -> Iterator[Edge]:
    paths = mapping(body).get("paths")
    if not isinstance(paths, list):
        return
    for n, path in enumerate(paths):
        target = text(mapping(path).get("next"))
        if target is not None:
            yield Edge(step_id, target, (*at, "paths", n, "next"))


def lower(source: JourneySource, step_id: str, body: Any, onward: str) -> ir.SplitStep:
    paths = tuple(ir.SplitPath(p["name"], p["weight"], p["next"]) for p in body["paths"])
    return ir.SplitStep(step_id, paths, body.get("holdout", 0))


def draw(step: ir.SplitStep) -> Node:
    return Node(step.id, f"🎲 {step.id}\nsplit", "diamond")


def arrows(step: ir.SplitStep) -> Iterator[Arrow]:
    total = sum(p.weight for p in step.paths) + step.holdout_weight
    for path in step.paths:
        yield Arrow(step.id, path.next, f"{path.name} {path.weight / total:.0%}")
    if step.holdout_weight:
        yield Arrow(step.id, ir.END, f"holdout {step.holdout_weight / total:.0%}", dashed=True)


SPLIT = StepKind(
    name="split",
    lowers_to=(ir.SplitStep,),
    goes_on=False,
    why_no_next="chooses where to go in its own `split` items",
    check=check,
    edges=edges,
    lower=lower,
    draw=draw,
    arrows=arrows,
)
