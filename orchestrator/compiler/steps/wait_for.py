"""`wait_for`: wait for an event, on to `next` when it comes, to `timeout_next` (default: `next`) after `within`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from orchestrator import ir
from orchestrator.compiler import values
from orchestrator.compiler.diagnostics import Severity
from orchestrator.compiler.drawing import Arrow, Node
from orchestrator.compiler.source import JourneySource, Path_, mapping, text
from orchestrator.compiler.steps.kind import Edge, StepKind
from orchestrator.language.timeparse import format_duration


def check(source: JourneySource, at: Path_, body: Any) -> None:
    if not isinstance(body, dict):
        return
    values.expression(source, (*at, "where"), body.get("where"))
    values.duration(source, (*at, "within"), body.get("within"))
    if "timeout_next" in body and "within" not in body:
        source.report(
            (*at, "timeout_next"),
            "timeout-without-within",
            "timeout_next needs `within`: say how long to wait before taking it",
        )
    elif "within" not in body:
        source.report(
            at,
            "wait-forever",
            f"waits for '{body.get('event')}' forever if it never comes; add `within` and `timeout_next`",
            severity=Severity.WARNING,
        )


def edges(step_id: str, at: Path_, body: Any) -> Iterator[Edge]:
    timeout = text(mapping(body).get("timeout_next"))
    if timeout is not None:
        yield Edge(step_id, timeout, (*at, "timeout_next"))


def timeout_target(body: Any, onward: str) -> str | None:
    """Where the step goes when `within` passes without the event: `timeout_next`, else on as when it comes; None
    when it waits forever."""
    body = mapping(body)
    return text(body.get("timeout_next")) or (onward if "within" in body else None)


def lower(source: JourneySource, step_id: str, body: Any, onward: str) -> ir.WaitForStep:
    return ir.WaitForStep(
        step_id,
        body["event"],
        onward,
        where=body.get("where"),
        within_seconds=values.seconds(body.get("within")),
        timeout_next=timeout_target(body, onward),
        remembered=step_id in source.remembered,
    )


def draw(step: ir.WaitForStep) -> Node:
    within = f" within {format_duration(step.within_seconds)}" if step.within_seconds else ""
    return Node(step.id, f"👂 {step.id}\nwait for {step.event}{within}", "hexagon")


def arrows(step: ir.WaitForStep) -> Iterator[Arrow]:
    """The matched arrow names the event, and where the steps after read it (`events.<id>`), that too."""
    yield Arrow(step.id, step.next, f"{step.event}\nas events.{step.id}" if step.remembered else step.event)
    if step.timeout_next is not None and step.within_seconds is not None:
        yield Arrow(step.id, step.timeout_next, f"timeout {format_duration(step.within_seconds)}", dashed=True)


def listens(step: ir.WaitForStep) -> tuple[str, ...]:
    return (step.event,)


WAIT_FOR = StepKind(
    name="wait_for",
    lowers_to=(ir.WaitForStep,),
    goes_on=True,
    check=check,
    edges=edges,
    lower=lower,
    draw=draw,
    arrows=arrows,
    listens=listens,
    awaits_event=True,
)
