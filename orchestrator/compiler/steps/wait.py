"""`wait`: for a duration (`wait: 2d`), until a local time of day on some weekdays, or until a date from the profile."""

from __future__ import annotations

from typing import Any, assert_never

from orchestrator import ir
from orchestrator.compiler import values
from orchestrator.compiler.drawing import Node, arrow_to_next, short
from orchestrator.compiler.source import JourneySource, Path_, mapping
from orchestrator.compiler.steps.kind import StepKind
from orchestrator.language.clock import WEEKDAYS
from orchestrator.language.timeparse import format_duration, parse_duration

Wait = ir.WaitStep | ir.WaitUntilStep | ir.WaitUntilDateStep


def check(source: JourneySource, at: Path_, wait: Any) -> None:
    if isinstance(wait, str):
        values.duration(source, at, wait)
        return
    wait = mapping(wait)
    values.time_of_day(source, (*at, "until"), wait.get("until"))
    values.expression(source, (*at, "until_date"), wait.get("until_date"))
    values.duration(source, (*at, "offset"), wait.get("offset"), signed=True)
    values.time_of_day(source, (*at, "at"), wait.get("at"))


def lower(source: JourneySource, step_id: str, body: Any, onward: str) -> Wait:
    if isinstance(body, str):
        return ir.WaitStep(step_id, parse_duration(body), onward)
    if "until" in body:
        days = tuple(d for d in WEEKDAYS if d in body.get("days", ()))
        return ir.WaitUntilStep(step_id, values.hhmm(body["until"]), onward, days)
    return ir.WaitUntilDateStep(
        step_id,
        body["until_date"],
        onward,
        offset_seconds=values.seconds(body.get("offset"), signed=True) or 0,
        at=values.hhmm(body["at"]) if "at" in body else None,
        repeat=body.get("repeat"),
    )


def draw(step: Wait) -> Node:
    match step:
        case ir.WaitStep():
            return Node(step.id, f"⏱ {step.id}\nwait {format_duration(step.seconds)}", "round")
        case ir.WaitUntilStep():
            days = f" ({', '.join(step.days)})" if step.days else ""
            return Node(step.id, f"⏱ {step.id}\nwait until {step.until} local{days}", "round")
        case ir.WaitUntilDateStep():
            shift = f" {format_duration(step.offset_seconds)}" if step.offset_seconds else ""
            at = f" at {step.at}" if step.at else ""
            yearly = ", yearly" if step.repeat else ""
            return Node(step.id, f"📅 {step.id}\nuntil {short(step.until_date)}{shift}{at}{yearly}", "round")
        case _:
            assert_never(step)


WAIT = StepKind(
    name="wait",
    lowers_to=(ir.WaitStep, ir.WaitUntilStep, ir.WaitUntilDateStep),
    goes_on=True,
    check=check,
    lower=lower,
    draw=draw,
    arrows=arrow_to_next,
)
